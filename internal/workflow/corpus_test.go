package workflow

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// actionlint's own cases: every file in ok/ validates with zero findings.
func TestActionlintOKCasesAreClean(t *testing.T) {
	files, _ := filepath.Glob("testdata/actionlint/ok/*.yaml")
	if len(files) < 80 {
		t.Fatalf("found %d ok cases, want the whole corpus", len(files))
	}
	for _, f := range files {
		_, ds := Parse(f, mustRead(t, f), Options{ProjectRoot: "testdata/actionlint/ok"})
		for _, d := range ds {
			if d.Rule == RuleSupport {
				continue // shipgate's own warnings are not actionlint findings
			}
			t.Errorf("%s: unexpected finding: %s", f, d)
		}
	}
}

// For err/ and examples/, the share of expected errors (same line, column and
// message) that we report. Target: at least 95%.
func TestActionlintErrorCasesAgree(t *testing.T) {
	total, found := 0, 0
	var missing []string
	for _, dir := range []string{"testdata/actionlint/err", "testdata/actionlint/examples"} {
		files, _ := filepath.Glob(dir + "/*.yaml")
		for _, f := range files {
			want := readExpected(t, strings.TrimSuffix(f, ".yaml")+".out")
			_, ds := Parse(f, mustRead(t, f), Options{ProjectRoot: dir, DisplayName: "test.yaml"})
			var got []string
			for _, d := range ds {
				got = append(got, fmt.Sprintf("%s:%d:%d: %s [%s]", d.Pos.File, d.Pos.Line, d.Pos.Col, d.Message, d.Rule))
			}
			for _, w := range want {
				total++
				if matchesAny(w, got) {
					found++
				} else {
					missing = append(missing, filepath.Base(f)+": "+w)
				}
			}
		}
	}
	ratio := float64(found) / float64(total)
	t.Logf("actionlint err+examples: %d of %d expected errors reported (%.1f%%)", found, total, 100*ratio)
	for _, m := range missing {
		t.Logf("missing: %s", m)
	}
	if ratio < 0.95 {
		t.Errorf("agreement %.1f%% is below 95%%", 100*ratio)
	}
}

func matchesAny(want string, got []string) bool {
	if strings.HasPrefix(want, "/") && strings.HasSuffix(want, "/") {
		re, err := regexp.Compile(want[1 : len(want)-1])
		if err != nil {
			return false
		}
		for _, g := range got {
			if re.MatchString(g) {
				return true
			}
		}
		return false
	}
	for _, g := range got {
		if g == want {
			return true
		}
	}
	return false
}

func readExpected(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
