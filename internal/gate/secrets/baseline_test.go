package secrets

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"
	"time"
)

// TestDetectSecretsBaseline: detect-secrets' own baseline of its test data
// (format 0.14.2) recognises the secrets shipgate finds there, because
// hashed_secret is the same SHA-1 of the same secret.
func TestDetectSecretsBaseline(t *testing.T) {
	data, err := os.ReadFile("testdata/detect-secrets/test_data/baseline.file")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBaseline(data, "baseline.file")
	if err != nil {
		t.Fatal(err)
	}
	fs, _, err := defaultDetector(t).ScanDir(context.Background(), "testdata/detect-secrets/test_data", ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var known []string
	for _, f := range fs {
		if b.Known(f) {
			known = append(known, summary([]Finding{f})[0])
		}
	}
	for _, want := range []string{"config.md:10:1 generic-api-key", "each_secret.py:4:1 generic-api-key", "sample.diff:72:11 generic-api-key"} {
		if !slices.Contains(known, want) {
			t.Errorf("baseline does not know %s; knows %q", want, known)
		}
	}
	if len(known) < 6 {
		t.Errorf("only %d findings known to detect-secrets' baseline: %q", len(known), known)
	}
}

// TestBaselineRoundTrip: detect-secrets' project baseline keeps its plugins,
// filters and audit flags through an update.
func TestBaselineRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/detect-secrets/.secrets.baseline")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBaseline(data, ".secrets.baseline")
	if err != nil {
		t.Fatal(err)
	}
	var fs []Finding
	for file, list := range b.Results {
		for _, s := range list {
			fs = append(fs, Finding{File: file, Line: s.LineNumber, RuleID: s.Type, hashed: s.HashedSecret})
		}
	}
	nb := b.Update(fs, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if !nb.SameResults(b) {
		var x, y bytes.Buffer
		b.Write(&x)
		nb.Write(&y)
		t.Fatalf("results changed:\n%s\n---\n%s", x.String(), y.String())
	}
	var out bytes.Buffer
	if err := nb.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"plugins_used": [`, `"name": "Base64HighEntropyString"`, `"filters_used": [`, `"generated_at": "2026-01-01T00:00:00Z"`} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("written baseline lacks %s", want)
		}
	}
}
