package inventory

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/mod/modfile"
)

// markRelations fills Relation and Deps for kinds whose lockfile (or the
// manifest beside it) records them. Failures here are not errors: the
// packages stay with an unknown relation.
func markRelations(k Kind, file string, pkgs []Package) {
	switch k {
	case GoMod:
		goRelations(file, pkgs)
	case PackageLockJSON:
		npmRelations(file, pkgs)
	case CargoLock:
		cargoRelations(file, pkgs)
	case PnpmLock:
		pnpmRelations(file, pkgs)
	case YarnLock:
		yarnRelations(file, pkgs)
	case GemfileLock:
		gemfileRelations(file, pkgs)
	case PoetryLock:
		poetryRelations(file, pkgs)
	case MixLock:
		exs := filepath.Join(filepath.Dir(file), "mix.exs")
		if data, err := os.ReadFile(exs); err == nil {
			if deps, err := ParseMixExsDeps(exs, data); err == nil && len(deps) > 0 {
				direct := map[string]bool{}
				for _, d := range deps {
					direct[d.Name] = true
				}
				for i := range pkgs {
					if direct[pkgs[i].Name] || direct[pkgs[i].Alias] {
						pkgs[i].Relation = Direct
					} else {
						pkgs[i].Relation = Transitive
					}
				}
			}
		}
	}
}

func goRelations(file string, pkgs []Package) {
	data, err := os.ReadFile(file)
	if err != nil {
		return
	}
	mf, err := modfile.Parse(file, data, nil)
	if err != nil {
		return
	}
	direct := map[string]bool{}
	line := map[string]int{}
	for _, r := range mf.Require {
		if !r.Indirect {
			direct[r.Mod.Path] = true
		}
		if r.Syntax != nil {
			line[r.Mod.Path] = r.Syntax.Start.Line
		}
	}
	for _, r := range mf.Replace {
		if r.Syntax != nil {
			line[r.New.Path] = r.Syntax.Start.Line
		}
	}
	if mf.Go != nil && mf.Go.Syntax != nil {
		line["stdlib"] = mf.Go.Syntax.Start.Line
	}
	if mf.Toolchain != nil && mf.Toolchain.Syntax != nil {
		line["stdlib"] = mf.Toolchain.Syntax.Start.Line
	}
	for _, r := range mf.Replace {
		if direct[r.Old.Path] {
			direct[r.New.Path] = true
		}
	}
	for i := range pkgs {
		if pkgs[i].Line == 0 {
			pkgs[i].Line = line[pkgs[i].Name]
		}
		switch {
		case pkgs[i].Name == "stdlib" || direct[pkgs[i].Name]:
			pkgs[i].Relation = Direct
		default:
			pkgs[i].Relation = Transitive
		}
	}
}

type npmLock struct {
	LockfileVersion int `json:"lockfileVersion"`
	Packages        map[string]struct {
		Name                 string            `json:"name"`
		Version              string            `json:"version"`
		Link                 bool              `json:"link"`
		Integrity            string            `json:"integrity"`
		Dependencies         map[string]string `json:"dependencies"`
		DevDependencies      map[string]string `json:"devDependencies"`
		OptionalDependencies map[string]string `json:"optionalDependencies"`
		PeerDependencies     map[string]string `json:"peerDependencies"`
	} `json:"packages"`
	Dependencies map[string]*npmV1Dep `json:"dependencies"`
}

type npmV1Dep struct {
	Version      string               `json:"version"`
	Integrity    string               `json:"integrity"`
	Requires     map[string]string    `json:"requires"`
	Dependencies map[string]*npmV1Dep `json:"dependencies"`
}

// npmRelations reads edges and integrity hashes from package-lock.json:
// v2/v3 through "packages" (node_modules paths resolved the way Node
// does), v1 through nested "dependencies" and "requires". Direct
// dependencies are the root package's (v2/v3) or package.json's (v1).
func npmRelations(file string, pkgs []Package) {
	data, err := os.ReadFile(file)
	if err != nil {
		return
	}
	var lock npmLock
	if json.Unmarshal(data, &lock) != nil {
		return
	}
	idx := map[string]int{}
	for i := range pkgs {
		idx[pkgs[i].Name+"@"+pkgs[i].Version] = i
	}
	direct := map[string]bool{}
	addEdge := func(from string, toName, toVersion string) {
		j, ok := idx[toName+"@"+toVersion]
		if !ok {
			return
		}
		if from == "" {
			direct[toName+"@"+toVersion] = true
			return
		}
		if i, ok := idx[from]; ok {
			pkgs[i].Deps = appendUnique(pkgs[i].Deps, pkgs[j].ID())
		}
	}
	setHash := func(key, integrity string) {
		i, ok := idx[key]
		if !ok || integrity == "" || len(pkgs[i].Hashes) > 0 {
			return
		}
		if h, ok := sriHash(integrity); ok {
			pkgs[i].Hashes = []Hash{h}
		}
	}
	if len(lock.Packages) > 0 {
		nameOf := func(p string) string {
			if p == "" {
				return ""
			}
			i := strings.LastIndex(p, "node_modules/")
			return p[i+len("node_modules/"):]
		}
		resolve := func(from, dep string) (string, bool) {
			dir := from
			for {
				cand := path.Join(dir, "node_modules", dep)
				if dir == "" {
					cand = "node_modules/" + dep
				}
				if _, ok := lock.Packages[cand]; ok {
					return cand, true
				}
				if dir == "" {
					return "", false
				}
				i := strings.LastIndex(dir, "node_modules/")
				if i <= 0 {
					dir = ""
				} else {
					dir = strings.TrimSuffix(dir[:i], "/")
				}
			}
		}
		for p, e := range lock.Packages {
			if e.Link || (p != "" && !strings.Contains(p, "node_modules/")) {
				continue
			}
			fromKey := ""
			if p != "" {
				name := e.Name
				if name == "" {
					name = nameOf(p)
				}
				fromKey = name + "@" + e.Version
				setHash(fromKey, e.Integrity)
			}
			for _, m := range []map[string]string{e.Dependencies, e.DevDependencies, e.OptionalDependencies, e.PeerDependencies} {
				for dep := range m {
					if p != "" && m == nil {
						continue
					}
					if t, ok := resolve(p, dep); ok {
						te := lock.Packages[t]
						name := te.Name
						if name == "" {
							name = nameOf(t)
						}
						addEdge(fromKey, name, te.Version)
					}
				}
			}
		}
	} else if lock.Dependencies != nil {
		var walk func(scope []map[string]*npmV1Dep, deps map[string]*npmV1Dep)
		walk = func(scope []map[string]*npmV1Dep, deps map[string]*npmV1Dep) {
			scope = append([]map[string]*npmV1Dep{deps}, scope...)
			for name, d := range deps {
				if d == nil {
					continue
				}
				key := name + "@" + d.Version
				setHash(key, d.Integrity)
				inner := scope
				if d.Dependencies != nil {
					inner = append([]map[string]*npmV1Dep{d.Dependencies}, scope...)
				}
				for req := range d.Requires {
					for _, s := range inner {
						if t, ok := s[req]; ok && t != nil {
							addEdge(key, req, t.Version)
							break
						}
					}
				}
				if d.Dependencies != nil {
					walk(scope, d.Dependencies)
				}
			}
		}
		walk(nil, lock.Dependencies)
		if pj, err := os.ReadFile(filepath.Join(filepath.Dir(file), "package.json")); err == nil {
			var m struct {
				D  map[string]string `json:"dependencies"`
				DD map[string]string `json:"devDependencies"`
				OD map[string]string `json:"optionalDependencies"`
			}
			if json.Unmarshal(pj, &m) == nil {
				for _, mm := range []map[string]string{m.D, m.DD, m.OD} {
					for n := range mm {
						if d, ok := lock.Dependencies[n]; ok && d != nil {
							direct[n+"@"+d.Version] = true
						}
					}
				}
			}
		}
	}
	if len(direct) == 0 {
		return
	}
	for i := range pkgs {
		if direct[pkgs[i].Name+"@"+pkgs[i].Version] {
			pkgs[i].Relation = Direct
		} else {
			pkgs[i].Relation = Transitive
		}
	}
}

// sriHash converts a Subresource Integrity string ("sha512-BASE64") into a
// Hash with a hex value.
func sriHash(s string) (Hash, bool) {
	alg, b64, ok := strings.Cut(strings.Fields(s + " ")[0], "-")
	if !ok {
		return Hash{}, false
	}
	raw, err := decodeB64(b64)
	if err != nil {
		return Hash{}, false
	}
	name := map[string]string{"sha512": "SHA-512", "sha384": "SHA-384", "sha256": "SHA-256", "sha1": "SHA-1"}[alg]
	if name == "" {
		return Hash{}, false
	}
	return Hash{Alg: name, Value: hexString(raw)}, true
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// cargoRelations reads [[package]] dependencies of Cargo.lock: entries are
// "name", "name version" or "name version (source)". Packages without a
// source are the workspace's own; their dependencies are the direct ones.
func cargoRelations(file string, pkgs []Package) {
	var lock struct {
		Package []struct {
			Name         string   `toml:"name"`
			Version      string   `toml:"version"`
			Source       string   `toml:"source"`
			Checksum     string   `toml:"checksum"`
			Dependencies []string `toml:"dependencies"`
		} `toml:"package"`
	}
	if _, err := toml.DecodeFile(file, &lock); err != nil {
		return
	}
	idx := map[string]int{}
	versions := map[string][]string{}
	for i := range pkgs {
		idx[pkgs[i].Name+"@"+pkgs[i].Version] = i
	}
	for _, p := range lock.Package {
		versions[p.Name] = append(versions[p.Name], p.Version)
	}
	direct := map[string]bool{}
	for _, p := range lock.Package {
		from := p.Name + "@" + p.Version
		if i, ok := idx[from]; ok && len(p.Checksum) == 64 {
			pkgs[i].Hashes = []Hash{{Alg: "SHA-256", Value: p.Checksum}}
		}
		for _, d := range p.Dependencies {
			f := strings.Fields(d)
			if len(f) == 0 {
				continue
			}
			v := ""
			if len(f) >= 2 {
				v = f[1]
			} else if len(versions[f[0]]) == 1 {
				v = versions[f[0]][0]
			}
			to := f[0] + "@" + v
			j, ok := idx[to]
			if !ok {
				continue
			}
			if p.Source == "" {
				direct[to] = true
			}
			if i, ok := idx[from]; ok {
				pkgs[i].Deps = appendUnique(pkgs[i].Deps, pkgs[j].ID())
			}
		}
	}
	for i := range pkgs {
		if direct[pkgs[i].Name+"@"+pkgs[i].Version] {
			pkgs[i].Relation = Direct
		} else if len(direct) > 0 {
			pkgs[i].Relation = Transitive
		}
	}
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

func hexString(b []byte) string { return hex.EncodeToString(b) }
