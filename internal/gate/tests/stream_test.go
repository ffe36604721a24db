package tests

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// TestHugeReportStreams parses a generated 20,000-case report (about 10 MB
// with its output) fed through a pipe: the parser streams it, keeping the
// cases but never the whole document or the <system-out> text.
func TestHugeReportStreams(t *testing.T) {
	const cases = 20000
	pr, pw := io.Pipe()
	go func() {
		out := strings.Repeat("log line from the test\n", 20)
		fmt.Fprint(pw, `<?xml version="1.0" encoding="UTF-8"?><testsuites><testsuite name="huge">`)
		for i := 0; i < cases; i++ {
			if i%1000 == 0 {
				fmt.Fprintf(pw, `<testcase classname="big.C%d" name="t%d" time="0.001"><failure message="boom %d">trace</failure><system-out>%s</system-out></testcase>`, i%97, i, i, out)
				continue
			}
			fmt.Fprintf(pw, `<testcase classname="big.C%d" name="t%d" time="0.001"><system-out>%s</system-out></testcase>`, i%97, i, out)
		}
		fmt.Fprint(pw, `</testsuite></testsuites>`)
		pw.Close()
	}()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rep, err := Parse("huge.xml", pr)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	r := rep.Runs()
	if r.Total != cases || r.Failed != cases/1000 {
		t.Fatalf("runs %+v", r)
	}
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d cases, ~%d MB of XML; heap grew %.1f MB", cases, cases*490/1000000, float64(grown)/1e6)
	if grown > cases*490/2 {
		t.Errorf("heap grew %d bytes: the report is not streamed", grown)
	}
}
