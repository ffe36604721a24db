package perf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/perf/benchunit"
)

type snapshot struct {
	tool, file string
	benches    []struct {
		Name  string  `json:"name"`
		Unit  string  `json:"unit"`
		Value float64 `json:"value"`
	}
}

var reSnap = regexp.MustCompile("(?s)exports\\[`extractResult\\(\\) extracts benchmark output from (\\S+) - (\\S+) 1`\\] = `\n(.*?)\n`;")

// jsToJSON turns a Jest snapshot object (trailing commas, raw newlines,
// tabs and unescaped quotes in strings) into JSON. Inside a string, a quote
// closes it only where Jest's layout allows: before ": ", ",\n" or "\n".
func jsToJSON(s string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && c == '\\':
			b.WriteByte(c)
			i++
			if i < len(s) {
				b.WriteByte(s[i])
			}
			continue
		case in && c == '\n':
			b.WriteString(`\n`)
			continue
		case in && c == '\t':
			b.WriteString(`\t`)
			continue
		case in && c == '"':
			rest := s[i+1:]
			if strings.HasPrefix(rest, ": ") || strings.HasPrefix(rest, ",\n") || strings.HasPrefix(rest, "\n") {
				in = false
			} else {
				b.WriteString(`\"`)
				continue
			}
		case !in && c == '"':
			in = true
		}
		b.WriteByte(c)
	}
	return regexp.MustCompile(`,(\s*[}\]])`).ReplaceAllString(b.String(), "$1")
}

func loadSnapshots(t *testing.T) []snapshot {
	data, err := os.ReadFile("testdata/gab/extract.spec.ts.snap")
	if err != nil {
		t.Fatal(err)
	}
	var out []snapshot
	for _, m := range reSnap.FindAllStringSubmatch(string(data), -1) {
		s := snapshot{tool: m[1], file: m[2]}
		var doc struct {
			Benches json.RawMessage `json:"benches"`
		}
		if err := json.Unmarshal([]byte(jsToJSON(m[3])), &doc); err != nil {
			t.Fatalf("snapshot %s: %v", m[2], err)
		}
		if err := json.Unmarshal(doc.Benches, &s.benches); err != nil {
			t.Fatalf("snapshot %s: %v", m[2], err)
		}
		out = append(out, s)
	}
	return out
}

var reProcs = regexp.MustCompile(`-\d+$`)

// TestToolFormatsAgreeWithActionSnapshots parses every extract fixture of
// github-action-benchmark, detecting its format by content, and checks each
// benchmark's name, unit and value against the action's own snapshot.
func TestToolFormatsAgreeWithActionSnapshots(t *testing.T) {
	snaps := loadSnapshots(t)
	if len(snaps) < 20 {
		t.Fatalf("read %d snapshots, want every fixture", len(snaps))
	}
	total, agree := 0, 0
	for _, s := range snaps {
		t.Run(s.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/gab", s.file))
			if err != nil {
				t.Fatal(err)
			}
			detected := Detect(data)
			wantFormat := s.tool
			if s.tool == "customBiggerIsBetter" {
				wantFormat = "customSmallerIsBetter" // the same JSON; direction needs --format
			}
			if detected != wantFormat {
				t.Errorf("detected %q, want %q", detected, wantFormat)
			}
			if s.tool == "go" {
				set, err := Parse(s.file, data, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range s.benches {
					if strings.ContainsAny(b.Unit, " \t") {
						continue // the action's combined multi-metric entry
					}
					total++
					name := strings.TrimPrefix(b.Name, "Benchmark")
					name, _, _ = strings.Cut(name, " (")
					name, _, _ = strings.Cut(name, " - ")
					v, unit := benchunit.Tidy(b.Value, b.Unit)
					found := false
					for _, sr := range set.Series() {
						if reProcs.ReplaceAllString(sr.Name, "") == name && sr.Unit == unit && (strings.Contains(b.Name, "("+sr.Pkg+")") || !strings.Contains(b.Name, " (")) {
							for _, got := range sr.Values {
								if got == v {
									found = true
								}
							}
						}
					}
					if found {
						agree++
					} else {
						t.Errorf("%s %s = %v not read", b.Name, b.Unit, b.Value)
					}
				}
				return
			}
			rs, err := ParseTool(s.file, data, s.tool)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != len(s.benches) {
				t.Errorf("read %d results, snapshot has %d", len(rs), len(s.benches))
			}
			for i := range min(len(rs), len(s.benches)) {
				total++
				w, g := s.benches[i], rs[i]
				if w.Name != g.Name || w.Unit != g.Unit || w.Value != g.Value {
					t.Errorf("result %d: got %q %v %q, snapshot %q %v %q", i, g.Name, g.Value, g.Unit, w.Name, w.Value, w.Unit)
					continue
				}
				agree++
			}
		})
	}
	t.Logf("github-action-benchmark snapshots: %d/%d results agree over %d fixtures", agree, total, len(snaps))
}

func TestDirectionByFormatAndUnit(t *testing.T) {
	for _, c := range []struct {
		file, format string
		want         Better
	}{
		{"customBiggerIsBetter_output.json", "customBiggerIsBetter", HigherIsBetter},
		{"customSmallerIsBetter_output.json", "customSmallerIsBetter", LowerIsBetter},
		{"benchmarkjs_output.txt", "", HigherIsBetter},
		{"pytest_output.json", "", HigherIsBetter},
		{"cargo_output.txt", "", LowerIsBetter},
		{"catch2_output_v3.txt", "", LowerIsBetter},
	} {
		data, err := os.ReadFile(filepath.Join("testdata/gab", c.file))
		if err != nil {
			t.Fatal(err)
		}
		set, err := Parse(c.file, data, c.format)
		if err != nil {
			t.Fatal(err)
		}
		for _, sr := range set.Series() {
			if sr.Better != c.want {
				t.Errorf("%s: %s is %s-is-better, want %s", c.file, sr.Key, sr.Better, c.want)
			}
		}
	}
	set, err := Parse("old.txt", mustRead(t, "testdata/benchstat/crc-old.txt"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, sr := range set.Series() {
		want := map[string]Better{"sec/op": LowerIsBetter, "B/s": HigherIsBetter}[sr.Unit]
		if sr.Better != want {
			t.Errorf("%s: %s, want %s", sr.Key, sr.Better, want)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBadInputIsPositioned(t *testing.T) {
	for _, c := range []struct {
		name, data, format, want string
	}{
		{"plain.txt", "startup 12.5 ms\nthis is not a benchmark\n", "", "plain.txt:2:1: not a 'name value unit' line"},
		{"c.json", "[\n  {\"name\": \"a\", \"unit\": \"ms\", \"value\": 1},\n  {\"name\": \"b\", \"unit\": \"ms\"}\n]", "", "c.json:3:3: custom benchmark JSON"},
		{"c.json", "[\n  {\"name\": \"a\",, }\n]", "", "c.json:2:16: custom benchmark JSON"},
		{"empty.txt", "  \n", "", "empty.txt: no benchmark results found"},
		{"x.txt", "a 1 ms", "nosuch", `unknown format "nosuch"`},
	} {
		_, err := Parse(c.name, []byte(c.data), c.format)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}
