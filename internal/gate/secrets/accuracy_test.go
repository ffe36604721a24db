package secrets

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// loc is a file and line.
type loc struct {
	file string
	line int
}

// credSweeperTruth reads CredSweeper's expected findings (output.json): each
// item is one expected secret with the lines it spans.
func credSweeperTruth(t *testing.T) (items [][]loc, labelled map[loc]bool) {
	t.Helper()
	data, err := os.ReadFile("testdata/credsweeper/data/output.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []struct {
		LineDataList []struct {
			Path    string `json:"path"`
			LineNum int    `json:"line_num"`
		} `json:"line_data_list"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	labelled = map[loc]bool{}
	for _, o := range out {
		var item []loc
		for _, l := range o.LineDataList {
			p := loc{strings.TrimPrefix(l.Path, "./tests/samples/"), l.LineNum}
			item = append(item, p)
			labelled[p] = true
		}
		items = append(items, item)
	}
	return items, labelled
}

// score is precision over the distinct (file, line) a tool reports and
// recall over CredSweeper's expected items (found when the tool reports any
// line of the item).
type score struct {
	reported, truePos, items, found int
}

func (s score) precision() float64 { return float64(s.truePos) / float64(max(s.reported, 1)) }
func (s score) recall() float64    { return float64(s.found) / float64(max(s.items, 1)) }
func (s score) String() string {
	return fmt.Sprintf("precision %.3f (%d/%d)  recall %.3f (%d/%d)", s.precision(), s.truePos, s.reported, s.recall(), s.found, s.items)
}

func scoreLocs(reported map[loc]bool, items [][]loc, labelled map[loc]bool) score {
	s := score{reported: len(reported), items: len(items)}
	for l := range reported {
		if labelled[l] {
			s.truePos++
		}
	}
	for _, it := range items {
		for _, l := range it {
			if reported[l] {
				s.found++
				break
			}
		}
	}
	return s
}

func readGitleaksTSV(t *testing.T) map[loc]bool {
	t.Helper()
	f, err := os.Open("testdata/credsweeper/gitleaks-v8.30.1.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[loc]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		parts := strings.Split(sc.Text(), "\t")
		n, err := strconv.Atoi(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		out[loc{parts[0], n}] = true
	}
	return out
}

func scanCredSweeper(t *testing.T, d *Detector) map[loc]bool {
	t.Helper()
	fs, _, err := d.ScanDir(context.Background(), filepath.FromSlash("testdata/credsweeper/samples"), ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[loc]bool{}
	for _, f := range fs {
		out[loc{f.File, f.Line}] = true
	}
	return out
}

// TestCredSweeperAccuracy scores shipgate and gitleaks v8.30.1 (its findings
// recorded by testdata/credsweeper/gitleaks.sh) against CredSweeper's
// labelled samples, and requires shipgate to be at least as precise and at
// least as complete.
func TestCredSweeperAccuracy(t *testing.T) {
	items, labelled := credSweeperTruth(t)
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	ours := scoreLocs(scanCredSweeper(t, NewDetector(cfg)), items, labelled)
	theirs := scoreLocs(readGitleaksTSV(t), items, labelled)
	t.Logf("shipgate:         %v", ours)
	t.Logf("gitleaks v8.30.1: %v", theirs)
	if ours.precision() < theirs.precision() {
		t.Errorf("precision %.3f below gitleaks' %.3f", ours.precision(), theirs.precision())
	}
	if ours.recall() < theirs.recall() {
		t.Errorf("recall %.3f below gitleaks' %.3f", ours.recall(), theirs.recall())
	}
}
