package secrets

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseBaseline: any input either fails with an error or gives a baseline
// that writes and reads back to the same results; never a panic.
func FuzzParseBaseline(f *testing.F) {
	for _, p := range []string{"testdata/detect-secrets/.secrets.baseline", "testdata/detect-secrets/test_data/baseline.file"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"version":"1.5.0","results":{"a.py":[{"type":"Secret Keyword","filename":"a.py","hashed_secret":"0123456789abcdef0123456789abcdef01234567","is_verified":false,"line_number":3,"is_secret":false}]},"generated_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"results":{}}`))
	f.Add([]byte(`{"results":null,"x":[1,2]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBaseline(data, "fuzz.baseline")
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := b.Write(&out); err != nil {
			t.Fatalf("write: %v", err)
		}
		b2, err := ParseBaseline(out.Bytes(), "again")
		if err != nil {
			t.Fatalf("written baseline does not parse: %v\n%s", err, out.Bytes())
		}
		if !b.SameResults(b2) {
			t.Fatalf("results changed on a round trip")
		}
		// Updating with no findings never fails either.
		_ = b.Update(nil, time.Unix(0, 0))
	})
}

// FuzzParseConfig: any input is compiled or rejected with an error; a
// compiled config can scan text without panicking.
func FuzzParseConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/gitleaks/config/*/*.toml")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil && !bytes.Contains(b, []byte("[extend]")) {
			f.Add(b)
		}
	}
	f.Add([]byte("[[rules]]\nid = \"a\"\nregex = '''a(b+)'''\nsecretGroup = 1\nentropy = 1.5\nkeywords = [\"ab\"]\n[[rules.allowlists]]\ncondition = \"AND\"\nregexTarget = \"line\"\nregexes = ['''x''']\nstopwords = [\"bb\"]\n"))
	f.Add([]byte("[[rules]]\nid = \"p\"\npath = '''\\.p12$'''\n[[rules]]\nid = \"q\"\nregex = '''q'''\n[[rules.required]]\nid = \"p\"\nwithinLines = 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte("extend")) {
			return // [extend] reads other files
		}
		cfg, err := ParseConfig(data, "fuzz.toml")
		if err != nil {
			return
		}
		d := NewDetector(cfg)
		st := d.newScratch()
		text := []byte("ab abbb q x\nkey = \"abbbbbbbbbbbbbbbbb\"\n" + string(data))
		fr := fragment{data: text, path: "dir/a.p12", startLine: 1, to: len(text)}
		d.scanFragment(st, &fr)
		d.finish(st, &fr, Finding{}, func(Finding) {})
		d.decodePass(st, &fr, Finding{}, func(Finding) {}, 0)
	})
}
