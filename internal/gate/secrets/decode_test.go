package secrets

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// TestDecodePass: secrets hidden by base64, percent or hex encoding are found
// at the encoded text's position and tagged with the encoding; decoded text
// that holds no secret adds nothing.
func TestDecodePass(t *testing.T) {
	pat := fakeGitHubPAT
	text := strings.Join([]string{
		"plain line",
		"blob: " + base64.StdEncoding.EncodeToString([]byte("GITHUB_TOKEN="+pat+"\n")),
		"url = https://example.com/?t=%67%68%70%5F" + pat[4:],
		"hexed " + hex.EncodeToString([]byte("token "+pat)),
		"harmless " + base64.StdEncoding.EncodeToString([]byte("just some ordinary words here")),
	}, "\n") + "\n"
	d := defaultDetector(t)
	fs, err := d.ScanReader(context.Background(), strings.NewReader(text), "enc.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		if f.RuleID == "github-pat" {
			tag := "plain"
			if len(f.Tags) > 0 {
				tag = f.Tags[len(f.Tags)-1]
			}
			got[summary([]Finding{f})[0]] = tag
		}
	}
	want := map[string]string{
		"enc.txt:2:7 github-pat": "decoded:base64",
		"enc.txt:3:7 github-pat": "decoded:percent",
		"enc.txt:4:7 github-pat": "decoded:hex",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got tag %q; all: %v", k, got[k], got)
		}
	}
	for _, f := range fs {
		if f.Line == 5 || f.Line == 1 {
			t.Errorf("unexpected finding %q", summary([]Finding{f}))
		}
	}
	d.NoDecode = true
	fs, _ = d.ScanReader(context.Background(), strings.NewReader(text), "enc.txt")
	if slices.ContainsFunc(fs, func(f Finding) bool { return f.RuleID == "github-pat" }) {
		t.Errorf("NoDecode still decodes: %q", summary(fs))
	}
}
