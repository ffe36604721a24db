package deps

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
	"github.com/shipgate/shipgate/internal/inventory"
	"github.com/shipgate/shipgate/internal/osv"
	"golang.org/x/mod/modfile"
)

// Rule IDs of check-lock.
const (
	RuleLockMissing  = "deps/lock-missing"  // a manifest dependency is not locked
	RuleLockMismatch = "deps/lock-mismatch" // locked version does not satisfy the manifest
	RuleLockExtra    = "deps/lock-extra"    // a top-level locked dependency the manifest no longer declares
	RuleNoLockfile   = "deps/no-lockfile"   // a manifest with dependencies and no lockfile
	RuleLockUnused   = "deps/lock-unused"   // a locked package nothing declared needs
)

// pair is a manifest and its lockfile found in one directory.
type pair struct{ dir, manifest, lock string }

// CheckLock compares every lockfile under root with its manifest:
// rebar.lock with rebar.config, mix.lock with mix.exs, go.sum with go.mod
// and package-lock.json with package.json. It fails when a declared
// dependency is not locked, is locked at a version the manifest does not
// allow, or when a lockfile's top-level dependency is no longer declared.
func CheckLock(root string) (*gate.Report, error) {
	r := &gate.Report{Gate: "deps check-lock", Rules: []diag.Rule{
		{ID: RuleLockMissing, Description: "A dependency declared in the manifest is not in the lockfile"},
		{ID: RuleLockMismatch, Description: "The locked version does not satisfy the manifest's requirement"},
		{ID: RuleLockExtra, Description: "The lockfile has a top-level dependency the manifest does not declare"},
		{ID: RuleNoLockfile, Description: "A manifest declares dependencies but has no lockfile"},
		{ID: RuleLockUnused, Description: "A locked package is needed by no declared dependency"},
	}}
	var pairs []pair
	manifests := map[string]string{"rebar.config": "rebar.lock", "mix.exs": "mix.lock", "go.mod": "go.sum", "package.json": "package-lock.json"}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "_build", "deps", "vendor", ".shipgate":
				if p != root {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if lock, ok := manifests[d.Name()]; ok {
			pairs = append(pairs, pair{filepath.Dir(p), p, filepath.Join(filepath.Dir(p), lock)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].manifest < pairs[j].manifest })
	checked := 0
	rel := func(p string) string {
		if s, err := filepath.Rel(root, p); err == nil {
			return displayPath(root, s)
		}
		return p
	}
	add := func(rule string, sev diag.Severity, file string, line int, format string, args ...any) {
		r.Add(gate.Finding{Diagnostic: diag.Diagnostic{Pos: diag.Pos{File: rel(file), Line: line}, Rule: rule,
			Severity: sev, Message: fmt.Sprintf(format, args...)}})
	}
	for _, pr := range pairs {
		if _, err := os.Stat(pr.lock); err != nil {
			if pr.lock == filepath.Join(pr.dir, "package-lock.json") && (exists(filepath.Join(pr.dir, "npm-shrinkwrap.json")) ||
				exists(filepath.Join(pr.dir, "yarn.lock")) || exists(filepath.Join(pr.dir, "pnpm-lock.yaml"))) {
				continue
			}
			n, err := declaredCount(pr)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				add(RuleNoLockfile, diag.Error, pr.manifest, 0, "%s declares %d dependencies but %s does not exist", filepath.Base(pr.manifest), n, filepath.Base(pr.lock))
			}
			continue
		}
		checked++
		var err error
		switch filepath.Base(pr.manifest) {
		case "rebar.config":
			err = checkRebar(pr, add)
		case "mix.exs":
			err = checkMix(pr, add)
		case "go.mod":
			err = checkGo(pr, add)
		case "package.json":
			err = checkNpm(pr, add)
		}
		if err != nil {
			return nil, err
		}
	}
	errs := 0
	for _, f := range r.Findings {
		if f.Severity == diag.Error {
			errs++
		}
	}
	r.Metrics = []gate.Metric{{Name: "lockfiles checked", Value: float64(checked)}, {Name: "problems", Value: float64(errs)}}
	switch {
	case errs > 0:
		r.Verdict, r.Reason = gate.Fail, fmt.Sprintf("%d %s between lockfiles and manifests", errs, plural(errs, "disagreement", "disagreements"))
	case checked == 0 && len(r.Findings) == 0:
		r.Verdict, r.Reason = gate.Skipped, "no manifest with a lockfile found (rebar.config, mix.exs, go.mod, package.json)"
	default:
		r.Verdict, r.Reason = gate.Pass, fmt.Sprintf("%d %s with %s", checked, plural(checked, "lockfile agrees", "lockfiles agree"), plural(checked, "its manifest", "their manifests"))
	}
	return r, nil
}

type addFunc func(rule string, sev diag.Severity, file string, line int, format string, args ...any)

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func declaredCount(pr pair) (int, error) {
	data, err := os.ReadFile(pr.manifest)
	if err != nil {
		return 0, err
	}
	switch filepath.Base(pr.manifest) {
	case "rebar.config":
		d, err := inventory.ParseRebarConfigDeps(pr.manifest, data)
		return len(d), err
	case "mix.exs":
		d, err := inventory.ParseMixExsDeps(pr.manifest, data)
		return len(d), err
	case "go.mod":
		mf, err := modfile.Parse(pr.manifest, data, nil)
		if err != nil {
			return 0, err
		}
		return len(mf.Require), nil
	case "package.json":
		var pj packageJSON
		if err := json.Unmarshal(data, &pj); err != nil {
			return 0, fmt.Errorf("%s: %w", pr.manifest, err)
		}
		return len(pj.Dependencies) + len(pj.DevDependencies) + len(pj.OptionalDependencies), nil
	}
	return 0, nil
}

func checkRebar(pr pair, add addFunc) error {
	data, err := os.ReadFile(pr.manifest)
	if err != nil {
		return err
	}
	deps, err := inventory.ParseRebarConfigDeps(pr.manifest, data)
	if err != nil {
		return err
	}
	ldata, err := os.ReadFile(pr.lock)
	if err != nil {
		return err
	}
	locked, err := inventory.ParseRebarLock(pr.lock, ldata)
	if err != nil {
		return err
	}
	top := map[string]inventory.Package{}
	for _, p := range locked {
		if p.Relation == inventory.Direct {
			top[lockKey(p)] = p
		}
	}
	declared := map[string]bool{}
	for _, d := range deps {
		declared[d.Name] = true
		p, ok := top[d.Name]
		if !ok {
			add(RuleLockMissing, diag.Error, pr.manifest, d.Line, "%s is declared in rebar.config but is not a top-level dependency in rebar.lock (run `rebar3 lock` or `rebar3 upgrade %s`)", d.Name, d.Name)
			continue
		}
		if d.Version == "" || d.Source != "registry" || p.Source != "registry" {
			continue
		}
		if !versionAllows(d.Version, p.Version) {
			add(RuleLockMismatch, diag.Error, pr.lock, p.Line, "rebar.lock has %s %s but rebar.config (line %d) asks for %s (run `rebar3 upgrade %s`)", d.Name, p.Version, d.Line, d.Version, d.Name)
		}
	}
	for _, k := range sortedKeys(top) {
		if !declared[k] {
			p := top[k]
			add(RuleLockExtra, diag.Error, pr.lock, p.Line, "rebar.lock lists %s as a top-level dependency but rebar.config no longer declares it (run `rebar3 unlock %s`)", k, k)
		}
	}
	return nil
}

// versionAllows reads a rebar.config or mix.exs version: an exact version
// or a Hex requirement.
func versionAllows(want, have string) bool {
	if !strings.ContainsAny(want, "<>=~ ") {
		return want == have
	}
	m, ok := osv.HexRequirementMatch(want, have)
	return !ok || m
}

func lockKey(p inventory.Package) string {
	if p.Alias != "" {
		return p.Alias
	}
	return p.Name
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func checkMix(pr pair, add addFunc) error {
	data, err := os.ReadFile(pr.manifest)
	if err != nil {
		return err
	}
	deps, err := inventory.ParseMixExsDeps(pr.manifest, data)
	if err != nil {
		return err
	}
	ldata, err := os.ReadFile(pr.lock)
	if err != nil {
		return err
	}
	locked, err := inventory.ParseMixLock(pr.lock, ldata)
	if err != nil {
		return err
	}
	byKey := map[string]inventory.Package{}
	for _, p := range locked {
		byKey[lockKey(p)] = p
	}
	reach := map[string]bool{}
	byID := map[string]inventory.Package{}
	for _, p := range locked {
		byID[p.ID()] = p
	}
	var visit func(p inventory.Package)
	visit = func(p inventory.Package) {
		if reach[p.ID()] {
			return
		}
		reach[p.ID()] = true
		for _, d := range p.Deps {
			visit(byID[d])
		}
	}
	for _, d := range deps {
		if d.Source == "path" {
			continue
		}
		p, ok := byKey[d.Name]
		if !ok {
			add(RuleLockMissing, diag.Error, pr.manifest, d.Line, "%s is declared in mix.exs but is not in mix.lock (run `mix deps.get`)", d.Name)
			continue
		}
		visit(p)
		if d.Version != "" && p.Source == "registry" {
			if m, ok := osv.HexRequirementMatch(d.Version, p.Version); ok && !m {
				add(RuleLockMismatch, diag.Error, pr.lock, p.Line, "mix.lock has %s %s but mix.exs (line %d) requires %q (run `mix deps.update %s`)", d.Name, p.Version, d.Line, d.Version, d.Name)
			}
		}
	}
	if len(deps) == 0 {
		return nil
	}
	for _, p := range locked {
		if !reach[p.ID()] {
			// mix.exs is code; a dependency added by a function call is
			// invisible here, so this only warns.
			add(RuleLockUnused, diag.Warning, pr.lock, p.Line, "%s is locked but no dependency in mix.exs needs it (`mix deps.unlock --unused` removes it)", lockKey(p))
		}
	}
	return nil
}

func checkGo(pr pair, add addFunc) error {
	data, err := os.ReadFile(pr.manifest)
	if err != nil {
		return err
	}
	mf, err := modfile.Parse(pr.manifest, data, nil)
	if err != nil {
		return err
	}
	sum, err := os.ReadFile(pr.lock)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(sum))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 {
			have[f[0]+" "+f[1]] = true
		}
	}
	replaced := map[string]bool{}
	for _, rp := range mf.Replace {
		if rp.New.Version == "" { // local directory
			replaced[rp.Old.Path] = true
		}
	}
	for _, rq := range mf.Require {
		if replaced[rq.Mod.Path] {
			continue
		}
		if !have[rq.Mod.Path+" "+rq.Mod.Version+"/go.mod"] {
			add(RuleLockMissing, diag.Error, pr.manifest, rq.Syntax.Start.Line, "go.sum has no checksum for %s %s (run `go mod tidy` or `go mod download %s`)", rq.Mod.Path, rq.Mod.Version, rq.Mod.Path)
		}
	}
	return nil
}

type packageJSON struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
}

func checkNpm(pr pair, add addFunc) error {
	data, err := os.ReadFile(pr.manifest)
	if err != nil {
		return err
	}
	var pj packageJSON
	if err := json.Unmarshal(data, &pj); err != nil {
		return fmt.Errorf("%s: %w", pr.manifest, err)
	}
	ldata, err := os.ReadFile(pr.lock)
	if err != nil {
		return err
	}
	var lock struct {
		LockfileVersion int                    `json:"lockfileVersion"`
		Packages        map[string]packageJSON `json:"packages"`
		Dependencies    map[string]struct {
			Version string `json:"version"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(ldata, &lock); err != nil {
		return fmt.Errorf("%s: %w", pr.lock, err)
	}
	lineOf := func(data []byte, key string) int {
		i := bytes.Index(data, []byte(`"`+key+`"`))
		if i < 0 {
			return 0
		}
		return 1 + bytes.Count(data[:i], []byte("\n"))
	}
	groups := []struct {
		name string
		get  func(p packageJSON) map[string]string
	}{
		{"dependencies", func(p packageJSON) map[string]string { return p.Dependencies }},
		{"devDependencies", func(p packageJSON) map[string]string { return p.DevDependencies }},
		{"optionalDependencies", func(p packageJSON) map[string]string { return p.OptionalDependencies }},
		{"peerDependencies", func(p packageJSON) map[string]string { return p.PeerDependencies }},
	}
	if root, ok := lock.Packages[""]; ok && lock.LockfileVersion >= 2 {
		// npm ci's check: the root entry records package.json's ranges.
		for _, g := range groups {
			want, got := g.get(pj), g.get(root)
			for _, n := range sortedKeys(want) {
				lr, ok := got[n]
				switch {
				case !ok:
					add(RuleLockMissing, diag.Error, pr.manifest, lineOf(data, n), "%s %s %q is not in package-lock.json (run `npm install`)", g.name, n, want[n])
				case lr != want[n]:
					add(RuleLockMismatch, diag.Error, pr.manifest, lineOf(data, n), "package.json asks for %s %q but package-lock.json was made for %q (run `npm install`)", n, want[n], lr)
				}
			}
			for _, n := range sortedKeys(got) {
				if _, ok := want[n]; !ok {
					add(RuleLockExtra, diag.Error, pr.lock, lineOf(ldata, n), "package-lock.json has %s %s but package.json does not (run `npm install`)", g.name, n)
				}
			}
		}
		return nil
	}
	// lockfile v1: declared packages must be locked at a version in range.
	for _, g := range groups[:3] {
		for _, n := range sortedKeys(g.get(pj)) {
			rng := g.get(pj)[n]
			d, ok := lock.Dependencies[n]
			if !ok {
				add(RuleLockMissing, diag.Error, pr.manifest, lineOf(data, n), "%s %s %q is not in package-lock.json (run `npm install`)", g.name, n, rng)
				continue
			}
			c, err := semver.NewConstraint(rng)
			if err != nil {
				continue // git URLs, tags, aliases: not a range
			}
			v, err := semver.NewVersion(d.Version)
			if err != nil {
				continue
			}
			if !c.Check(v) {
				add(RuleLockMismatch, diag.Error, pr.lock, lineOf(ldata, n), "package-lock.json has %s %s, outside package.json's %q (run `npm install`)", n, d.Version, rng)
			}
		}
	}
	return nil
}
