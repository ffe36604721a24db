package inventory

import (
	"regexp"
	"sort"
	"strings"
)

// ParseRebarLock reads a rebar3 lockfile in every format rebar3 has written:
//
//   - legacy (rebar3 before 3.1, 2015-2016): one term, a list of
//     {Name, Source, Level};
//   - versioned ("1.1.0", "1.2.0"): {Vsn, [{Name, Source, Level}]}. followed
//     by a proplist with pkg_hash / pkg_hash_ext.
//
// Source is {pkg, Name, Vsn} (or {pkg, Name, Vsn, Hash} in early 3.x),
// {git, Url, {ref|tag|branch, R}}, {git_subdir, Url, Ref, Dir} or {hg, ...}.
// Level 0 marks a direct dependency. Hex packages take the Hex package name,
// which may differ from the application name the lock is keyed by.
func ParseRebarLock(file string, data []byte) ([]Package, error) {
	terms, err := ParseErlangTerms(file, data)
	if err != nil {
		return nil, err
	}
	if len(terms) == 0 {
		return nil, nil
	}
	var entries Term
	first := terms[0]
	switch {
	case first.Kind == TList:
		entries = first
	case first.Kind == TTuple && len(first.Items) == 2 && first.Items[0].Kind == TString && first.Items[1].Kind == TList:
		if v := first.Items[0].Str; !strings.HasPrefix(v, "1.") {
			return nil, errAt(file, first.Items[0].Pos, "unsupported rebar.lock version %q", v)
		}
		entries = first.Items[1]
	default:
		return nil, errAt(file, first.Pos, "not a rebar.lock: expected a list or {\"1.x.0\", [...]}")
	}
	hashes := map[string][]Hash{}
	if len(terms) > 1 && terms[1].Kind == TList {
		for _, kind := range []string{"pkg_hash", "pkg_hash_ext"} {
			l, ok := terms[1].Proplist(kind)
			if !ok {
				continue
			}
			for _, it := range l.Items {
				if it.Kind != TTuple || len(it.Items) != 2 {
					continue
				}
				n, _ := it.Items[0].Text()
				h, _ := it.Items[1].Text()
				if kind == "pkg_hash" && h != "" {
					hashes[n] = append(hashes[n], Hash{Alg: "SHA-256", Value: strings.ToLower(h)})
				}
			}
		}
	}
	var pkgs []Package
	for _, e := range entries.Items {
		if e.Kind != TTuple || len(e.Items) < 2 {
			return pkgs, errAt(file, e.Pos, "rebar.lock entry is not {Name, Source, Level}")
		}
		app, ok := e.Items[0].Text()
		if !ok {
			return pkgs, errAt(file, e.Items[0].Pos, "rebar.lock entry name is not a binary")
		}
		p := Package{Ecosystem: "Hex", Name: app, File: file, Line: e.Pos.Line, Relation: Transitive}
		if len(e.Items) >= 3 && e.Items[2].Kind == TInt && e.Items[2].Str == "0" {
			p.Relation = Direct
		}
		src := e.Items[1]
		if src.Kind != TTuple || len(src.Items) == 0 || src.Items[0].Kind != TAtom {
			return pkgs, errAt(file, src.Pos, "rebar.lock source of %q is not a tuple", app)
		}
		switch src.Items[0].Str {
		case "pkg":
			if len(src.Items) < 3 {
				return pkgs, errAt(file, src.Pos, "pkg source of %q has no version", app)
			}
			if n, ok := src.Items[1].Text(); ok && n != "" && n != app {
				p.Name, p.Alias = n, app
			}
			p.Version, _ = src.Items[2].Text()
			p.Source = "registry"
			p.PURL = hexPURL(p.Name, p.Version)
			p.Hashes = hashes[app]
			if len(src.Items) >= 4 {
				if h, ok := src.Items[3].Text(); ok && h != "" && p.Hashes == nil {
					p.Hashes = []Hash{{Alg: "SHA-256", Value: strings.ToLower(h)}}
				}
			}
		case "git", "git_subdir", "hg":
			p.Source = "git"
			if len(src.Items) > 1 {
				p.Repo, _ = src.Items[1].Text()
			}
			if len(src.Items) > 2 {
				r := src.Items[2]
				if r.Kind == TTuple && len(r.Items) == 2 {
					p.Ref, _ = r.Items[1].Text()
				} else {
					p.Ref, _ = r.Text()
				}
			}
			p.PURL = repoPURL(p.Repo, p.Ref)
		default:
			p.Source = src.Items[0].Str
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

var githubRe = regexp.MustCompile(`github\.com[:/]+([^/]+)/([^/]+?)(?:\.git)?/?$`)

// repoPURL returns pkg:github/owner/repo@ref for a GitHub URL, "" otherwise.
func repoPURL(url, ref string) string {
	m := githubRe.FindStringSubmatch(url)
	if m == nil {
		return ""
	}
	s := "pkg:github/" + strings.ToLower(m[1]) + "/" + strings.ToLower(m[2])
	if ref != "" {
		s += "@" + ref
	}
	return s
}

// ManifestDep is a dependency declared in a manifest (rebar.config,
// mix.exs, go.mod, package.json).
type ManifestDep struct {
	Name string `json:"name"`
	// Version is the pinned version (rebar.config "2.9.0") or the
	// requirement ("~> 1.0") as written.
	Version string `json:"version,omitempty"`
	// Source is "registry", "git" or "path".
	Source string `json:"source"`
	Line   int    `json:"line,omitempty"`
	Dev    bool   `json:"dev,omitempty"`
}

// ParseRebarConfigDeps returns the top-level {deps, [...]} of a
// rebar.config. Profiles' deps are not project deps and are left out. A
// dependency is {Name, "Vsn"} (registry, pinned), Name alone (registry,
// any version), {Name, {git, ...}} or {Name, "Vsn", {git, ...}} (git), or
// {Name, "Vsn", {pkg, PkgName}}: the last is read as a registry dependency
// without a lockable version (osv-scalibr's rebar.config extractor skips it
// too, so inventories agree).
func ParseRebarConfigDeps(file string, data []byte) ([]ManifestDep, error) {
	terms, err := ParseErlangTerms(file, data)
	if err != nil {
		return nil, err
	}
	var out []ManifestDep
	for _, t := range terms {
		if t.Kind != TTuple || len(t.Items) != 2 || !t.Items[0].IsAtom("deps") {
			continue
		}
		if t.Items[1].Kind != TList {
			return out, errAt(file, t.Items[1].Pos, "deps is not a list")
		}
		for _, d := range t.Items[1].Items {
			dep := ManifestDep{Line: d.Pos.Line, Source: "registry"}
			switch {
			case d.Kind == TAtom:
				dep.Name = d.Str
			case d.Kind == TTuple && len(d.Items) >= 1:
				dep.Name, _ = d.Items[0].Text()
				if len(d.Items) >= 2 {
					switch v := d.Items[1]; v.Kind {
					case TString, TAtom, TBinary:
						dep.Version = v.Str
					case TTuple:
						dep.Source = sourceOf(v)
					}
				}
				if len(d.Items) >= 3 && d.Items[2].Kind == TTuple {
					dep.Source = sourceOf(d.Items[2])
					if dep.Source == "registry" {
						dep.Version = ""
					}
				}
			default:
				return out, errAt(file, d.Pos, "dependency is not an atom or a tuple")
			}
			if dep.Name == "" {
				return out, errAt(file, d.Pos, "dependency has no name")
			}
			out = append(out, dep)
		}
	}
	return out, nil
}

func sourceOf(t Term) string {
	if len(t.Items) > 0 && t.Items[0].Kind == TAtom {
		switch t.Items[0].Str {
		case "git", "git_subdir", "hg":
			return "git"
		case "pkg":
			return "registry"
		case "raw":
			return "path"
		}
		return t.Items[0].Str
	}
	return "registry"
}

// ParseMixLock reads a mix.lock (an Elixir map of app name to source
// tuple): {:hex, :pkg, "vsn", "inner hash", managers, deps, "repo",
// "outer hash"} or {:git, url, sha, opts} or {:path, ...}. Dependencies
// of hex entries become edges; a package nothing in the lock depends on is
// marked direct, the rest transitive (mix.exs refines this when present).
// Entries too short to be valid are skipped, like osv-scalibr does.
func ParseMixLock(file string, data []byte) ([]Package, error) {
	t, err := ParseElixirTerm(file, data)
	if err != nil {
		return nil, err
	}
	if t.Kind != TMap {
		return nil, errAt(file, t.Pos, "not a mix.lock: expected a map %%{...}")
	}
	var pkgs []Package
	var keys []string
	depNames := map[int][]string{}
	for i := 0; i+1 < len(t.Items); i += 2 {
		key, ok := t.Items[i].Text()
		v := t.Items[i+1]
		if !ok || v.Kind != TTuple || len(v.Items) < 3 || v.Items[0].Kind != TAtom {
			continue
		}
		p := Package{Ecosystem: "Hex", Name: key, File: file, Line: t.Items[i].Pos.Line}
		switch v.Items[0].Str {
		case "hex":
			if len(v.Items) < 4 {
				continue
			}
			if n, ok := v.Items[1].Text(); ok && n != "" && n != key {
				p.Name, p.Alias = n, key
			}
			p.Version, _ = v.Items[2].Text()
			p.Source = "registry"
			p.PURL = hexPURL(p.Name, p.Version)
			if len(v.Items) >= 8 {
				if h, ok := v.Items[7].Text(); ok && len(h) == 64 {
					p.Hashes = []Hash{{Alg: "SHA-256", Value: strings.ToLower(h)}}
				}
			}
			if len(v.Items) >= 6 && v.Items[5].Kind == TList {
				for _, d := range v.Items[5].Items {
					if d.Kind == TTuple && len(d.Items) >= 1 {
						if n, ok := d.Items[0].Text(); ok {
							depNames[len(pkgs)] = append(depNames[len(pkgs)], n)
						}
					}
				}
			}
		case "git":
			p.Source = "git"
			p.Repo, _ = v.Items[1].Text()
			p.Ref, _ = v.Items[2].Text()
			p.PURL = repoPURL(p.Repo, p.Ref)
		case "path":
			p.Source = "path"
		default:
			continue
		}
		pkgs = append(pkgs, p)
		keys = append(keys, key)
	}
	// Edges: mix.lock deps name applications (lock keys).
	byKey := map[string]int{}
	for j, k := range keys {
		byKey[k] = j
	}
	hasParent := make([]bool, len(pkgs))
	for i, names := range depNames {
		for _, n := range names {
			if j, ok := byKey[n]; ok {
				pkgs[i].Deps = append(pkgs[i].Deps, pkgs[j].ID())
				hasParent[j] = true
			}
		}
	}
	for i := range pkgs {
		if hasParent[i] {
			pkgs[i].Relation = Transitive
		} else {
			pkgs[i].Relation = Direct
		}
	}
	return pkgs, nil
}

var (
	mixDepRe  = regexp.MustCompile(`\{\s*:([a-z_][a-zA-Z0-9_]*)\s*,\s*(?:"([^"]*)"|([a-z_]+:))?`)
	mixDepsFn = regexp.MustCompile(`(?m)^\s*defp?\s+deps(?:\(\))?\s+do\b`)
)

// ParseMixExsDeps finds the dependencies in a mix.exs: every {:name, ...}
// tuple in the body of its deps function. mix.exs is Elixir code, not data,
// so this is a reader for the usual shape, not an evaluator; dependencies
// built by function calls are missed.
func ParseMixExsDeps(file string, data []byte) ([]ManifestDep, error) {
	src := string(data)
	loc := mixDepsFn.FindStringIndex(src)
	if loc == nil {
		return nil, nil
	}
	body := src[loc[1]:]
	// The body ends at the first line that is just `end` at the def's indent.
	if i := regexp.MustCompile(`(?m)^\s{0,4}end\b`).FindStringIndex(body); i != nil {
		body = body[:i[0]]
	}
	baseLine := 1 + strings.Count(src[:loc[1]], "\n")
	var out []ManifestDep
	seen := map[string]bool{}
	for _, m := range mixDepRe.FindAllStringSubmatchIndex(body, -1) {
		name := body[m[2]:m[3]]
		line := baseLine + strings.Count(body[:m[0]], "\n")
		// Skip commented-out lines.
		ls := strings.LastIndex(body[:m[0]], "\n")
		if strings.Contains(body[ls+1:m[0]], "#") {
			continue
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		d := ManifestDep{Name: name, Source: "registry", Line: line}
		if m[4] >= 0 {
			d.Version = body[m[4]:m[5]]
		}
		end := strings.Index(body[m[0]:], "}")
		if end > 0 {
			tuple := body[m[0] : m[0]+end]
			if strings.Contains(tuple, "git:") || strings.Contains(tuple, "github:") {
				d.Source = "git"
			} else if strings.Contains(tuple, "path:") || strings.Contains(tuple, "in_umbrella:") {
				d.Source = "path"
			}
			if strings.Contains(tuple, "only:") {
				d.Dev = !strings.Contains(tuple, ":prod")
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// ParseAppSrc reads an OTP .app.src (or .app) file and returns the
// application's name, vsn and licenses (the hex metadata key).
func ParseAppSrc(file string, data []byte) (name, vsn string, licenses []string, err error) {
	terms, err := ParseErlangTerms(file, data)
	if err != nil {
		return "", "", nil, err
	}
	for _, t := range terms {
		if t.Kind != TTuple || len(t.Items) != 3 || !t.Items[0].IsAtom("application") {
			continue
		}
		name, _ = t.Items[1].Text()
		props := t.Items[2]
		if v, ok := props.Proplist("vsn"); ok {
			vsn, _ = v.Text()
		}
		if v, ok := props.Proplist("licenses"); ok && v.Kind == TList {
			for _, l := range v.Items {
				if s, ok := l.Text(); ok {
					licenses = append(licenses, s)
				}
			}
		}
		return name, vsn, licenses, nil
	}
	return "", "", nil, errAt(file, Pos{1, 1}, "no {application, Name, Props} term")
}

func sortPackages(pkgs []Package) {
	sort.SliceStable(pkgs, func(i, j int) bool {
		if pkgs[i].Name != pkgs[j].Name {
			return pkgs[i].Name < pkgs[j].Name
		}
		return pkgs[i].Version < pkgs[j].Version
	})
}
