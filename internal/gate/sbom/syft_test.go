package sbom

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"testing"
)

// syft v1.57.1's CycloneDX output (`syft scan dir:. -o cyclonedx-json`,
// kept in testdata/syft-v1.57.1) against ours for the same two Erlang
// projects: erlmcp (rebar.lock with git and renamed Hex packages) and
// ejabberd (rebar.lock and mix.lock side by side).
type cdxDoc struct {
	Components []struct {
		Ref     string     `json:"bom-ref"`
		Type    string     `json:"type"`
		Name    string     `json:"name"`
		Version string     `json:"version"`
		PURL    string     `json:"purl"`
		Hashes  []struct{} `json:"hashes"`
	} `json:"components"`
	Dependencies []struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn"`
	} `json:"dependencies"`
}

type cmpResult struct {
	count, hashed int
	pkgs          map[string]string // name@version -> purl
	edges         []string          // "a@v -> b@v"
}

func summarize(t *testing.T, doc cdxDoc) cmpResult {
	t.Helper()
	r := cmpResult{pkgs: map[string]string{}}
	byRef := map[string]string{}
	for _, c := range doc.Components {
		if c.Type == "file" {
			continue
		}
		r.count++
		if len(c.Hashes) > 0 {
			r.hashed++
		}
		k := c.Name + "@" + c.Version
		r.pkgs[k] = c.PURL
		byRef[c.Ref] = k
	}
	for _, d := range doc.Dependencies {
		from, ok := byRef[d.Ref]
		if !ok {
			continue // the project's own root
		}
		for _, to := range d.DependsOn {
			r.edges = append(r.edges, from+" -> "+byRef[to])
		}
	}
	slices.Sort(r.edges)
	r.edges = slices.Compact(r.edges)
	return r
}

func loadSyft(t *testing.T, name string) cmpResult {
	t.Helper()
	b, err := os.ReadFile("testdata/syft-v1.57.1/" + name + ".cdx.json")
	if err != nil {
		t.Fatal(err)
	}
	var d cdxDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return summarize(t, d)
}

func ours(t *testing.T, root string) cmpResult {
	t.Helper()
	var d cdxDoc
	if err := json.Unmarshal(render(t, model(t, root, false), "cyclonedx-json"), &d); err != nil {
		t.Fatal(err)
	}
	return summarize(t, d)
}

func TestCompareWithSyft(t *testing.T) {
	// erlmcp: the same 21 packages. Two differences, both ours on purpose:
	// rebar.lock keys chatterbox and hpack are the Hex packages
	// ts_chatterbox and hpack_erl (we name the package, syft the OTP app),
	// and git dependencies get pkg:github purls (syft: pkg:hex/NAME@SHA,
	// which names no Hex release). syft emits no hashes for rebar.lock;
	// we give the pkg_hash checksums of all 19 Hex packages.
	s, o := loadSyft(t, "erlmcp"), ours(t, "../deps/testdata/erlmcp")
	renamed := map[string]string{"chatterbox@0.15.1": "ts_chatterbox@0.15.1", "hpack@0.3.0": "hpack_erl@0.3.0"}
	mapped := map[string]bool{}
	for k := range s.pkgs {
		if r, ok := renamed[k]; ok {
			k = r
		}
		mapped[k] = true
	}
	if s.count != 21 || o.count != 21 || !slices.Equal(slices.Sorted(maps.Keys(mapped)), slices.Sorted(maps.Keys(o.pkgs))) {
		t.Errorf("erlmcp: syft %d %v\nshipgate %d %v", s.count, slices.Sorted(maps.Keys(mapped)), o.count, slices.Sorted(maps.Keys(o.pkgs)))
	}
	for k, p := range o.pkgs {
		sp := s.pkgs[k]
		switch {
		case k == "gen_pnet@f7f9a26d1f4f3e5aebcbc08a2e9729c3f1d7eeb2" || k == "lib_combin@953273d875ce4eb4119219bb0d1855acc258586c":
			if sp != "pkg:hex/"+k || p != "pkg:github/joergen7/"+k {
				t.Errorf("%s: syft %s, shipgate %s", k, sp, p)
			}
		case sp != "" && sp != p:
			t.Errorf("%s: purl syft %s, shipgate %s", k, sp, p)
		}
	}
	if s.hashed != 0 || o.hashed != 19 {
		t.Errorf("hashes: syft %d, shipgate %d", s.hashed, o.hashed)
	}

	// ejabberd: syft lists each package once per lockfile (60 = 35 from
	// mix.lock + 25 from rebar.lock); we list the 35 distinct packages
	// once. Same names, versions and purls; the same mix.lock edges.
	s, o = loadSyft(t, "ejabberd"), ours(t, "../../inventory/testdata/real-world/erlang/processone-ejabberd")
	if s.count != 60 || o.count != 35 || len(s.pkgs) != 35 || !maps.Equal(s.pkgs, o.pkgs) {
		t.Errorf("ejabberd: syft %d (%d distinct), shipgate %d", s.count, len(s.pkgs), o.count)
	}
	if !slices.Equal(s.edges, o.edges) {
		t.Errorf("edges differ:\nsyft %v\nshipgate %v", s.edges, o.edges)
	}
	t.Logf("ejabberd: %d edges identical", len(o.edges))
}
