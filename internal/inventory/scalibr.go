package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dart/pubspec"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/packageslockjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gomod"
	"github.com/google/osv-scalibr/extractor/filesystem/language/haskell/stacklock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/java/gradlelockfile"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/bunlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagelockjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/pnpmlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/yarnlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/php/composerlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/pdmlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/pipfilelock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/poetrylock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/uvlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/r/renvlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/ruby/gemfilelock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargolock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/swift/packageresolved"
	scalibrfs "github.com/google/osv-scalibr/fs"

	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
)

// scalibrExtractors maps each kind osv-scalibr reads to its extractor's
// constructor.
var scalibrExtractors = map[Kind]func(*cpb.PluginConfig) (filesystem.Extractor, error){
	GoMod:           gomod.New,
	PackageLockJSON: packagelockjson.New,
	YarnLock:        yarnlock.New,
	PnpmLock:        pnpmlock.New,
	BunLock:         bunlock.New,
	CargoLock:       cargolock.New,
	PoetryLock:      poetrylock.New,
	PipfileLock:     pipfilelock.New,
	PdmLock:         pdmlock.New,
	UvLock:          uvlock.New,
	GemfileLock:     gemfilelock.New,
	ComposerLock:    composerlock.New,
	GradleLock:      gradlelockfile.New,
	PubspecLock:     pubspec.New,
	NugetLock:       packageslockjson.New,
	SwiftResolved:   packageresolved.New,
	RenvLock:        renvlock.New,
	StackLock:       stacklock.New,
}

// parseWithScalibr runs the osv-scalibr extractor for k on one file, with
// the file's directory as the scan root (extractors that read a sibling,
// like go.mod's go.sum, find it there).
func parseWithScalibr(k Kind, path string) (pkgs []Package, err error) {
	newEx, ok := scalibrExtractors[k]
	if !ok {
		return nil, fmt.Errorf("%s: no reader for lockfile kind %q", path, k)
	}
	defer func() {
		if r := recover(); r != nil {
			pkgs, err = nil, fmt.Errorf("%s: %s reader failed: %v", path, k, r)
		}
	}()
	ex, err := newEx(&cpb.PluginConfig{})
	if err != nil {
		return nil, err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	inv, err := ex.Extract(context.Background(), &filesystem.ScanInput{
		FS: scalibrfs.DirFS(dir), Path: base, Root: dir, Info: info, Reader: f,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, sp := range inv.Packages {
		pkgs = append(pkgs, fromScalibr(sp, path))
	}
	sortPackages(pkgs)
	return pkgs, nil
}

type depGrouper interface{ DepGroups() []string }

func fromScalibr(sp *extractor.Package, path string) Package {
	p := Package{Name: sp.Name, Version: sp.Version, File: path, Source: "registry"}
	p.Ecosystem = sp.Ecosystem().String()
	if u := sp.PURL(); u != nil {
		p.PURL = u.String()
	}
	if sp.SourceCode != nil && sp.SourceCode.Commit != "" {
		p.Source = "git"
		p.Ref = sp.SourceCode.Commit
		p.Repo = sp.SourceCode.Repo
	}
	if g, ok := sp.Metadata.(depGrouper); ok {
		groups := g.DepGroups()
		sort.Strings(groups)
		for _, grp := range groups {
			if grp == "dev" {
				p.Dev = true
			}
		}
	}
	return p
}

// swiftURLNames renames Package.resolved packages to their repository URL
// without scheme and ".git" (github.com/apple/swift-nio), the package names
// of OSV's SwiftURL ecosystem. The pinned scalibr reader uses the short
// identity instead.
func swiftURLNames(data []byte, pkgs []Package) {
	var r struct {
		Pins []struct {
			Identity string `json:"identity"`
			Package  string `json:"package"`
			Location string `json:"location"`
			URL      string `json:"repositoryURL"`
		} `json:"pins"`
		Object struct {
			Pins []struct {
				Package string `json:"package"`
				URL     string `json:"repositoryURL"`
			} `json:"pins"`
		} `json:"object"`
	}
	if json.Unmarshal(data, &r) != nil {
		return
	}
	urls := map[string]string{}
	for _, p := range r.Pins {
		u := p.Location
		if u == "" {
			u = p.URL
		}
		for _, n := range []string{p.Identity, p.Package} {
			if n != "" {
				urls[n] = u
			}
		}
	}
	for _, p := range r.Object.Pins {
		urls[p.Package] = p.URL
	}
	for i := range pkgs {
		u, ok := urls[pkgs[i].Name]
		if !ok || u == "" {
			continue
		}
		if j := strings.Index(u, "://"); j >= 0 {
			u = u[j+3:]
		}
		u = strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git")
		pkgs[i].Name = u
		pkgs[i].Ecosystem = "SwiftURL"
		pkgs[i].PURL = "pkg:swift/" + u + "@" + pkgs[i].Version
	}
}
