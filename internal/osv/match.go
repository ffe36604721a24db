package osv

import (
	"sort"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// Vuln is one vulnerability affecting a package version: the records that
// matched and alias each other, merged.
type Vuln struct {
	// ID is the representative ID: the first matched record ID that is not a
	// CVE, in sorted order.
	ID string `json:"id"`
	// IDs are the IDs of every matched record of the group.
	IDs []string `json:"ids"`
	// Aliases are all other IDs the records name (CVE, GHSA...).
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
	// Severity is the highest CVSS base score computed from the records'
	// vectors, with its vector; DeclaredSeverity the database's label.
	Score            float64 `json:"score,omitempty"`
	Vector           string  `json:"vector,omitempty"`
	Rating           string  `json:"rating,omitempty"`
	DeclaredSeverity string  `json:"declared_severity,omitempty"`
	// Fixed is the lowest version that fixes every matched record, "" when
	// none is known.
	Fixed string `json:"fixed,omitempty"`
	// Records are the matched records.
	Records []*Record `json:"-"`
}

// Match returns the vulnerabilities affecting name@version in ecosystem,
// sorted by ID. Withdrawn records never match; a package without a version
// matches nothing.
func (db *DB) Match(ecosystem, name, version string) []Vuln {
	if version == "" || db == nil {
		return nil
	}
	eco := baseEcosystem(ecosystem)
	type hit struct {
		r     *Record
		fixed string
	}
	var hits []hit
	for _, r := range db.byPkg[pkgKey(eco, name)] {
		if r.IsWithdrawn() {
			continue
		}
		matched, fixed := false, ""
		for _, a := range r.Affected {
			if baseEcosystem(a.Package.Ecosystem) != eco || !sameRelease(ecosystem, a.Package.Ecosystem) ||
				NormalizeName(eco, a.Package.Name) != NormalizeName(eco, name) {
				continue
			}
			if ok, f := Affects(eco, a, version); ok {
				matched = true
				fixed = maxVersion(eco, fixed, f)
			}
		}
		if matched {
			hits = append(hits, hit{r, fixed})
		}
	}
	// Merge records that share an ID or alias (union-find over IDs).
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if p, ok := parent[x]; ok && p != x {
			r := find(p)
			parent[x] = r
			return r
		}
		parent[x] = x
		return x
	}
	for _, h := range hits {
		root := find(h.r.ID)
		for _, a := range h.r.Aliases {
			ra := find(a)
			if ra != root {
				parent[ra] = root
			}
		}
	}
	groups := map[string]*Vuln{}
	unfixed := map[string]bool{}
	var order []string
	for _, h := range hits {
		root := find(h.r.ID)
		v, ok := groups[root]
		if !ok {
			v = &Vuln{}
			groups[root] = v
			order = append(order, root)
		}
		v.Records = append(v.Records, h.r)
		v.IDs = append(v.IDs, h.r.ID)
		v.Aliases = append(v.Aliases, h.r.Aliases...)
		if h.fixed == "" {
			// A record without a known fix leaves the group without one.
			unfixed[root] = true
		}
		v.Fixed = maxVersion(eco, v.Fixed, h.fixed)
	}
	var out []Vuln
	for _, root := range order {
		v := groups[root]
		if unfixed[root] {
			v.Fixed = ""
		}
		v.IDs = sortedUnique(v.IDs)
		all := map[string]bool{}
		for _, id := range v.IDs {
			all[id] = true
		}
		var aliases []string
		for _, a := range v.Aliases {
			if !all[a] {
				aliases = append(aliases, a)
			}
		}
		v.Aliases = sortedUnique(aliases)
		v.ID = v.IDs[0]
		for _, id := range v.IDs {
			if !strings.HasPrefix(id, "CVE-") {
				v.ID = id
				break
			}
		}
		sort.Slice(v.Records, func(i, j int) bool { return v.Records[i].ID < v.Records[j].ID })
		for _, r := range v.Records {
			if v.Summary == "" {
				v.Summary = r.Summary
			}
			if s := r.DeclaredSeverity(); s != "" && v.DeclaredSeverity == "" {
				v.DeclaredSeverity = s
			}
			for _, sev := range r.Severity {
				if score, rating, err := BaseScore(sev.Score); err == nil && score > v.Score {
					v.Score, v.Rating, v.Vector = score, rating, sev.Score
				}
			}
		}
		if v.Rating == "" && v.DeclaredSeverity != "" {
			v.Rating = strings.ToUpper(v.DeclaredSeverity)
			if v.Rating == "MODERATE" {
				v.Rating = "MEDIUM"
			}
		}
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Affects reports whether version is affected by a, and the version that
// fixes it ("" when none is recorded), following the OSV schema's
// evaluation: exact versions, then each SEMVER or ECOSYSTEM range's events
// in version order (GIT ranges need commits and are not evaluated here).
func Affects(ecosystem string, a Affected, version string) (bool, string) {
	eco := baseEcosystem(ecosystem)
	affected := false
	for _, v := range a.Versions {
		if v == version {
			affected = true
		}
	}
	for _, req := range a.Requirements {
		if hexRequirementMatch(req, version) {
			affected = true
		}
	}
	fixed := ""
	if len(a.Requirements) > 0 {
		// Advisories of this format list their patched versions.
		if affected {
			for _, p := range a.Patched {
				if c, ok := compare(eco, p, version); ok && c > 0 {
					if fixed == "" {
						fixed = p
					} else if c2, ok := compare(eco, p, fixed); ok && c2 < 0 {
						fixed = p
					}
				}
			}
		}
		return affected, fixed
	}
	for _, rg := range a.Ranges {
		if rg.Type != "SEMVER" && rg.Type != "ECOSYSTEM" {
			continue
		}
		parseEco := eco
		if rg.Type == "SEMVER" {
			parseEco = "SEMVER"
		}
		in, f := inRange(parseEco, rg.Events, version)
		if in {
			affected = true
			fixed = maxVersion(eco, fixed, f)
		}
	}
	return affected, fixed
}

func inRange(eco string, events []Event, version string) (bool, string) {
	type pt struct {
		v    string
		kind int // 0 introduced, 1 fixed, 2 last_affected
	}
	var pts []pt
	for _, e := range events {
		switch {
		case e.Introduced != "":
			pts = append(pts, pt{e.Introduced, 0})
		case e.Fixed != "":
			pts = append(pts, pt{e.Fixed, 1})
		case e.LastAffected != "":
			pts = append(pts, pt{e.LastAffected, 2})
		}
	}
	sort.SliceStable(pts, func(i, j int) bool {
		if pts[i].v == "0" || pts[j].v == "0" {
			return pts[i].v == "0" && pts[j].v != "0"
		}
		c, ok := compare(eco, pts[i].v, pts[j].v)
		return ok && c < 0
	})
	affected := false
	fixed := ""
	for _, p := range pts {
		switch p.kind {
		case 0:
			if p.v == "0" {
				affected = true
			} else if c, ok := compare(eco, version, p.v); ok && c >= 0 {
				affected = true
			}
		case 1:
			if c, ok := compare(eco, version, p.v); ok && c >= 0 {
				affected = false
			} else if affected && fixed == "" {
				fixed = p.v
			}
		case 2:
			if c, ok := compare(eco, version, p.v); ok && c > 0 {
				affected = false
			}
		}
		if !affected {
			fixed = ""
		}
	}
	if !affected {
		return false, ""
	}
	return true, fixed
}

// compare compares two versions with the ecosystem's rules; ok is false
// when either does not parse.
func compare(eco, a, b string) (int, bool) {
	if eco == "SEMVER" {
		c, err := semantic.ParseSemverVersion(a).CompareStr(b)
		return c, err == nil
	}
	va, err := semantic.Parse(a, eco)
	if err != nil {
		return 0, false
	}
	c, err := va.CompareStr(b)
	return c, err == nil
}

// Compare compares two versions of an ecosystem: -1, 0 or +1; ok is false
// when the ecosystem is unknown or a version does not parse.
func Compare(ecosystem, a, b string) (int, bool) { return compare(baseEcosystem(ecosystem), a, b) }

func maxVersion(eco, a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	if c, ok := compare(eco, a, b); ok && c < 0 {
		return b
	}
	return a
}

// sameRelease: when both the package's ecosystem and the record's entry name
// a release ("Debian:12", "Alpine:v3.20", "Ubuntu:22.04:LTS"), they must be
// the same release, or a bookworm package would be told to move to trixie's
// fixed version. Either side without a release matches any.
func sameRelease(pkg, entry string) bool {
	_, pr, ok1 := strings.Cut(pkg, ":")
	_, er, ok2 := strings.Cut(entry, ":")
	if !ok1 || !ok2 || pr == "" || er == "" {
		return true
	}
	return pr == er || strings.HasPrefix(er, pr+":") || strings.HasPrefix(pr, er+":")
}
