// Package inventory turns lockfiles into a list of packages: ecosystem,
// name, version, package URL, whether each is a direct or transitive
// dependency, and the dependency edges where the lockfile records them.
//
// The flow: Scan walks a tree and picks lockfiles by name (Detect); ParseFile
// reads one lockfile with the parser for its Kind. Most kinds are read by
// github.com/google/osv-scalibr's extractors (scalibr.go); rebar.lock,
// rebar.config, mix.lock and vendor/modules.txt are read by our own Erlang/Elixir term readers
// (erlterm.go, exterm.go), which keep positions, hashes and edges that the
// line-based readers lose. A post-pass (relations.go) marks direct
// dependencies from the manifest beside the lockfile where the lockfile
// alone cannot tell.
package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Relation says how a package reaches the project.
type Relation string

// Relations.
const (
	Direct     Relation = "direct"
	Transitive Relation = "transitive"
	Unknown    Relation = ""
)

// Hash is a content digest recorded by a lockfile.
type Hash struct {
	Alg   string `json:"alg"` // "SHA-256", "SHA-512", "SHA-1"
	Value string `json:"value"`
}

// Package is one locked dependency.
type Package struct {
	// Ecosystem is the OSV ecosystem name: Hex, Go, npm, PyPI, crates.io,
	// RubyGems, Packagist, Maven, NuGet, Pub, SwiftURL, CRAN, Hackage.
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	// Alias is the name the lockfile keys the package by when that differs
	// from the package name (an OTP application name in rebar.lock and
	// mix.lock).
	Alias    string   `json:"alias,omitempty"`
	Version  string   `json:"version,omitempty"`
	PURL     string   `json:"purl,omitempty"`
	Relation Relation `json:"relation,omitempty"`
	// Dev is true for development-only dependencies where the lockfile says so.
	Dev bool `json:"dev,omitempty"`
	// Source is "registry", "git" or "path".
	Source string `json:"source,omitempty"`
	// Repo and Ref locate a git dependency.
	Repo string `json:"repo,omitempty"`
	Ref  string `json:"ref,omitempty"`
	// Hashes are the digests the lockfile records.
	Hashes []Hash `json:"hashes,omitempty"`
	// Deps are the IDs (see ID) of the packages this one depends on.
	Deps []string `json:"deps,omitempty"`
	// File is the lockfile, relative to the scan root; Line is where the
	// package is declared (0 when unknown).
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
}

// ID identifies a package within an inventory: ecosystem/name@version.
func (p *Package) ID() string { return p.Ecosystem + "/" + p.Name + "@" + p.Version }

// Kind names a lockfile format.
type Kind string

// The lockfile kinds we read.
const (
	RebarLock       Kind = "rebar.lock"
	RebarConfig     Kind = "rebar.config"
	MixLock         Kind = "mix.lock"
	GoMod           Kind = "go.mod"
	GoVendor        Kind = "vendor/modules.txt"
	PackageLockJSON Kind = "package-lock.json"
	YarnLock        Kind = "yarn.lock"
	PnpmLock        Kind = "pnpm-lock.yaml"
	BunLock         Kind = "bun.lock"
	CargoLock       Kind = "Cargo.lock"
	Requirements    Kind = "requirements.txt"
	PoetryLock      Kind = "poetry.lock"
	PipfileLock     Kind = "Pipfile.lock"
	PdmLock         Kind = "pdm.lock"
	UvLock          Kind = "uv.lock"
	GemfileLock     Kind = "Gemfile.lock"
	ComposerLock    Kind = "composer.lock"
	GradleLock      Kind = "gradle.lockfile"
	PubspecLock     Kind = "pubspec.lock"
	NugetLock       Kind = "packages.lock.json"
	SwiftResolved   Kind = "Package.resolved"
	RenvLock        Kind = "renv.lock"
	StackLock       Kind = "stack.yaml.lock"
)

// Kinds lists every kind, in a stable order.
var Kinds = []Kind{RebarLock, RebarConfig, MixLock, GoMod, GoVendor, PackageLockJSON,
	YarnLock, PnpmLock, BunLock, CargoLock, Requirements, PoetryLock, PipfileLock,
	PdmLock, UvLock, GemfileLock, ComposerLock, GradleLock, PubspecLock, NugetLock,
	SwiftResolved, RenvLock, StackLock}

// Detect returns the kind of lockfile a path names, or "" when it is none.
func Detect(path string) Kind {
	base := filepath.Base(path)
	switch base {
	case "rebar.lock":
		return RebarLock
	case "rebar.config":
		return RebarConfig
	case "mix.lock":
		return MixLock
	case "go.mod":
		return GoMod
	case "package-lock.json", "npm-shrinkwrap.json":
		return PackageLockJSON
	case "yarn.lock":
		return YarnLock
	case "pnpm-lock.yaml":
		return PnpmLock
	case "bun.lock":
		return BunLock
	case "Cargo.lock":
		return CargoLock
	case "poetry.lock":
		return PoetryLock
	case "Pipfile.lock":
		return PipfileLock
	case "pdm.lock":
		return PdmLock
	case "uv.lock":
		return UvLock
	case "Gemfile.lock", "gems.locked":
		return GemfileLock
	case "composer.lock":
		return ComposerLock
	case "gradle.lockfile":
		return GradleLock
	case "pubspec.lock":
		return PubspecLock
	case "packages.lock.json":
		return NugetLock
	case "Package.resolved":
		return SwiftResolved
	case "renv.lock":
		return RenvLock
	case "stack.yaml.lock":
		return StackLock
	case "modules.txt":
		if filepath.Base(filepath.Dir(path)) == "vendor" {
			return GoVendor
		}
	}
	if strings.HasSuffix(base, ".txt") && strings.Contains(base, "requirements") {
		return Requirements
	}
	return ""
}

// Lockfile is one parsed lockfile.
type Lockfile struct {
	Path     string    `json:"path"`
	Kind     Kind      `json:"kind"`
	Packages []Package `json:"packages"`
}

// Inventory is every lockfile found under a root.
type Inventory struct {
	Root      string     `json:"root"`
	Lockfiles []Lockfile `json:"lockfiles"`
}

// Packages returns every package of every lockfile, in lockfile order.
func (inv *Inventory) Packages() []Package {
	var out []Package
	for _, lf := range inv.Lockfiles {
		out = append(out, lf.Packages...)
	}
	return out
}

// skipDirs are directories a scan never enters: build outputs and
// installed dependency trees (their own lockfiles are not the project's).
var skipDirs = map[string]bool{
	".git": true, "node_modules": true, "_build": true, "deps": true,
	"vendor": true, ".shipgate": true, "target": true, ".venv": true,
}

// Scan finds lockfiles under root (or reads root itself when it is a file)
// and parses each. An unreadable lockfile does not stop the scan: the
// error (every one, joined) is returned with the inventory of the rest. A rebar.config is read only where no rebar.lock sits
// beside it, and vendor/modules.txt only where no go.mod does.
func Scan(root string) (*Inventory, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	inv := &Inventory{Root: root}
	var paths []string
	if !st.IsDir() {
		if Detect(root) == "" {
			return nil, fmt.Errorf("%s: not a lockfile this reader knows (by its name)", root)
		}
		paths = []string{root}
		inv.Root = filepath.Dir(root)
	} else {
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && skipDirs[d.Name()] {
					if d.Name() == "vendor" {
						if _, e := os.Stat(filepath.Join(p, "modules.txt")); e == nil {
							paths = append(paths, filepath.Join(p, "modules.txt"))
						}
					}
					return filepath.SkipDir
				}
				return nil
			}
			if Detect(p) != "" {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(paths)
	var errs []error
	for _, p := range paths {
		k := Detect(p)
		dir := filepath.Dir(p)
		if k == RebarConfig && exists(filepath.Join(dir, "rebar.lock")) {
			continue
		}
		if k == GoVendor && exists(filepath.Join(filepath.Dir(dir), "go.mod")) {
			continue
		}
		pkgs, err := ParseFile(k, p)
		if err != nil {
			// Keep going: report every unreadable lockfile at once.
			errs = append(errs, err)
			continue
		}
		rel, _ := filepath.Rel(inv.Root, p)
		if rel == "" {
			rel = p
		}
		for i := range pkgs {
			pkgs[i].File = filepath.ToSlash(rel)
		}
		inv.Lockfiles = append(inv.Lockfiles, Lockfile{Path: filepath.ToSlash(rel), Kind: k, Packages: pkgs})
	}
	return inv, errors.Join(errs...)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ParseFile reads one lockfile of the given kind. Packages keep the order
// of the file where the format has one, and are otherwise sorted by name
// and version. Errors carry file:line:col where the format gives one.
func ParseFile(k Kind, path string) ([]Package, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	switch k {
	case RebarLock:
		pkgs, err = ParseRebarLock(path, data)
	case RebarConfig:
		var deps []ManifestDep
		deps, err = ParseRebarConfigDeps(path, data)
		for _, d := range deps {
			if d.Version == "" || d.Source != "registry" {
				continue
			}
			pkgs = append(pkgs, Package{Ecosystem: "Hex", Name: d.Name, Version: d.Version,
				PURL: hexPURL(d.Name, d.Version), Relation: Direct, Source: "registry", File: path, Line: d.Line})
		}
	case MixLock:
		pkgs, err = ParseMixLock(path, data)
	case GoVendor:
		pkgs, err = ParseGoVendorModules(path, data)
	case Requirements:
		pkgs, err = ParseRequirements(path, data)
	case PipfileLock:
		// An empty Pipfile.lock locks nothing (the pinned scalibr reader
		// calls it an error; its current version does not).
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, nil
		}
		pkgs, err = parseWithScalibr(k, path)
	case SwiftResolved:
		pkgs, err = parseWithScalibr(k, path)
		if err == nil {
			swiftURLNames(data, pkgs)
		}
	default:
		pkgs, err = parseWithScalibr(k, path)
	}
	if err != nil {
		return pkgs, err
	}
	markRelations(k, path, pkgs)
	for i := range pkgs {
		if pkgs[i].File == "" {
			pkgs[i].File = path
		}
		sort.Strings(pkgs[i].Deps)
	}
	return pkgs, nil
}

func hexPURL(name, version string) string {
	if version == "" {
		return "pkg:hex/" + name
	}
	return "pkg:hex/" + name + "@" + version
}

func errAt(file string, p Pos, format string, args ...any) error {
	return &SyntaxError{File: file, Pos: p, Msg: fmt.Sprintf(format, args...)}
}
