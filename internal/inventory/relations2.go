package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/goccy/go-yaml"
)

// pnpmKey splits a pnpm package key ("/name@1.2.3", "name@1.2.3(peer@1)",
// "@scope/name@1.2.3_peer@1" in v5) into name and version.
func pnpmKey(k string) (string, string) {
	k = strings.TrimPrefix(k, "/")
	if i := strings.Index(k, "("); i > 0 {
		k = k[:i]
	}
	at := strings.LastIndex(k, "@")
	if at <= 0 {
		return "", ""
	}
	name, ver := k[:at], k[at+1:]
	if i := strings.Index(ver, "_"); i > 0 {
		ver = ver[:i]
	}
	return name, ver
}

// pnpmVersion strips the peer-dependency suffix of a resolved version.
func pnpmVersion(v string) string {
	if i := strings.IndexAny(v, "(_"); i > 0 {
		v = v[:i]
	}
	return v
}

// pnpmRelations reads edges (snapshots in v9, packages before), direct
// dependencies (importers, or the v5/v6 root dependencies) and integrity
// hashes from pnpm-lock.yaml.
func pnpmRelations(file string, pkgs []Package) {
	data, err := os.ReadFile(file)
	if err != nil {
		return
	}
	var lock struct {
		Importers            map[string]map[string]any `yaml:"importers"`
		Dependencies         map[string]any            `yaml:"dependencies"`
		DevDependencies      map[string]any            `yaml:"devDependencies"`
		OptionalDependencies map[string]any            `yaml:"optionalDependencies"`
		Packages             map[string]map[string]any `yaml:"packages"`
		Snapshots            map[string]map[string]any `yaml:"snapshots"`
	}
	if yaml.Unmarshal(data, &lock) != nil {
		return
	}
	idx := map[string]int{}
	for i := range pkgs {
		idx[pkgs[i].Name+"@"+pkgs[i].Version] = i
	}
	direct := map[string]bool{}
	addDirect := func(deps any) {
		m, _ := deps.(map[string]any)
		for name, v := range m {
			ver := ""
			switch x := v.(type) {
			case map[string]any:
				ver = fmt.Sprint(x["version"])
			default:
				ver = fmt.Sprint(x)
			}
			direct[name+"@"+pnpmVersion(ver)] = true
		}
	}
	for _, imp := range lock.Importers {
		for _, g := range []string{"dependencies", "devDependencies", "optionalDependencies"} {
			addDirect(imp[g])
		}
	}
	addDirect(lock.Dependencies)
	addDirect(lock.DevDependencies)
	addDirect(lock.OptionalDependencies)
	for key, p := range lock.Packages {
		name, ver := pnpmKey(key)
		i, ok := idx[name+"@"+ver]
		if !ok {
			continue
		}
		if res, ok := p["resolution"].(map[string]any); ok && len(pkgs[i].Hashes) == 0 {
			if s, ok := res["integrity"].(string); ok {
				if h, ok := sriHash(s); ok {
					pkgs[i].Hashes = []Hash{h}
				}
			}
		}
	}
	graph := lock.Snapshots
	if graph == nil {
		graph = lock.Packages
	}
	for key, p := range graph {
		name, ver := pnpmKey(key)
		i, ok := idx[name+"@"+ver]
		if !ok {
			continue
		}
		for _, g := range []string{"dependencies", "optionalDependencies"} {
			m, _ := p[g].(map[string]any)
			for dep, v := range m {
				dv := pnpmVersion(fmt.Sprint(v))
				if strings.HasPrefix(dv, "/") || strings.Contains(dv, "@") {
					dep, dv = pnpmKey(dv)
				}
				if j, ok := idx[dep+"@"+dv]; ok {
					pkgs[i].Deps = appendUnique(pkgs[i].Deps, pkgs[j].ID())
				}
			}
		}
	}
	setRelations(pkgs, direct)
}

func setRelations(pkgs []Package, direct map[string]bool) {
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

var pep508Name = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)`)

func pypiNorm(s string) string {
	return strings.ToLower(regexp.MustCompile(`[-_.]+`).ReplaceAllString(s, "-"))
}

// poetryRelations reads [package.dependencies] edges from poetry.lock and
// the direct dependencies from the pyproject.toml beside it (Poetry's
// [tool.poetry.*dependencies] tables or PEP 621 [project] lists).
func poetryRelations(file string, pkgs []Package) {
	var lock struct {
		Package []struct {
			Name         string         `toml:"name"`
			Version      string         `toml:"version"`
			Dependencies map[string]any `toml:"dependencies"`
		} `toml:"package"`
	}
	if _, err := toml.DecodeFile(file, &lock); err != nil {
		return
	}
	byName := map[string]int{}
	for i := range pkgs {
		byName[pypiNorm(pkgs[i].Name)] = i
	}
	for _, lp := range lock.Package {
		i, ok := byName[pypiNorm(lp.Name)]
		if !ok || pkgs[i].Version != lp.Version {
			continue
		}
		for dep := range lp.Dependencies {
			if j, ok := byName[pypiNorm(dep)]; ok {
				pkgs[i].Deps = appendUnique(pkgs[i].Deps, pkgs[j].ID())
			}
		}
	}
	var pp struct {
		Project struct {
			Dependencies         []string            `toml:"dependencies"`
			OptionalDependencies map[string][]string `toml:"optional-dependencies"`
		} `toml:"project"`
		DependencyGroups map[string][]any `toml:"dependency-groups"`
		Tool             struct {
			Poetry struct {
				Dependencies    map[string]any `toml:"dependencies"`
				DevDependencies map[string]any `toml:"dev-dependencies"`
				Group           map[string]struct {
					Dependencies map[string]any `toml:"dependencies"`
				} `toml:"group"`
			} `toml:"poetry"`
		} `toml:"tool"`
	}
	if _, err := toml.DecodeFile(filepath.Join(filepath.Dir(file), "pyproject.toml"), &pp); err != nil {
		return
	}
	names := map[string]bool{}
	for n := range pp.Tool.Poetry.Dependencies {
		names[pypiNorm(n)] = true
	}
	for n := range pp.Tool.Poetry.DevDependencies {
		names[pypiNorm(n)] = true
	}
	for _, g := range pp.Tool.Poetry.Group {
		for n := range g.Dependencies {
			names[pypiNorm(n)] = true
		}
	}
	reqs := append([]string{}, pp.Project.Dependencies...)
	for _, l := range pp.Project.OptionalDependencies {
		reqs = append(reqs, l...)
	}
	for _, g := range pp.DependencyGroups {
		for _, r := range g {
			if s, ok := r.(string); ok {
				reqs = append(reqs, s)
			}
		}
	}
	for _, r := range reqs {
		if m := pep508Name.FindStringSubmatch(r); m != nil {
			names[pypiNorm(m[1])] = true
		}
	}
	delete(names, "python")
	if len(names) == 0 {
		return
	}
	for i := range pkgs {
		if names[pypiNorm(pkgs[i].Name)] {
			pkgs[i].Relation = Direct
		} else {
			pkgs[i].Relation = Transitive
		}
	}
}
