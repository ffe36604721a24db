package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net/url"
)

// The decode pass finds text that is base64-, percent- or hex-encoded,
// decodes it, and scans the line again with the decoded text in place, as
// gitleaks' --max-decode-depth does. A finding counts only when it overlaps
// the decoded text; it is reported at the encoded text's position.

// maxDecodeDepth bounds nested encodings (base64 of percent-encoded...).
const maxDecodeDepth = 2

// decodeContext is how much of the line around an encoded run is scanned
// with its decoded text.
const decodeContext = 256

// minEncoded is the shortest encoded run worth decoding.
const minEncoded = 16

type segment struct {
	start, end int // in the line
	decoded    []byte
	kind       string
}

func isB64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// printable reports whether b looks like text: mostly printable ASCII.
func printable(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	bad := 0
	for _, c := range b {
		if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c >= 0x7f {
			bad++
		}
	}
	return bad*20 <= len(b) // at most 5%
}

// findSegments returns the decodable runs in line.
func findSegments(line []byte) []segment {
	var out []segment
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == '%' && i+2 < len(line) && isHex(line[i+1]) && isHex(line[i+2]):
			// A percent-encoded stretch: extend over the surrounding token.
			s := i
			for s > 0 && line[s-1] != ' ' && line[s-1] != '"' && line[s-1] != '\'' && line[s-1] != '\t' {
				s--
			}
			e := i
			for e < len(line) && line[e] != ' ' && line[e] != '"' && line[e] != '\'' && line[e] != '\t' {
				e++
			}
			if dec, err := url.PathUnescape(string(line[s:e])); err == nil && dec != string(line[s:e]) {
				out = append(out, segment{s, e, []byte(dec), "percent"})
			}
			i = e
		case isB64(c):
			s := i
			hexOnly := true
			for i < len(line) && isB64(line[i]) {
				hexOnly = hexOnly && isHex(line[i])
				i++
			}
			e := i
			for e < len(line) && e-i < 2 && line[e] == '=' {
				e++
			}
			if e-s < minEncoded {
				continue
			}
			if hexOnly && (i-s)%2 == 0 && i-s >= 32 {
				if dec, err := hex.DecodeString(string(line[s:i])); err == nil && printable(dec) {
					out = append(out, segment{s, i, dec, "hex"})
					continue
				}
			}
			if dec, ok := decodeB64(line[s:e]); ok {
				out = append(out, segment{s, e, dec, "base64"})
			}
		default:
			i++
		}
	}
	return out
}

func decodeB64(b []byte) ([]byte, bool) {
	t := bytes.TrimRight(b, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if dec, err := enc.DecodeString(string(t)); err == nil && printable(dec) {
			return dec, true
		}
	}
	return nil, false
}

// decodePass scans the decoded form of every encoded run in fr's reported
// range and emits the findings that overlap the decoded text.
func (d *Detector) decodePass(st *scratch, fr *fragment, base Finding, emit func(Finding), depth int) {
	data := fr.data
	ls := fr.from
	if ls > 0 {
		ls = bytes.LastIndexByte(data[:ls], '\n') + 1
	}
	lineNo := fr.startLine + bytes.Count(data[:ls], []byte{'\n'})
	for ls < fr.to {
		le := len(data)
		if j := bytes.IndexByte(data[ls:], '\n'); j >= 0 {
			le = ls + j
		}
		line := data[ls:le]
		if len(line) >= minEncoded {
			for _, seg := range findSegments(line) {
				d.scanDecoded(st, fr, base, emit, line, seg, lineNo, depth)
			}
		}
		ls = le + 1
		lineNo++
	}
}

func (d *Detector) scanDecoded(st *scratch, fr *fragment, base Finding, emit func(Finding), line []byte, seg segment, lineNo, depth int) {
	// The decoded text with up to decodeContext bytes of the line on each
	// side (keys like "password=" sit there); bounded so a long line with
	// many encoded runs is not rescanned whole for each.
	cs := max(0, seg.start-decodeContext)
	ce := min(len(line), seg.end+decodeContext)
	text := make([]byte, 0, ce-cs-(seg.end-seg.start)+len(seg.decoded))
	text = append(text, line[cs:seg.start]...)
	text = append(text, seg.decoded...)
	text = append(text, line[seg.end:ce]...)
	decStart := seg.start - cs
	decEnd := decStart + len(seg.decoded)
	sub := fragment{data: text, path: fr.path, commit: fr.commit, startLine: 1, to: len(text)}
	// The next level's scratch: st's own buffers still hold the caller's
	// fragment state.
	if st.inner == nil {
		st.inner = d.newScratch()
	}
	inner := st.inner
	d.scanFragment(inner, &sub)
	var keep []candidate
	for _, c := range inner.cands {
		if c.start < decEnd && c.end > decStart {
			keep = append(keep, c)
		}
	}
	inner.cands = keep
	d.finish(inner, &sub, base, func(f Finding) {
		f.Line, f.Column, f.EndColumn = lineNo, seg.start+1, seg.end
		f.Tags = append(append([]string(nil), f.Tags...), "decoded:"+seg.kind)
		emit(f)
	})
	if depth+1 < maxDecodeDepth {
		d.decodePass(inner, &sub, base, func(f Finding) {
			f.Line, f.Column, f.EndColumn = lineNo, seg.start+1, seg.end
			emit(f)
		}, depth+1)
	}
}
