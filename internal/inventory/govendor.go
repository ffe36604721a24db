package inventory

import (
	"bufio"
	"bytes"
	"strings"

	"golang.org/x/mod/module"
)

// ParseGoVendorModules reads vendor/modules.txt, the list `go mod vendor`
// writes: "# module version [=> replacement [version]]" headers followed by
// the vendored package paths. A module counts once it has at least one
// vendored package; a replacement by another module takes the
// replacement's identity, a replacement by a local directory keeps the
// original's. (The same rules as osv-scalibr's vendormodules extractor,
// which the pinned scalibr version does not have yet.)
func ParseGoVendorModules(file string, data []byte) ([]Package, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	seen := map[string]bool{}
	var pkgs []Package
	var pending *Package
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(text, "# ") {
			pending = nil
			if name, version, ok := vendorHeader(text); ok {
				pending = &Package{Ecosystem: "Go", Name: name, Version: version, Line: line, File: file,
					Source: "registry", PURL: goPURL(name, version)}
			}
			continue
		}
		if pending == nil || text == "" || strings.HasPrefix(text, "#") || module.CheckImportPath(text) != nil {
			continue
		}
		if k := pending.Name + "@" + pending.Version; !seen[k] {
			seen[k] = true
			pkgs = append(pkgs, *pending)
		}
		pending = nil
	}
	if err := sc.Err(); err != nil {
		return nil, errAt(file, Pos{1, 1}, "%v", err)
	}
	sortPackages(pkgs)
	return pkgs, nil
}

func vendorHeader(line string) (string, string, bool) {
	f := strings.Fields(strings.TrimPrefix(line, "#"))
	if len(f) < 2 {
		return "", "", false
	}
	arrow := -1
	for i, x := range f {
		if x == "=>" {
			arrow = i
		}
	}
	if arrow < 0 {
		return vendorModule(f)
	}
	if n, v, ok := vendorModule(f[arrow+1:]); ok {
		return n, v, true
	}
	if r := f[arrow+1:]; len(r) == 1 && (strings.HasPrefix(r[0], "./") || strings.HasPrefix(r[0], "../") || strings.HasPrefix(r[0], "/")) {
		return vendorModule(f[:arrow])
	}
	return "", "", false
}

func vendorModule(f []string) (string, string, bool) {
	if len(f) != 2 || module.Check(f[0], f[1]) != nil {
		return "", "", false
	}
	return f[0], strings.TrimPrefix(f[1], "v"), true
}

func goPURL(name, version string) string {
	s := "pkg:golang/" + name
	if version != "" {
		s += "@v" + version
	}
	return s
}
