package osv

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// fromMixAudit converts one elixir-security-advisories advisory (the
// YAML that mix_audit reads: id, package, title, description, severity,
// cve, link, disclosure_date, vulnerable_version_ranges,
// first_patched_versions) into a Hex record. The version ranges are Hex
// requirements (">= 2.0.0, < 4.0.1", "~> 1.2", "<= 0.7.2"); they are kept
// for matching and also turned into OSV ECOSYSTEM events where the
// requirement has that shape, so the record exports as plain OSV.
func fromMixAudit(path string, m map[string]any) (*Record, error) {
	str := func(k string) string {
		if s, ok := m[k].(string); ok {
			return strings.TrimSpace(s)
		}
		return ""
	}
	list := func(k string) ([]string, error) {
		switch v := m[k].(type) {
		case nil:
			return nil, nil
		case []any:
			var out []string
			for _, e := range v {
				if e == nil {
					continue
				}
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("%s: %s has a non-text entry", path, k)
				}
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			return out, nil
		case string:
			return []string{v}, nil
		}
		return nil, fmt.Errorf("%s: %s is not a list", path, k)
	}
	r := &Record{ID: str("id"), Summary: str("title"), Details: str("description"), Source: path}
	if r.ID == "" {
		return nil, fmt.Errorf("%s: advisory has no id", path)
	}
	pkg := str("package")
	if pkg == "" {
		return nil, fmt.Errorf("%s: advisory has no package", path)
	}
	if d := str("disclosure_date"); d != "" {
		r.Published = d + "T00:00:00Z"
		r.Modified = r.Published
	}
	if c := str("cve"); c != "" {
		if !strings.HasPrefix(c, "CVE-") {
			c = "CVE-" + c
		}
		r.Aliases = []string{c}
	}
	if l := str("link"); l != "" {
		r.References = []Reference{{Type: "ADVISORY", URL: l}}
	}
	if s := str("severity"); s != "" {
		r.DatabaseSpecific = map[string]any{"severity": strings.ToUpper(s)}
	}
	reqs, err := list("vulnerable_version_ranges")
	if err != nil {
		return nil, err
	}
	patched, err := list("first_patched_versions")
	if err != nil {
		return nil, err
	}
	a := Affected{Package: PackageRef{Ecosystem: "Hex", Name: pkg, PURL: "pkg:hex/" + pkg},
		Requirements: reqs, Patched: patched}
	for _, req := range reqs {
		clauses, err := parseHexRequirement(req)
		if err != nil {
			return nil, fmt.Errorf("%s: vulnerable_version_ranges: %w", path, err)
		}
		if ranges, vers, ok := clausesToEvents(clauses); ok {
			for _, ev := range ranges {
				a.Ranges = append(a.Ranges, Range{Type: "ECOSYSTEM", Events: ev})
			}
			a.Versions = append(a.Versions, vers...)
		}
	}
	r.Affected = []Affected{a}
	return r, nil
}

type hexClause struct{ op, ver string }

var hexClauseRe = regexp.MustCompile(`^(==|=|!=|>=|<=|>|<|~>)?\s*v?([0-9][0-9A-Za-z.+-]*)$`)

// parseHexRequirement reads an Elixir Version requirement: clauses joined
// by "and" or ",", alternatives by "or" or "||". The result is a list of
// alternatives, each a list of clauses that must all hold; "~>" is
// expanded into ">=" and "<".
func parseHexRequirement(req string) ([][]hexClause, error) {
	var alts [][]hexClause
	s := strings.ReplaceAll(req, "||", " or ")
	for _, alt := range strings.Split(s, " or ") {
		var cl []hexClause
		for _, part := range regexp.MustCompile(`,|\band\b`).Split(alt, -1) {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			m := hexClauseRe.FindStringSubmatch(part)
			if m == nil {
				return nil, fmt.Errorf("requirement %q: cannot read %q", req, part)
			}
			op := m[1]
			switch op {
			case "", "=":
				op = "=="
			case "~>":
				nums := strings.Split(strings.SplitN(strings.SplitN(m[2], "-", 2)[0], "+", 2)[0], ".")
				var upper string
				if len(nums) <= 2 {
					n, _ := strconv.Atoi(nums[0])
					upper = strconv.Itoa(n+1) + ".0.0"
				} else {
					n, _ := strconv.Atoi(nums[1])
					upper = nums[0] + "." + strconv.Itoa(n+1) + ".0"
				}
				cl = append(cl, hexClause{">=", m[2]}, hexClause{"<", upper + "-0"})
				continue
			}
			cl = append(cl, hexClause{op, m[2]})
		}
		if len(cl) == 0 {
			return nil, fmt.Errorf("requirement %q is empty", req)
		}
		alts = append(alts, cl)
	}
	return alts, nil
}

// hexRequirementMatch reports whether version meets the requirement.
func hexRequirementMatch(req, version string) bool {
	alts, err := parseHexRequirement(req)
	if err != nil {
		return false
	}
	v := semantic.ParseSemverVersion(version)
	for _, cl := range alts {
		ok := true
		for _, c := range cl {
			cmp, err := v.CompareStr(c.ver)
			if err != nil {
				ok = false
				break
			}
			switch c.op {
			case "==":
				ok = cmp == 0
			case "!=":
				ok = cmp != 0
			case ">":
				ok = cmp > 0
			case ">=":
				ok = cmp >= 0
			case "<":
				ok = cmp < 0
			case "<=":
				ok = cmp <= 0
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// clausesToEvents turns requirement alternatives into OSV events (or
// exact versions) when each has the shape [>= A] [< B | <= B] or == X.
func clausesToEvents(alts [][]hexClause) (ranges [][]Event, versions []string, ok bool) {
	for _, cl := range alts {
		if len(cl) == 1 && cl[0].op == "==" {
			versions = append(versions, cl[0].ver)
			continue
		}
		intro, end := "0", Event{}
		for _, c := range cl {
			switch c.op {
			case ">=":
				intro = c.ver
			case "<":
				end = Event{Fixed: strings.TrimSuffix(c.ver, "-0")}
			case "<=":
				end = Event{LastAffected: c.ver}
			default:
				return nil, nil, false
			}
		}
		events := []Event{{Introduced: intro}}
		if end != (Event{}) {
			events = append(events, end)
		}
		ranges = append(ranges, events)
	}
	return ranges, versions, true
}

// HexRequirementMatch reports whether version meets an Elixir/Hex version
// requirement ("~> 1.2", ">= 1.0.0 and < 2.0.0", "== 1.2.3"); ok is false
// when the requirement cannot be read.
func HexRequirementMatch(req, version string) (match, ok bool) {
	if _, err := parseHexRequirement(req); err != nil {
		return false, false
	}
	return hexRequirementMatch(req, version), true
}
