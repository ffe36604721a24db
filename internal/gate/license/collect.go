// Package license is the license gate: it finds each locked dependency's
// license where a build leaves it, checks it against a policy, and flags
// packages whose declared license disagrees with the license text they
// ship.
//
// Flow: Collect takes the inventory (internal/inventory) and, for each
// package, looks in the places its ecosystem installs to
// (_build/default/lib/<app> and deps/<app> for Hex, node_modules/<name> for
// npm, vendor/<module> and the Go module cache for Go, vendor/<crate> and
// Cargo's registry sources for crates.io). Declared licenses come from
// package metadata (hex_metadata.config, .app/.app.src, mix.exs,
// package.json, Cargo.toml); license files (LICENSE*, COPYING*, NOTICE is
// not one) are classified to SPDX IDs with github.com/google/licensecheck.
// Check then applies the policy (policy.go).
package license

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/google/licensecheck"
	"github.com/shipgate/shipgate/internal/inventory"
	"golang.org/x/mod/module"
)

// PackageLicense is what was found for one package.
type PackageLicense struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	PURL      string `json:"purl,omitempty"`
	// Declared is the license expression the package's metadata states,
	// normalized to SPDX IDs where recognized.
	Declared string `json:"declared,omitempty"`
	// DeclaredIn is the metadata file it came from.
	DeclaredIn string `json:"declared_in,omitempty"`
	// Detected are the SPDX IDs classified from license files.
	Detected []string `json:"detected,omitempty"`
	// Files are the license files read (relative to the scan root when
	// inside it).
	Files []string `json:"files,omitempty"`
	// Dir is where the installed package was found; "" when not installed.
	Dir string `json:"dir,omitempty"`
	// Disagree is true when a declared license and detected license texts
	// share no license ID.
	Disagree bool `json:"disagree,omitempty"`
	// Lockfile is where the package is locked.
	Lockfile string `json:"lockfile"`
	Line     int    `json:"line,omitempty"`
}

// Expression is the license to judge: the declared one, or the detected
// IDs joined with AND when nothing is declared.
func (p *PackageLicense) Expression() string {
	if p.Declared != "" {
		return p.Declared
	}
	return strings.Join(p.Detected, " AND ")
}

// CollectOptions say where to look.
type CollectOptions struct {
	// Root is the project folder.
	Root string
	// GoModCache is the Go module cache (default: $GOMODCACHE, or
	// $GOPATH/pkg/mod, or ~/go/pkg/mod).
	GoModCache string
	// CargoHome is Cargo's home (default $CARGO_HOME or ~/.cargo).
	CargoHome string
}

// Collect finds license information for every package of the inventory,
// in inventory order, one entry per ecosystem/name/version.
func Collect(inv *inventory.Inventory, o CollectOptions) []PackageLicense {
	if o.GoModCache == "" {
		o.GoModCache = goModCache()
	}
	if o.CargoHome == "" {
		o.CargoHome = os.Getenv("CARGO_HOME")
		if o.CargoHome == "" {
			if h, err := os.UserHomeDir(); err == nil {
				o.CargoHome = filepath.Join(h, ".cargo")
			}
		}
	}
	seen := map[string]bool{}
	var out []PackageLicense
	for _, p := range inv.Packages() {
		if seen[p.ID()] {
			continue
		}
		seen[p.ID()] = true
		pl := PackageLicense{Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version, PURL: p.PURL,
			Lockfile: filepath.ToSlash(filepath.Join(inv.Root, filepath.FromSlash(p.File))), Line: p.Line}
		if p.Ecosystem == "Go" && p.Name == "stdlib" {
			// The Go distribution's license.
			pl.Declared, pl.DeclaredIn = "BSD-3-Clause", "the Go distribution (go.dev/LICENSE)"
			out = append(out, pl)
			continue
		}
		lockDir := filepath.Join(inv.Root, filepath.Dir(filepath.FromSlash(p.File)))
		for _, dir := range candidateDirs(p, lockDir, o) {
			if st, err := os.Stat(dir); err == nil && st.IsDir() {
				pl.Dir = dir
				break
			}
		}
		if pl.Dir != "" {
			readDeclared(&pl, p)
			readLicenseFiles(&pl, o.Root)
			pl.Disagree = disagree(pl.Declared, pl.Detected)
			if rel, err := filepath.Rel(o.Root, pl.Dir); err == nil && !strings.HasPrefix(rel, "..") {
				pl.Dir = filepath.ToSlash(rel)
			}
			if rel, err := filepath.Rel(o.Root, pl.DeclaredIn); err == nil && !strings.HasPrefix(rel, "..") && pl.DeclaredIn != "" {
				pl.DeclaredIn = filepath.ToSlash(rel)
			}
		}
		out = append(out, pl)
	}
	return out
}

func goModCache() string {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return c
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, "go", "pkg", "mod")
	}
	return ""
}

// candidateDirs are the folders where the package may be installed, most
// specific first.
func candidateDirs(p inventory.Package, lockDir string, o CollectOptions) []string {
	app := p.Name
	if p.Alias != "" {
		app = p.Alias
	}
	switch p.Ecosystem {
	case "Hex":
		return []string{
			filepath.Join(lockDir, "_build", "default", "lib", app),
			filepath.Join(lockDir, "_build", "prod", "lib", app),
			filepath.Join(lockDir, "deps", app),
			filepath.Join(lockDir, "_build", "dev", "lib", app),
		}
	case "npm":
		return []string{filepath.Join(lockDir, "node_modules", filepath.FromSlash(p.Name))}
	case "Go":
		dirs := []string{filepath.Join(lockDir, "vendor", filepath.FromSlash(p.Name))}
		if o.GoModCache != "" && p.Version != "" {
			if esc, err := module.EscapePath(p.Name); err == nil {
				if ev, err := module.EscapeVersion("v" + p.Version); err == nil {
					dirs = append(dirs, filepath.Join(o.GoModCache, filepath.FromSlash(esc)+"@"+ev))
				}
			}
		}
		return dirs
	case "crates.io":
		dirs := []string{filepath.Join(lockDir, "vendor", p.Name)}
		if o.CargoHome != "" {
			m, _ := filepath.Glob(filepath.Join(o.CargoHome, "registry", "src", "*", p.Name+"-"+p.Version))
			sort.Strings(m)
			dirs = append(dirs, m...)
		}
		return dirs
	}
	return nil
}

var licenseFileRe = regexp.MustCompile(`(?i)^(un)?licen[sc]e|^copying|^copyright|^mit-license`)

// readLicenseFiles classifies the license files at the top of the package.
func readLicenseFiles(pl *PackageLicense, root string) {
	entries, err := os.ReadDir(pl.Dir)
	if err != nil {
		return
	}
	ids := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() || !licenseFileRe.MatchString(e.Name()) {
			continue
		}
		path := filepath.Join(pl.Dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil || len(data) > 1<<20 {
			continue
		}
		name := path
		if rel, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(rel, "..") {
			name = filepath.ToSlash(rel)
		}
		pl.Files = append(pl.Files, name)
		for _, id := range Classify(data) {
			ids[id] = true
		}
	}
	for id := range ids {
		pl.Detected = append(pl.Detected, id)
	}
	sort.Strings(pl.Detected)
}

// Classify returns the SPDX IDs of the licenses a text contains (matches
// licensecheck finds in a text it covers at least 50%; URLs alone do not
// count).
func Classify(text []byte) []string {
	cov := licensecheck.Scan(text)
	if cov.Percent < 50 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range cov.Match {
		if m.IsURL || seen[m.ID] {
			continue
		}
		seen[m.ID] = true
		out = append(out, m.ID)
	}
	sort.Strings(out)
	return out
}

// readDeclared reads the metadata's declared license.
func readDeclared(pl *PackageLicense, p inventory.Package) {
	set := func(file string, licenses []string) bool {
		var ids []string
		for _, l := range licenses {
			if l = strings.TrimSpace(l); l != "" {
				ids = append(ids, NormalizeID(l))
			}
		}
		if len(ids) == 0 {
			return false
		}
		if len(ids) == 1 {
			pl.Declared = ids[0]
		} else {
			// Hex, .app and package.json "licenses" lists mean a choice.
			pl.Declared = strings.Join(ids, " OR ")
		}
		pl.DeclaredIn = file
		return true
	}
	dir := pl.Dir
	switch p.Ecosystem {
	case "Hex":
		if f := filepath.Join(dir, "hex_metadata.config"); exists(f) {
			if data, err := os.ReadFile(f); err == nil {
				if terms, err := inventory.ParseErlangTerms(f, data); err == nil {
					for _, t := range terms {
						if t.Kind == inventory.TTuple && len(t.Items) == 2 {
							if k, _ := t.Items[0].Text(); k == "licenses" && t.Items[1].Kind == inventory.TList {
								var ls []string
								for _, it := range t.Items[1].Items {
									if s, ok := it.Text(); ok {
										ls = append(ls, s)
									}
								}
								if set(f, ls) {
									return
								}
							}
						}
					}
				}
			}
		}
		app := p.Name
		if p.Alias != "" {
			app = p.Alias
		}
		for _, f := range []string{filepath.Join(dir, "ebin", app+".app"), filepath.Join(dir, "src", app+".app.src")} {
			if data, err := os.ReadFile(f); err == nil {
				if _, _, ls, err := inventory.ParseAppSrc(f, data); err == nil && set(f, ls) {
					return
				}
			}
		}
		if f := filepath.Join(dir, "mix.exs"); exists(f) {
			if data, err := os.ReadFile(f); err == nil {
				if m := mixLicensesRe.FindSubmatch(data); m != nil {
					var ls []string
					for _, q := range quotedRe.FindAllSubmatch(m[1], -1) {
						ls = append(ls, string(q[1]))
					}
					set(f, ls)
				}
			}
		}
	case "npm":
		f := filepath.Join(dir, "package.json")
		data, err := os.ReadFile(f)
		if err != nil {
			return
		}
		var pj struct {
			License  json.RawMessage `json:"license"`
			Licenses []struct {
				Type string `json:"type"`
			} `json:"licenses"`
		}
		if json.Unmarshal(data, &pj) != nil {
			return
		}
		var s string
		var obj struct {
			Type string `json:"type"`
		}
		switch {
		case json.Unmarshal(pj.License, &s) == nil && s != "":
			pl.Declared, pl.DeclaredIn = normalizeExpression(s), f
		case json.Unmarshal(pj.License, &obj) == nil && obj.Type != "":
			set(f, []string{obj.Type})
		default:
			var ls []string
			for _, l := range pj.Licenses {
				ls = append(ls, l.Type)
			}
			set(f, ls)
		}
	case "crates.io":
		f := filepath.Join(dir, "Cargo.toml")
		var ct struct {
			Package struct {
				License string `toml:"license"`
			} `toml:"package"`
		}
		if _, err := toml.DecodeFile(f, &ct); err == nil && ct.Package.License != "" {
			pl.Declared, pl.DeclaredIn = normalizeExpression(strings.ReplaceAll(ct.Package.License, "/", " OR ")), f
		}
	}
}

var (
	mixLicensesRe = regexp.MustCompile(`licenses:\s*\[([^\]]*)\]`)
	quotedRe      = regexp.MustCompile(`"([^"]+)"`)
)

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// aliases maps license names seen in package metadata to SPDX IDs.
var aliases = map[string]string{
	"apache 2.0": "Apache-2.0", "apache-2": "Apache-2.0", "apache 2": "Apache-2.0", "apache2": "Apache-2.0",
	"apache license 2.0": "Apache-2.0", "apache license, version 2.0": "Apache-2.0", "asl 2.0": "Apache-2.0",
	"apache-2.0": "Apache-2.0", "apache license version 2.0": "Apache-2.0",
	"mit": "MIT", "mit license": "MIT", "the mit license": "MIT", "expat": "MIT",
	"bsd": "BSD-3-Clause", "bsd-3": "BSD-3-Clause", "bsd 3-clause": "BSD-3-Clause", "new bsd": "BSD-3-Clause",
	"bsd-2": "BSD-2-Clause", "bsd 2-clause": "BSD-2-Clause", "simplified bsd": "BSD-2-Clause",
	"isc": "ISC", "mpl 2.0": "MPL-2.0", "mpl-2.0": "MPL-2.0", "mozilla public license 2.0": "MPL-2.0",
	"gpl": "GPL-2.0-or-later", "gplv2": "GPL-2.0-only", "gplv3": "GPL-3.0-only", "gpl-2.0": "GPL-2.0-only",
	"gpl-3.0": "GPL-3.0-only", "lgpl": "LGPL-2.1-or-later", "lgpl-2.1": "LGPL-2.1-only", "lgpl-3.0": "LGPL-3.0-only",
	"agpl-3.0": "AGPL-3.0-only", "epl-1.0": "EPL-1.0", "epl-2.0": "EPL-2.0", "erlang public license": "ErlPL-1.1",
	"unlicense": "Unlicense", "wtfpl": "WTFPL", "0bsd": "0BSD", "cc0": "CC0-1.0", "cc0-1.0": "CC0-1.0",
	"zlib": "Zlib", "python-2.0": "Python-2.0", "ruby": "Ruby", "artistic-2.0": "Artistic-2.0",
}

// NormalizeID maps a license name from package metadata to its SPDX ID
// where it is a known alias, else returns it trimmed.
func NormalizeID(s string) string {
	s = strings.TrimSpace(s)
	if id, ok := aliases[strings.ToLower(s)]; ok {
		return id
	}
	return s
}

// normalizeExpression normalizes each ID of an SPDX-like expression.
func normalizeExpression(expr string) string {
	toks := tokenize(expr)
	for i, t := range toks {
		switch strings.ToUpper(t) {
		case "AND", "OR", "WITH", "(", ")":
			toks[i] = strings.ToUpper(t)
		default:
			toks[i] = NormalizeID(t)
		}
	}
	return strings.NewReplacer("( ", "(", " )", ")").Replace(strings.Join(toks, " "))
}

func tokenize(expr string) []string {
	expr = strings.NewReplacer("(", " ( ", ")", " ) ").Replace(expr)
	return strings.Fields(expr)
}

// ids returns the license IDs an expression names (WITH exceptions left out).
func ids(expr string) []string {
	var out []string
	toks := tokenize(expr)
	for i := 0; i < len(toks); i++ {
		switch strings.ToUpper(toks[i]) {
		case "AND", "OR", "(", ")":
		case "WITH":
			i++
		default:
			out = append(out, toks[i])
		}
	}
	return out
}

// disagree reports a declared license that none of the detected texts is.
// "-or-later"/"-only" variants and the "+" suffix count as the same license.
func disagree(declared string, detected []string) bool {
	if declared == "" || len(detected) == 0 {
		return false
	}
	base := func(id string) string {
		id = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(id, "+"), "-or-later"), "-only")
		return strings.ToLower(id)
	}
	for _, d := range ids(declared) {
		for _, t := range detected {
			if base(d) == base(t) {
				return false
			}
		}
	}
	return true
}
