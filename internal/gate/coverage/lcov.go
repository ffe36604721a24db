package coverage

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// parseLCOV reads LCOV tracefiles (geninfo's format, also written by
// Istanbul, c8, coverage.py, grcov, gcov2lcov...): records from "SF:" to
// "end_of_record" with "DA:line,hits" lines. LF/LH, when every record has
// them, become the declared total.
func parseLCOV(name string, data []byte) (*Profile, error) {
	p := NewProfile(FormatLCOV)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var (
		cur        *File
		declared   Counts
		haveLF     = true
		records    int
		sawLF      bool
		lineNo     int
		recordLH   int64
		recordLF   int64
		recordHasH bool
		fnLine     map[string]int
	)
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		tag, val, _ := strings.Cut(line, ":")
		switch tag {
		case "SF":
			if cur != nil {
				return nil, &ParseError{File: name, Line: lineNo, Col: 1, Msg: "SF: inside a record that has no end_of_record"}
			}
			fn := strings.ReplaceAll(val, `\`, "/")
			cur = p.File(fn, dirOf(fn))
			records++
			sawLF, recordHasH = false, false
			fnLine = nil
		case "DA":
			if cur == nil {
				return nil, &ParseError{File: name, Line: lineNo, Col: 1, Msg: "DA: outside a record (no SF: before it)"}
			}
			parts := strings.Split(val, ",")
			if len(parts) < 2 {
				return nil, &ParseError{File: name, Line: lineNo, Col: 4, Msg: "want DA:line,hits"}
			}
			ln, err := strconv.Atoi(parts[0])
			if err != nil || ln < 0 {
				return nil, &ParseError{File: name, Line: lineNo, Col: 4, Msg: "bad line number " + strconv.Quote(parts[0])}
			}
			hits, err := strconv.ParseFloat(parts[1], 64)
			if err != nil {
				return nil, &ParseError{File: name, Line: lineNo, Col: 5 + len(parts[0]), Msg: "bad hit count " + strconv.Quote(parts[1])}
			}
			if ln <= 0 {
				continue
			}
			cur.Lines[ln] = satAdd(cur.Lines[ln], clampHits(hits))
		case "FN":
			if cur == nil {
				continue
			}
			ln, fn, ok := strings.Cut(val, ",")
			n, err := strconv.Atoi(ln)
			if !ok || err != nil || n <= 0 {
				continue
			}
			if fnLine == nil {
				fnLine = map[string]int{}
			}
			fnLine[fn] = n
			if cur.FuncLines == nil {
				cur.FuncLines = map[int]int64{}
			}
			if _, seen := cur.FuncLines[n]; !seen {
				cur.FuncLines[n] = 0
			}
		case "FNDA":
			if cur == nil {
				continue
			}
			cnt, fn, ok := strings.Cut(val, ",")
			hits, err := strconv.ParseFloat(cnt, 64)
			if !ok || err != nil {
				continue
			}
			if n, ok := fnLine[fn]; ok {
				cur.FuncLines[n] = satAdd(cur.FuncLines[n], clampHits(hits))
			}
		case "LF":
			if cur != nil {
				n, err := strconv.ParseInt(val, 10, 64)
				if err == nil {
					recordLF, sawLF = n, true
				}
			}
		case "LH":
			if cur != nil {
				n, err := strconv.ParseInt(val, 10, 64)
				if err == nil {
					recordLH, recordHasH = n, true
				}
			}
		case "end_of_record":
			if cur == nil {
				return nil, &ParseError{File: name, Line: lineNo, Col: 1, Msg: "end_of_record without SF:"}
			}
			if sawLF && recordHasH {
				declared = declared.Add(Counts{Covered: recordLH, Total: recordLF})
			} else {
				haveLF = false
			}
			cur = nil
		default:
			// TN, VER, FN, FNDA, FNF, FNH, BRDA, BRF, BRH, FNL, FNA: not used.
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{File: name, Line: lineNo + 1, Msg: err.Error()}
	}
	if cur != nil {
		// A last record without end_of_record: accept it, as lcov does.
		if sawLF && recordHasH {
			declared = declared.Add(Counts{Covered: recordLH, Total: recordLF})
		} else {
			haveLF = false
		}
	}
	if records > 0 && haveLF {
		p.Declared = &declared
	}
	return p, nil
}
