package dockerfile

import (
	"strings"
	"testing"
)

// FuzzParse: any Dockerfile parses without panicking, and every error
// carries the file name and a line inside the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"FROM scratch\nCOPY . /app\nENTRYPOINT [\"/app/run\"]\n",
		"ARG B=scratch\nFROM $B\nENV A=1 B=\"two words\"\nLABEL a=b\nEXPOSE 80/udp\nUSER 1:1\nWORKDIR x\nCMD [\"a\"]\n",
		"FROM scratch\nRUN echo \\\n hi\n",
		"FROM scratch\nCOPY <<EOF /x\nhello\nEOF\n",
		"# escape=`\nFROM scratch\nENV A=`\n 1\n",
		"FROM scratch AS a\nFROM a\nCOPY --from=a / /\n",
		"FROM scratch\nADD --chown=1:2 x.tar.gz /\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src string) {
		_, err := Parse("Dockerfile", []byte(src), Options{Context: dir})
		if err == nil {
			return
		}
		errs, ok := err.(Errors)
		if !ok {
			t.Fatalf("error of type %T: %v", err, err)
		}
		lines := strings.Count(src, "\n") + 1
		for _, e := range errs {
			if e.File != "Dockerfile" || e.Line < 1 || e.Line > lines+1 {
				t.Fatalf("error at %d (input has %d lines): %v", e.Line, lines, e)
			}
		}
	})
}
