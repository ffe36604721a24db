package inventory

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// pip requirements-file syntax pieces; see
// https://pip.pypa.io/en/stable/reference/requirements-file-format/.
var (
	reqComment          = regexp.MustCompile(`(^|\s+)#.*$`)
	reqUnsupported      = regexp.MustCompile(`\*|<[^=]|,|!=`)
	reqValidName        = regexp.MustCompile(`(?i)^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`)
	reqEnvVar           = regexp.MustCompile(`\$\{[A-Z0-9_]+\}`)
	reqExtras           = regexp.MustCompile(`\[[^\[\]]*\]`)
	reqAfterFirstOption = regexp.MustCompile(`(?:\s+|^)(?:--hash|--global-option|--config-settings|-C).*`)
	reqHashOption       = regexp.MustCompile(`(?:\s+|^)--hash=(\S+)`)
)

// ParseRequirements reads a pip requirements file and the files it
// includes with -r (relative to it; each file once). A requirement pinned
// with ==, ===, >=, <= or ~= gives that version; one with several or
// open-ended constraints gives the name without a version. Lines using
// ${ENV} variables and global options are skipped. These are the rules of
// osv-scalibr's current requirements extractor (the version pinned here
// predates its fixes for dotted names and option parsing).
func ParseRequirements(file string, data []byte) ([]Package, error) {
	seen := map[string]bool{filepath.Clean(file): true}
	pkgs, more := parseRequirementsOne(file, data)
	for len(more) > 0 {
		inc := filepath.Clean(more[0])
		more = more[1:]
		if seen[inc] {
			continue
		}
		seen[inc] = true
		d, err := os.ReadFile(inc)
		if err != nil {
			continue
		}
		p, m := parseRequirementsOne(inc, d)
		pkgs = append(pkgs, p...)
		more = append(more, m...)
	}
	return pkgs, nil
}

func parseRequirementsOne(file string, data []byte) ([]Package, []string) {
	var pkgs []Package
	var includes []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	line := 0
	for sc.Scan() {
		line++
		start := line
		var b strings.Builder
		l := reqComment.ReplaceAllString(sc.Text(), "")
		for strings.HasSuffix(l, `\`) && !reqEnvVar.MatchString(l) {
			b.WriteString(l[:len(l)-1])
			if !sc.Scan() {
				l = ""
				break
			}
			line++
			l = reqComment.ReplaceAllString(sc.Text(), "")
		}
		if reqEnvVar.MatchString(l) || reqEnvVar.MatchString(b.String()) {
			continue
		}
		b.WriteString(l)
		l = b.String()
		l = reqAfterFirstOption.ReplaceAllString(l, "")
		l = strings.TrimSpace(l)
		l = strings.SplitN(l, ";", 2)[0]
		l = reqExtras.ReplaceAllString(l, "")
		if l == "" {
			continue
		}
		if after, ok := strings.CutPrefix(l, "-r"); ok {
			after = strings.TrimSpace(after)
			includes = append(includes, filepath.Join(filepath.Dir(file), after))
		}
		if strings.HasPrefix(l, "-") {
			continue
		}
		name, version, comp := lowestVersion(l)
		if name == "" || (version == "" && comp != "") || !reqValidName.MatchString(name) {
			continue
		}
		pkgs = append(pkgs, Package{Ecosystem: "PyPI", Name: name, Version: version,
			PURL: pypiPURL(name, version), Source: "registry", File: file, Line: start})
	}
	return pkgs, includes
}

func lowestVersion(s string) (name, version, comp string) {
	if reqUnsupported.MatchString(s) {
		for _, sep := range []string{"===", "==", ">=", "<=", "~=", "!=", "<"} {
			s, _, _ = strings.Cut(s, sep)
		}
		return strings.TrimSpace(s), "", ""
	}
	for _, sep := range []string{"===", "==", ">=", "<=", "~="} {
		if a, b, ok := strings.Cut(s, sep); ok {
			return strings.TrimSpace(a), strings.TrimSpace(b), sep
		}
	}
	return strings.TrimSpace(s), "", ""
}

// pypiPURL follows the purl spec: lowercase name, "_" as "-".
func pypiPURL(name, version string) string {
	n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	if version == "" {
		return "pkg:pypi/" + n
	}
	return "pkg:pypi/" + n + "@" + version
}
