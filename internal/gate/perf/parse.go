package perf

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/shipgate/shipgate/internal/diag"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Formats are the input formats Parse reads. "auto" detects by content.
// The github-action-benchmark tool names are kept as that action spells them.
var Formats = []string{
	"auto", "go", "plain",
	"customSmallerIsBetter", "customBiggerIsBetter",
	"cargo", "benchmarkjs", "benchmarkluau", "catch2", "pytest", "googlecpp",
	"jmh", "julia", "benchmarkdotnet", "cargo-criterion", "gab-history",
}

// HistoryWindow is how many of the most recent commits of a
// github-action-benchmark history (data.js) make the baseline sample.
const HistoryWindow = 10

// Result is one measurement as a github-action-benchmark tool extractor
// yields it: the shape the action stores, before units are normalised.
type Result struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Range string  `json:"range,omitempty"`
	// Line is the 1-based line of the input the value came from (0 for JSON
	// values whose line is not known).
	Line int `json:"-"`
}

// ParseError is bad input, positioned where possible.
type ParseError struct {
	Pos diag.Pos
	Msg string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s: %s", e.Pos, e.Msg) }

func perr(file string, line, col int, format string, args ...any) *ParseError {
	return &ParseError{Pos: diag.Pos{File: file, Line: line, Col: col}, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads benchmark results from data (named file in messages) in the
// given format ("" or "auto" detects it). It returns a *ParseError for input
// that is not benchmark output.
func Parse(file string, data []byte, format string) (*Set, error) {
	if format == "" || format == "auto" {
		format = Detect(data)
		if format == "" {
			return nil, perr(file, 0, 0, "no benchmark results found (not Go benchmark output, github-action-benchmark JSON or a tool format it reads, nor 'name value unit' lines)")
		}
	}
	var set *Set
	switch format {
	case "gab-history":
		s, err := parseHistory(file, data)
		if err != nil {
			return nil, err
		}
		set = s
	case "go":
		s, err := parseGo(file, data)
		if err != nil {
			return nil, err
		}
		set = s
	default:
		rs, err := ParseTool(file, data, format)
		if err != nil {
			return nil, err
		}
		set = NewSet()
		for _, r := range rs {
			v, unit := normaliseUnit(r.Value, r.Unit)
			set.Add(Key{Name: r.Name, Unit: unit}, v, toolBetter(format, unit), diag.Pos{File: file, Line: r.Line})
		}
	}
	set.Format = format
	if set.Len() == 0 {
		return nil, perr(file, 0, 0, "no benchmark results found in %s input", format)
	}
	return set, nil
}

// ParseTool runs one github-action-benchmark style extractor: every format
// but "go", which Parse reads with benchfmt.
func ParseTool(file string, data []byte, format string) ([]Result, error) {
	switch format {
	case "plain":
		return parsePlain(file, data)
	case "customSmallerIsBetter", "customBiggerIsBetter", "custom":
		return parseCustom(file, data)
	case "cargo":
		return parseCargo(data), nil
	case "benchmarkjs":
		return parseBenchmarkJS(data), nil
	case "benchmarkluau":
		return parseLuau(data), nil
	case "catch2":
		return parseCatch2(file, data)
	case "pytest":
		return parsePytest(file, data)
	case "googlecpp":
		return parseGoogleCpp(file, data)
	case "jmh":
		return parseJMH(file, data)
	case "julia":
		return parseJulia(file, data)
	case "benchmarkdotnet":
		return parseDotnet(file, data)
	case "cargo-criterion":
		return parseCriterion(file, data)
	}
	return nil, perr(file, 0, 0, "unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

var (
	reGoLine      = regexp.MustCompile(`(?m)^Benchmark\S*\s+\d+\s+[-+0-9.eE]+\s+\S`)
	reCargoLine   = regexp.MustCompile(`(?m)^test .+ \.\.\. bench:`)
	reCatch2Head  = regexp.MustCompile(`(?m)^benchmark name +samples +iterations +(?:estimated|est run time)`)
	reBenchJSLine = regexp.MustCompile(`(?m) x [0-9,.]+\s+\S+\s+(?:±|\+-)[^%]+% \(\d+ runs sampled\)\r?$`)
	reLuauLine    = regexp.MustCompile(`(?m)^SUCCESS:?\s`)
)

// Detect guesses the format of data: "go", a github-action-benchmark tool
// name, "customSmallerIsBetter" for the custom JSON (its direction then
// comes from the unit unless the format is forced), "plain", or "" when
// nothing fits.
func Detect(data []byte) string {
	trim := bytes.TrimSpace(data)
	if len(trim) == 0 {
		return ""
	}
	if trim[0] == '[' || trim[0] == '{' {
		return detectJSON(trim)
	}
	if bytes.HasPrefix(trim, []byte("window.BENCHMARK_DATA")) {
		return "gab-history"
	}
	switch {
	case reGoLine.Match(data):
		return "go"
	case reCargoLine.Match(data):
		return "cargo"
	case reCatch2Head.Match(data):
		return "catch2"
	case reBenchJSLine.Match(data):
		return "benchmarkjs"
	case reLuauLine.Match(data):
		return "benchmarkluau"
	}
	return "plain"
}

func detectJSON(data []byte) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "customSmallerIsBetter" // let the custom parser report the syntax error
	}
	switch t := v.(type) {
	case map[string]any:
		if _, ok := t["Benchmarks"]; ok {
			return "benchmarkdotnet"
		}
		if bs, ok := t["benchmarks"].([]any); ok {
			if _, ok := t["machine_info"]; ok {
				return "pytest"
			}
			if len(bs) > 0 {
				if b, ok := bs[0].(map[string]any); ok {
					if _, ok := b["stats"]; ok {
						return "pytest"
					}
				}
			}
			return "googlecpp"
		}
		if t["reason"] == "benchmark-complete" {
			return "cargo-criterion"
		}
	case []any:
		if len(t) == 2 {
			if g, ok := t[1].([]any); ok && len(g) > 0 {
				if gg, ok := g[0].([]any); ok && len(gg) > 0 && gg[0] == "BenchmarkGroup" {
					return "julia"
				}
			}
		}
		if len(t) > 0 {
			if b, ok := t[0].(map[string]any); ok {
				if _, ok := b["primaryMetric"]; ok {
					return "jmh"
				}
			}
		}
	}
	return "customSmallerIsBetter"
}

// unitBetter is the direction of a unit when the input does not say:
// benchfmt's built-in defaults, then rates (anything per second, ops,
// throughput) higher, and everything else (times, sizes, counts) lower, as
// most benchmark metrics are costs.
func unitBetter(unit string) Better {
	u := strings.ToLower(unit)
	switch {
	case strings.HasSuffix(u, "/s"), strings.HasSuffix(u, "/sec"), strings.HasSuffix(u, "/second"),
		strings.HasSuffix(u, "ops"), strings.HasPrefix(u, "ops/"), strings.Contains(u, "per sec"),
		u == "hz", strings.HasSuffix(u, "/min"), u == "score", strings.Contains(u, "throughput"):
		return HigherIsBetter
	}
	return LowerIsBetter
}

func toolBetter(format, unit string) Better {
	switch format {
	case "customBiggerIsBetter":
		return HigherIsBetter
	case "customSmallerIsBetter":
		return LowerIsBetter
	}
	return unitBetter(unit)
}

var timeUnits = map[string]float64{"ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "sec": 1e9}

// normaliseUnit turns bare time units into ns so a series stays one series
// when a tool switches its display unit (Catch2 prints "us" or "ms" as
// values grow).
func normaliseUnit(v float64, unit string) (float64, string) {
	if f, ok := timeUnits[unit]; ok {
		return v * f, "ns"
	}
	return v, unit
}

// parseGo reads Go's benchmark format with benchfmt. Units are tidied as
// benchstat tidies them (ns/op becomes sec/op).
func parseGo(file string, data []byte) (*Set, error) {
	set := NewSet()
	r := benchfmt.NewReader(bytes.NewReader(data), file)
	for r.Scan() {
		switch rec := r.Result(); rec := rec.(type) {
		case *benchfmt.Result:
			pkg := rec.GetConfig("pkg")
			_, line := rec.Pos()
			for _, v := range rec.Values {
				if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
					set.Warnings = append(set.Warnings, diag.Warnf(diag.Pos{File: file, Line: line}, "perf/value", "%s: value %v %s is not a finite number; ignored", rec.Name, v.Value, v.Unit))
					continue
				}
				set.Add(Key{Pkg: pkg, Name: string(rec.Name), Unit: v.Unit}, v.Value, UnknownBetter, diag.Pos{File: file, Line: line})
			}
		case *benchfmt.SyntaxError:
			set.Warnings = append(set.Warnings, diag.Warnf(diag.Pos{File: file, Line: rec.Line}, "perf/syntax", "%s", rec.Msg))
		}
	}
	if err := r.Err(); err != nil {
		return nil, perr(file, 0, 0, "%v", err)
	}
	units := r.Units()
	for _, sr := range set.series {
		switch units.GetBetter(sr.Unit) {
		case 1:
			sr.Better = HigherIsBetter
		case -1:
			sr.Better = LowerIsBetter
		default:
			sr.Better = unitBetter(sr.Unit)
		}
		sr.Exact = units.GetAssumption(sr.Unit) == benchmath.AssumeExact
	}
	return set, nil
}

var rePlain = regexp.MustCompile(`^\s*(\S.*?)\s+([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s+(\S+)\s*$`)

// parsePlain reads "name value unit" lines; blank lines and lines starting
// with '#' are skipped. Any other line is an error.
func parsePlain(file string, data []byte) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		t := strings.TrimSpace(text)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		m := rePlain.FindStringSubmatch(text)
		if m == nil {
			col := len(text) - len(strings.TrimLeft(text, " \t")) + 1
			return nil, perr(file, line, col, "not a 'name value unit' line: %q", clip(t))
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, perr(file, line, strings.Index(text, m[2])+1, "bad value %q", m[2])
		}
		out = append(out, Result{Name: m[1], Value: v, Unit: m[3], Line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, perr(file, line+1, 0, "%v", err)
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// jsonError positions a JSON syntax or type error.
func jsonError(file string, data []byte, err error, what string) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		l, c := lineCol(data, se.Offset)
		return perr(file, l, c, "%s: %v", what, se)
	case errors.As(err, &te):
		l, c := lineCol(data, te.Offset)
		return perr(file, l, c, "%s: %v", what, te)
	}
	return perr(file, 0, 0, "%s: %v", what, err)
}

// parseCustom reads github-action-benchmark's custom JSON: an array of
// {"name", "value", "unit", "range"?, "extra"?}.
func parseCustom(file string, data []byte) ([]Result, error) {
	const what = "custom benchmark JSON (an array of {name, value, unit})"
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(file, data, err, what)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		l, c := lineCol(data, skipSpace(data, 0))
		return nil, perr(file, l, c, "%s: want an array", what)
	}
	var out []Result
	for dec.More() {
		start := skipSpace(data, dec.InputOffset())
		var e struct {
			Name  *string         `json:"name"`
			Value json.RawMessage `json:"value"`
			Unit  *string         `json:"unit"`
			Range json.RawMessage `json:"range"`
		}
		if err := dec.Decode(&e); err != nil {
			// The decoder counts offsets from the start of this value.
			var se *json.SyntaxError
			if errors.As(err, &se) {
				l, c := lineCol(data, start+se.Offset-1)
				return nil, perr(file, l, c, "%s: %v", what, se)
			}
			return nil, jsonError(file, data, err, what)
		}
		l, c := lineCol(data, start)
		if e.Name == nil || *e.Name == "" {
			return nil, perr(file, l, c, "%s: entry without a \"name\"", what)
		}
		if e.Unit == nil {
			return nil, perr(file, l, c, "%s: %q has no \"unit\"", what, *e.Name)
		}
		var v float64
		if err := json.Unmarshal(e.Value, &v); err != nil || len(e.Value) == 0 {
			return nil, perr(file, l, c, "%s: %q has no numeric \"value\"", what, *e.Name)
		}
		r := Result{Name: *e.Name, Value: v, Unit: *e.Unit, Line: l}
		if len(e.Range) > 0 {
			var s string
			if json.Unmarshal(e.Range, &s) == nil {
				r.Range = s
			} else {
				r.Range = string(e.Range)
			}
		}
		out = append(out, r)
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(file, data, err, what)
	}
	return out, nil
}

func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) && (data[off] == ' ' || data[off] == '\n' || data[off] == '\r' || data[off] == '\t' || data[off] == ',') {
		off++
	}
	return off
}

func lines(data []byte) []string {
	return strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
}

var reCargo = regexp.MustCompile(`^test (.+)\s+\.\.\. bench:\s+([0-9,.]+) (\S+) \(\+/- ([0-9,.]+)\)$`)

func parseCargo(data []byte) []Result {
	var out []Result
	for i, l := range lines(data) {
		m := reCargo.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(m[2], ",", ""), 64)
		if err != nil {
			continue
		}
		out = append(out, Result{Name: strings.TrimSpace(m[1]), Value: v, Unit: m[3], Range: "± " + strings.ReplaceAll(m[4], ",", ""), Line: i + 1})
	}
	return out
}

var reBenchJS = regexp.MustCompile(`^ x ([0-9,.]+)\s+(\S+)\s+((?:±|\+-)[^%]+%) \((\d+) runs sampled\)$`)

func parseBenchmarkJS(data []byte) []Result {
	var out []Result
	for i, l := range lines(data) {
		idx := strings.LastIndex(l, " x ")
		if idx < 0 {
			continue
		}
		m := reBenchJS.FindStringSubmatch(l[idx:])
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
		if err != nil {
			continue
		}
		out = append(out, Result{Name: l[:idx], Value: v, Unit: m[2], Range: m[3], Line: i + 1})
	}
	return out
}

var reLuauValue = regexp.MustCompile(`^([0-9.]+)(\D*)$`)

func parseLuau(data []byte) []Result {
	var out []Result
	for i, l := range lines(data) {
		if !strings.HasPrefix(l, "SUCCESS") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		m := reLuauValue.FindStringSubmatch(f[3])
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			continue
		}
		out = append(out, Result{Name: f[1], Value: v, Unit: m[2], Range: "±" + f[5], Line: i + 1})
	}
	return out
}

var (
	reCatch2Start  = regexp.MustCompile(`(\d+) +(\d+) +(?:\d+(\.\d+)?) (?:ns|ms|us|s)\s*$`)
	reCatch2Values = regexp.MustCompile(`^ +(\d+(?:\.\d+)?) (ns|us|ms|s) +(?:\d+(?:\.\d+)?) (?:ns|us|ms|s) +(?:\d+(?:\.\d+)?) (?:ns|us|ms|s)`)
	reSeparator    = regexp.MustCompile(`^-+$`)
)

// parseCatch2 reads Catch2's console benchmark tables (v2 and v3).
func parseCatch2(file string, data []byte) ([]Result, error) {
	ls := lines(data)
	var out []Result
	i := 0
	for i < len(ls) {
		if !reCatch2Head.MatchString(ls[i]) {
			i++
			continue
		}
		i++
		for i < len(ls) && !reSeparator.MatchString(strings.TrimRight(ls[i], " ")) {
			i++
		}
		if i >= len(ls) {
			return nil, perr(file, i, 0, "catch2: separator '------' does not follow the benchmark header")
		}
		i++
		found := false
		for i < len(ls) {
			m := reCatch2Start.FindStringSubmatchIndex(ls[i])
			if m == nil {
				break
			}
			name := strings.TrimSpace(ls[i][:m[0]])
			startLine := i + 1
			if i+1 >= len(ls) {
				return nil, perr(file, i+2, 0, "catch2: mean values missing for benchmark %q", name)
			}
			mean := reCatch2Values.FindStringSubmatch(ls[i+1])
			if mean == nil {
				return nil, perr(file, i+2, 1, "catch2: mean values cannot be read for benchmark %q", name)
			}
			if i+2 >= len(ls) || reCatch2Values.FindStringSubmatch(ls[i+2]) == nil {
				return nil, perr(file, i+3, 1, "catch2: std-dev values cannot be read for benchmark %q", name)
			}
			std := reCatch2Values.FindStringSubmatch(ls[i+2])
			if i+3 >= len(ls) || strings.TrimSpace(ls[i+3]) != "" {
				return nil, perr(file, i+4, 1, "catch2: an empty line must follow the std-dev line of benchmark %q", name)
			}
			v, _ := strconv.ParseFloat(mean[1], 64)
			out = append(out, Result{Name: name, Value: v, Unit: mean[2], Range: "± " + std[1], Line: startLine})
			found = true
			i += 4
		}
		if !found {
			return nil, perr(file, i+1, 0, "catch2: no benchmark found in the benchmark section")
		}
	}
	return out, nil
}

func decodeJSON(file string, data []byte, v any, what string) error {
	if err := json.Unmarshal(data, v); err != nil {
		return jsonError(file, data, err, what)
	}
	return nil
}

func parsePytest(file string, data []byte) ([]Result, error) {
	var doc struct {
		Benchmarks []struct {
			Fullname string `json:"fullname"`
			Stats    struct {
				Ops    float64 `json:"ops"`
				Stddev float64 `json:"stddev"`
			} `json:"stats"`
		} `json:"benchmarks"`
	}
	if err := decodeJSON(file, data, &doc, "pytest-benchmark JSON (--benchmark-json)"); err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(doc.Benchmarks))
	for _, b := range doc.Benchmarks {
		out = append(out, Result{Name: b.Fullname, Value: b.Stats.Ops, Unit: "iter/sec", Range: fmt.Sprintf("stddev: %v", b.Stats.Stddev)})
	}
	return out, nil
}

func parseGoogleCpp(file string, data []byte) ([]Result, error) {
	var doc struct {
		Benchmarks []struct {
			Name     string  `json:"name"`
			RealTime float64 `json:"real_time"`
			TimeUnit string  `json:"time_unit"`
		} `json:"benchmarks"`
	}
	if err := decodeJSON(file, data, &doc, "Google Benchmark JSON (--benchmark_format=json)"); err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(doc.Benchmarks))
	for _, b := range doc.Benchmarks {
		out = append(out, Result{Name: b.Name, Value: b.RealTime, Unit: b.TimeUnit + "/iter"})
	}
	return out, nil
}

func parseJMH(file string, data []byte) ([]Result, error) {
	var doc []struct {
		Benchmark     string          `json:"benchmark"`
		Params        json.RawMessage `json:"params"`
		PrimaryMetric struct {
			Score     float64 `json:"score"`
			ScoreUnit string  `json:"scoreUnit"`
		} `json:"primaryMetric"`
	}
	if err := decodeJSON(file, data, &doc, "JMH JSON (-rf json)"); err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(doc))
	for _, b := range doc {
		name := b.Benchmark
		if len(b.Params) > 0 && string(b.Params) != "null" {
			// As the action names parameterised benchmarks:
			// name ( {"param":"value"} ).
			var c bytes.Buffer
			if err := json.Compact(&c, b.Params); err == nil {
				name += " ( " + c.String() + " )"
			}
		}
		out = append(out, Result{Name: name, Value: b.PrimaryMetric.Score, Unit: b.PrimaryMetric.ScoreUnit})
	}
	return out, nil
}

func parseDotnet(file string, data []byte) ([]Result, error) {
	var doc struct {
		Benchmarks []struct {
			FullName   string `json:"FullName"`
			Statistics *struct {
				Mean              float64 `json:"Mean"`
				StandardDeviation float64 `json:"StandardDeviation"`
			} `json:"Statistics"`
		} `json:"Benchmarks"`
	}
	if err := decodeJSON(file, data, &doc, "BenchmarkDotNet JSON (--exporters json)"); err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(doc.Benchmarks))
	for _, b := range doc.Benchmarks {
		if b.Statistics == nil {
			return nil, perr(file, 0, 0, "BenchmarkDotNet JSON: %q has no Statistics", b.FullName)
		}
		out = append(out, Result{Name: b.FullName, Value: b.Statistics.Mean, Unit: "ns", Range: fmt.Sprintf("± %v", b.Statistics.StandardDeviation)})
	}
	return out, nil
}

// parseJulia reads BenchmarkTools.save output: [meta, [group...]] where a
// group is ["BenchmarkGroup", {"data": {key: group-or-estimate}}].
func parseJulia(file string, data []byte) ([]Result, error) {
	var doc []json.RawMessage
	if err := decodeJSON(file, data, &doc, "Julia BenchmarkTools JSON"); err != nil {
		return nil, err
	}
	if len(doc) != 2 {
		return nil, perr(file, 1, 1, "Julia BenchmarkTools JSON: want [metadata, [groups]]")
	}
	var groups []json.RawMessage
	if err := json.Unmarshal(doc[1], &groups); err != nil {
		return nil, perr(file, 1, 1, "Julia BenchmarkTools JSON: %v", err)
	}
	var out []Result
	for _, g := range groups {
		if err := juliaGroup(g, nil, &out, 0); err != nil {
			return nil, perr(file, 0, 0, "Julia BenchmarkTools JSON: %v", err)
		}
	}
	return out, nil
}

func juliaGroup(raw json.RawMessage, labels []string, out *[]Result, depth int) error {
	if depth > 100 {
		return errors.New("groups nested too deeply")
	}
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return errors.New("want [type, value] pairs")
	}
	var kind string
	if err := json.Unmarshal(pair[0], &kind); err != nil {
		return errors.New("want a type name string")
	}
	switch kind {
	case "BenchmarkGroup":
		var g struct {
			Data map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(pair[1], &g); err != nil {
			return err
		}
		// Keep the order the action's for..in gives: integer-like
		// keys ascending, then the others in file order.
		keys, err := orderedKeys(pair[1], "data")
		if err != nil {
			return err
		}
		slices.SortStableFunc(keys, func(a, b string) int {
			ai, aok := arrayIndex(a)
			bi, bok := arrayIndex(b)
			switch {
			case aok && bok:
				return cmp.Compare(ai, bi)
			case aok:
				return -1
			case bok:
				return 1
			}
			return 0
		})
		for _, k := range keys {
			if err := juliaGroup(g.Data[k], append(slices.Clip(labels), k), out, depth+1); err != nil {
				return err
			}
		}
	case "TrialEstimate":
		var e struct {
			Time float64 `json:"time"`
		}
		if err := json.Unmarshal(pair[1], &e); err != nil {
			return err
		}
		*out = append(*out, Result{Name: strings.Join(labels, "/"), Value: e.Time, Unit: "ns"})
	case "Trial":
		return errors.New("only TrialEstimate is supported: apply an estimate (minimum, median, mean...) before saving")
	default:
		return fmt.Errorf("unsupported type %q", kind)
	}
	return nil
}

// arrayIndex reports whether k is a canonical array index, as JavaScript
// orders object keys.
func arrayIndex(k string) (uint64, bool) {
	if k == "" || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(k, 10, 32)
	if err != nil || n == math.MaxUint32 {
		return 0, false
	}
	return n, true
}

// orderedKeys returns the keys of the object at field in obj, in file order.
func orderedKeys(obj json.RawMessage, field string) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if t != field {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := dec.Token(); err != nil { // {
			return nil, err
		}
		var keys []string
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			keys = append(keys, k)
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
		}
		return keys, nil
	}
	return nil, nil
}

// parseCriterion reads cargo-criterion's --message-format=json stream: one
// JSON object per line; "benchmark-complete" messages carry the median.
func parseCriterion(file string, data []byte) ([]Result, error) {
	var out []Result
	for i, l := range lines(data) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var m struct {
			Reason string `json:"reason"`
			ID     string `json:"id"`
			Median struct {
				Estimate float64 `json:"estimate"`
				Unit     string  `json:"unit"`
			} `json:"median"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			return nil, perr(file, i+1, 1, "cargo-criterion JSON line: %v", err)
		}
		if m.Reason != "benchmark-complete" {
			continue
		}
		unit := m.Median.Unit
		if unit == "" {
			unit = "ns"
		}
		out = append(out, Result{Name: m.ID, Value: m.Median.Estimate, Unit: unit, Line: i + 1})
	}
	return out, nil
}

// parseHistory reads github-action-benchmark's stored history (the data.js
// it commits to gh-pages: "window.BENCHMARK_DATA = {...}"): for every
// benchmark, the values of the last HistoryWindow commits become its
// samples, so a history can serve as a baseline.
func parseHistory(file string, data []byte) (*Set, error) {
	const what = "github-action-benchmark history (window.BENCHMARK_DATA = {...})"
	start := bytes.IndexByte(data, '{')
	end := bytes.LastIndexByte(data, '}')
	if start < 0 || end < start {
		return nil, perr(file, 1, 1, "%s: no JSON object", what)
	}
	var doc struct {
		Entries map[string][]struct {
			Tool    string `json:"tool"`
			Benches []struct {
				Name  string  `json:"name"`
				Value float64 `json:"value"`
				Unit  string  `json:"unit"`
			} `json:"benches"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(data[start:end+1], &doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			l, c := lineCol(data, int64(start)+se.Offset-1)
			return nil, perr(file, l, c, "%s: %v", what, se)
		}
		return nil, perr(file, 0, 0, "%s: %v", what, err)
	}
	suites := make([]string, 0, len(doc.Entries))
	for name := range doc.Entries {
		suites = append(suites, name)
	}
	slices.Sort(suites)
	set := NewSet()
	for _, suite := range suites {
		runs := doc.Entries[suite]
		if len(runs) > HistoryWindow {
			runs = runs[len(runs)-HistoryWindow:]
		}
		for _, run := range runs {
			for _, b := range run.Benches {
				v, unit := normaliseUnit(b.Value, b.Unit)
				better := toolBetter(run.Tool, unit)
				if run.Tool == "benchmarkjs" || run.Tool == "pytest" {
					better = HigherIsBetter
				}
				set.Add(Key{Name: b.Name, Unit: unit}, v, better, diag.Pos{File: file})
			}
		}
	}
	return set, nil
}
