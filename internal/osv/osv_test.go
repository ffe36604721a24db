package osv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func loadCorpus(t *testing.T) *DB {
	t.Helper()
	db, err := Load("testdata/corpus")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestLoadCorpus(t *testing.T) {
	db := loadCorpus(t)
	// 52 go + 10 hex + 4 npm + 6 crates + 12 pysec, plus the mix_audit
	// advisories whose GHSA IDs are not already among the hex JSON.
	if len(db.Records) < 84+90 {
		t.Errorf("%d records loaded", len(db.Records))
	}
	for _, r := range db.Records {
		if len(r.Affected) == 0 {
			t.Errorf("%s (%s): no affected packages", r.ID, r.Source)
		}
	}
}

func ids(vs []Vuln) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}

func TestMatchPerEcosystem(t *testing.T) {
	db := loadCorpus(t)
	cases := []struct {
		eco, name, version string
		want               string // ID expected ("" = none of wantNot)
		wantNot            string
		fixed              string
	}{
		// Hex, OSV JSON ranges.
		{"Hex", "plug", "1.1.5", "GHSA-2q6v-32mr-8p8x", "", "1.1.7"},
		{"Hex", "plug", "1.1.7", "", "GHSA-2q6v-32mr-8p8x", ""},
		// Hex, mix_audit YAML requirement "< 0.4.0".
		{"Hex", "hex_core", "0.3.0", "GHSA-q3cc-rr2c-87r6", "", "0.4.0"},
		{"Hex", "hex_core", "0.4.0", "", "GHSA-q3cc-rr2c-87r6", ""},
		// Go pseudo-versions: fixed 0.0.0-20200220183623-bac4c82f6975.
		{"Go", "golang.org/x/crypto", "0.0.0-20200128174031-69ecbb4d6d5d", "GO-2020-0012", "", "0.0.0-20200220183623-bac4c82f6975"},
		{"Go", "golang.org/x/crypto", "0.0.0-20200302210943-78000ba7a073", "", "GO-2020-0012", ""},
		// Go +incompatible: fixed 20.10.9+incompatible.
		{"Go", "github.com/docker/cli", "20.10.8+incompatible", "GO-2024-2912", "", "20.10.9+incompatible"},
		{"Go", "github.com/docker/cli", "20.10.9+incompatible", "", "GO-2024-2912", ""},
		// PEP 440: werkzeug fixed in 2.3.8 and 3.0.1 (introduced again at 3.0.0).
		{"PyPI", "Werkzeug", "2.3.7", "PYSEC-2023-221", "", "2.3.8"},
		{"PyPI", "werkzeug", "2.3.8", "", "PYSEC-2023-221", ""},
		{"PyPI", "werkzeug", "3.0.0", "PYSEC-2023-221", "", "3.0.1"},
		{"PyPI", "werkzeug", "3.0.0rc1", "", "", ""},
		// npm SemVer.
		{"npm", "lodash", "4.17.4", "GHSA-jf85-cpcp-j695", "", "4.17.12"},
	}
	for _, c := range cases {
		got := db.Match(c.eco, c.name, c.version)
		g := ids(got)
		if c.want != "" && !slices.Contains(g, c.want) {
			t.Errorf("%s %s@%s: got %v, want %s", c.eco, c.name, c.version, g, c.want)
		}
		if c.wantNot != "" && slices.Contains(g, c.wantNot) {
			t.Errorf("%s %s@%s: got %v, must not contain %s", c.eco, c.name, c.version, g, c.wantNot)
		}
		for _, v := range got {
			if v.ID == c.want && v.Fixed != c.fixed {
				t.Errorf("%s %s@%s: %s fixed %q, want %q", c.eco, c.name, c.version, v.ID, v.Fixed, c.fixed)
			}
		}
	}
}

func writeRecord(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWithdrawnAliasesRubyGems(t *testing.T) {
	dir := t.TempDir()
	rng := `"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.4"}]}]`
	writeRecord(t, dir, "a.json", `{"id":"GHSA-aaaa","aliases":["CVE-2024-1"],"summary":"first",
		"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
		"affected":[{"package":{"ecosystem":"RubyGems","name":"rack"},`+rng+`}]}`)
	writeRecord(t, dir, "b.json", `{"id":"CVE-2024-1","summary":"second",
		"affected":[{"package":{"ecosystem":"RubyGems","name":"rack"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.5"}]}]}]}`)
	writeRecord(t, dir, "c.json", `{"id":"GHSA-gone","withdrawn":"2024-01-01T00:00:00Z",
		"affected":[{"package":{"ecosystem":"RubyGems","name":"rack"},`+rng+`}]}`)
	db, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := db.Match("RubyGems", "rack", "1.2.4.pre")
	if len(got) != 1 {
		t.Fatalf("got %d vulns (%v), want one merged", len(got), ids(got))
	}
	v := got[0]
	if v.ID != "GHSA-aaaa" || !slices.Equal(v.IDs, []string{"CVE-2024-1", "GHSA-aaaa"}) || v.Fixed != "1.2.5" {
		t.Errorf("merged = %+v", v)
	}
	if v.Score != 9.8 || v.Rating != "CRITICAL" {
		t.Errorf("score %v %s", v.Score, v.Rating)
	}
	// RubyGems: 1.2.4.pre < 1.2.4 but 1.2.4 is fixed for the GHSA record.
	if got := db.Match("RubyGems", "rack", "1.2.4"); len(got) != 1 || !slices.Equal(got[0].IDs, []string{"CVE-2024-1"}) {
		t.Errorf("1.2.4: %+v", got)
	}
}

func TestBaseScore(t *testing.T) {
	cases := map[string]float64{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H":                    9.8,
		"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H":                    7.8,
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N":                    6.1,
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N": 9.3,
		"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N": 4.8,
	}
	for vec, want := range cases {
		got, _, err := BaseScore(vec)
		if err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", vec, got, err, want)
		}
	}
	if _, _, err := BaseScore("CVSS:3.1/AV:X"); err == nil {
		t.Error("bad vector accepted")
	}
}

func TestBadInputPositions(t *testing.T) {
	dir := t.TempDir()
	writeRecord(t, dir, "bad.json", "{\n  \"id\": \"X\",\n  \"affected\": [}\n")
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "bad.json:3:") {
		t.Errorf("error %v, want bad.json:3:...", err)
	}
	dir2 := t.TempDir()
	writeRecord(t, dir2, "bad.yml", "id: X\npackage: p\nvulnerable_version_ranges:\n  - '<< 1.0'\n")
	if _, err := Load(dir2); err == nil || !strings.Contains(err.Error(), "bad.yml") {
		t.Errorf("error %v", err)
	}
}

func TestHexRequirement(t *testing.T) {
	cases := []struct {
		req, v string
		want   bool
	}{
		{">= 2.0.0, < 4.0.1", "3.9.9", true},
		{">= 2.0.0, < 4.0.1", "4.0.1", false},
		{"~> 1.2", "1.9.0", true},
		{"~> 1.2", "2.0.0", false},
		{"~> 1.2.3", "1.2.9", true},
		{"~> 1.2.3", "1.3.0", false},
		{"= 2.2.0", "2.2.0", true},
		{"<= 0.7.2", "0.7.2", true},
		{"< 1.0.0 or >= 2.0.0 and < 2.1.0", "2.0.5", true},
	}
	for _, c := range cases {
		if got := hexRequirementMatch(c.req, c.v); got != c.want {
			t.Errorf("%q %s: %v", c.req, c.v, got)
		}
	}
}

func TestLoadForFilter(t *testing.T) {
	dir := t.TempDir()
	full, err := Load("testdata/corpus")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := full.ExportZips(dir); err != nil {
		t.Fatal(err)
	}
	f := NewFilter()
	f.Add("Hex", "plug")
	f.Add("PyPI", "Werkzeug")
	db, err := LoadFor(f, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range db.Records {
		ok := false
		for _, a := range r.Affected {
			ok = ok || a.Package.Name == "plug" || a.Package.Name == "werkzeug"
		}
		if !ok {
			t.Errorf("%s kept", r.ID)
		}
	}
	if len(db.Match("Hex", "plug", "1.1.5")) == 0 || len(db.Match("PyPI", "werkzeug", "2.3.7")) == 0 {
		t.Error("filtered DB lost matches")
	}
	// The export round-trips: every record, and the same matches.
	back, err := Load(dir)
	if err != nil || len(back.Records) != len(full.Records) {
		t.Fatalf("round trip: %d of %d records, %v", len(back.Records), len(full.Records), err)
	}
	for _, v := range []string{"0.3.0", "0.4.0", "0.12.1"} {
		a, b := ids(full.Match("Hex", "hex_core", v)), ids(back.Match("Hex", "hex_core", v))
		if !slices.Equal(a, b) {
			t.Errorf("hex_core %s: %v before export, %v after", v, a, b)
		}
	}
	if got := ids(back.Match("Hex", "hex_core", "0.3.0")); !slices.Equal(got, []string{"GHSA-hx9w-f2w9-9g96", "GHSA-q3cc-rr2c-87r6"}) {
		t.Errorf("hex_core 0.3.0 after export: %v", got)
	}
}

// GHSA names jose's Hex package "erlang-jose"; the elixir-security-
// advisories copy of the same advisory says "jose". Merged, jose matches,
// with or without a filter, and keeps GHSA's fields.
func TestSameIDFromTwoSourcesMerged(t *testing.T) {
	f := NewFilter()
	f.Add("Hex", "jose")
	for name, load := range map[string]func() (*DB, error){
		"all":      func() (*DB, error) { return Load("testdata/corpus") },
		"filtered": func() (*DB, error) { return LoadFor(f, "testdata/corpus") },
	} {
		db, err := load()
		if err != nil {
			t.Fatal(err)
		}
		got := db.Match("Hex", "jose", "1.11.1")
		if len(got) != 1 || got[0].ID != "GHSA-9mg4-v392-8j68" || got[0].Fixed != "1.11.7" || got[0].Vector == "" {
			t.Errorf("%s: %+v", name, got)
		}
		if len(db.Match("Hex", "jose", "1.11.7")) != 0 {
			t.Errorf("%s: fixed version matched", name)
		}
	}
}
