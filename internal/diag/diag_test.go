package diag

import (
	"bytes"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

func TestWriteTextShowsTheLineAndUnderlinesTheSpan(t *testing.T) {
	src := Sources{"w.yml": []byte("on: push\njobs:\n  a:\n    runs-on: [self-hosted]\n")}
	ds := []Diagnostic{
		{Pos: Pos{File: "w.yml", Line: 4, Col: 14, EndCol: 25}, Rule: "runner", Message: "label", Severity: Error},
		{Pos: Pos{File: "w.yml", Line: 3, Col: 3}, Rule: "x", Message: "word", Severity: Warning},
		{Pos: Pos{File: "w.yml", Line: 99, Col: 1}, Rule: "y", Message: "past the end", Severity: Info},
	}
	var b bytes.Buffer
	WriteText(&b, ds, src, false)
	want := "w.yml:4:14: label [runner]\n" +
		"   4 |     runs-on: [self-hosted]\n" +
		"     |              ^~~~~~~~~~~\n" +
		"w.yml:3:3: warning: word [x]\n" +
		"   3 |   a:\n" +
		"     |   ^~\n" +
		"w.yml:99:1: info: past the end [y]\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestSARIFIsValidAgainstTheSchema(t *testing.T) {
	var b bytes.Buffer
	err := WriteSARIF(&b, SARIFRun{Tool: "t", Version: "1", Results: []SARIFResult{
		{Diagnostic: Diagnostic{Pos: Pos{File: "a.yml", Line: 2, Col: 3}, Rule: "r1", Message: "m", Severity: Error}, Fingerprint: "abc"},
		{Diagnostic: Diagnostic{Rule: "r2", Message: "no position", Severity: Info}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sarif.FromBytes(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil {
		t.Fatalf("invalid SARIF: %v\n%s", err, b.String())
	}
	if !strings.Contains(b.String(), `"ruleId": "r1"`) || !strings.Contains(b.String(), `"level": "note"`) {
		t.Fatalf("unexpected SARIF:\n%s", b.String())
	}
}

func TestSortIsByPosition(t *testing.T) {
	ds := []Diagnostic{{Pos: Pos{File: "b", Line: 1}}, {Pos: Pos{File: "a", Line: 2}}, {Pos: Pos{File: "a", Line: 1, Col: 5}}}
	Sort(ds)
	if ds[0].Pos.String() != "a:1:5" || ds[1].Pos.String() != "a:2" || ds[2].Pos.String() != "b:1" {
		t.Fatalf("order: %v", ds)
	}
}
