package steprun

import (
	"strings"
	"testing"
)

// FuzzParseEnvFile: any content parses or errors, never panics, and every
// parsed name is non-empty.
func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{"A=1\n", "K<<EOF\nv\nEOF\n", "x<<\n", "test<<World\nx=y\nWorld\n", "\r\n=\n", "a<<b=c\nb=c\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kv, err := ParseEnvFile(s)
		if err != nil {
			return
		}
		for _, e := range kv {
			if e.Name == "" {
				t.Fatalf("empty name from %q", s)
			}
		}
	})
}

// FuzzOutput: command lines in any chunking never panic, and a registered
// secret never appears in an emitted line.
func FuzzOutput(f *testing.F) {
	for _, s := range []string{"::add-mask::abc\nabc\n", "::error file=a,line=x::m%0A\n", "::stop-commands::t\n::t::\n", "::group::\n::endgroup::", "::::\n::a b=c,d::e"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, chunk int) {
		if chunk <= 0 {
			chunk = 1
		}
		const secret = "s3cr3t-VALUE"
		var lines []string
		o := &Output{Masker: NewMasker(secret), Handle: func(e Event) { lines = append(lines, e.Text, e.Title) }}
		in := s + "\n" + secret + "\n"
		for i := 0; i < len(in); i += chunk {
			o.Write([]byte(in[i:min(i+chunk, len(in))]))
		}
		o.Close()
		for _, l := range lines {
			if strings.Contains(l, secret) {
				t.Fatalf("secret leaked in %q (input %q)", l, s)
			}
		}
	})
}
