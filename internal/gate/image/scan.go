// Package image is the image gate: `shipgate image scan` matches the
// packages of a container image (internal/image/inventory) against OSV
// vulnerability records (internal/osv) and fails when a finding at or above
// a severity is not ignored.
//
// Scan's flow: each package is matched by its OSV ecosystem, with the name
// and version advisories use (the source package for Debian, Ubuntu and
// Alpine, compared with dpkg's or apk's version ordering through
// osv-scalibr's semantic package; language packages by their own rules);
// records that alias each other are merged (osv.DB.Match); the severity is
// the highest CVSS base score of the records' vectors, else the
// database's own rating, else UNKNOWN; ignore entries accept findings;
// the verdict fails when an accepted-less finding is at or above FailOn.
package image

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
	"github.com/shipgate/shipgate/internal/gate/deps"
	"github.com/shipgate/shipgate/internal/image/inventory"
	"github.com/shipgate/shipgate/internal/osv"
)

// Rule IDs.
const (
	RuleVulnerable    = "image/vulnerable"
	RuleIgnoreExpired = "image/ignore-expired"
	RuleIgnoreUnused  = "image/ignore-unused"
)

// Severities, lowest first.
var Severities = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// SeverityRank orders severities: UNKNOWN 0 ... CRITICAL 4; -1 when s is
// none of them.
func SeverityRank(s string) int { return slices.Index(Severities, strings.ToUpper(s)) }

// Options configure a scan.
type Options struct {
	// Image names the scanned image in the report.
	Image string
	// Inventory is the image's inventory.
	Inventory *inventory.Result
	// DB holds the records; nil means none was given.
	DB *osv.DB
	// DBSource describes where the records came from.
	DBSource string
	// FailOn is the lowest severity that fails the gate ("" fails on any
	// finding, as deps audit does).
	FailOn string
	// Severities, when not empty, keep only findings of these severities
	// (trivy's --severity).
	Severities []string
	// IgnoreUnfixed leaves out vulnerabilities without a fixed version
	// (trivy's --ignore-unfixed).
	IgnoreUnfixed bool
	// Ignore accepts findings.
	Ignore *Ignore
	// Now decides which ignore entries have expired.
	Now time.Time
}

// Finding is one vulnerable package.
type Finding struct {
	Package  inventory.Package `json:"package"`
	Vuln     osv.Vuln          `json:"vuln"`
	Severity string            `json:"severity"`
	// Ignored is the reason from the ignore entry that accepts it.
	Ignored string `json:"ignored,omitempty"`
}

// Result is the scan's data, for --json.
type Result struct {
	Image    string            `json:"image"`
	Distro   *inventory.Distro `json:"distro,omitempty"`
	Packages int               `json:"packages"`
	Records  int               `json:"records"`
	Findings []Finding         `json:"findings"`
}

// Scan matches the inventory against the database and builds the report.
func Scan(o Options) (*gate.Report, error) {
	r := &gate.Report{Gate: "image", Rules: []diag.Rule{
		{ID: RuleVulnerable, Description: "An image package has a known vulnerability"},
		{ID: RuleIgnoreExpired, Description: "An ignore entry has expired and no longer applies"},
		{ID: RuleIgnoreUnused, Description: "An ignore entry matches no finding"},
	}}
	if o.FailOn != "" && SeverityRank(o.FailOn) < 0 {
		return nil, fmt.Errorf("--fail-on %q: want one of %s", o.FailOn, strings.Join(Severities, ", "))
	}
	keep := map[string]bool{}
	for _, s := range o.Severities {
		if SeverityRank(s) < 0 {
			return nil, fmt.Errorf("--severity %q: want one of %s", s, strings.Join(Severities, ", "))
		}
		keep[strings.ToUpper(s)] = true
	}
	res := &Result{Image: o.Image, Distro: o.Inventory.Distro, Packages: len(o.Inventory.Packages), Findings: []Finding{}}
	r.Data = res
	if len(o.Inventory.Packages) == 0 {
		r.Verdict, r.Reason = gate.Skipped, "no packages found in the image"
		return r, nil
	}
	if o.DB == nil {
		r.Verdict, r.Reason = gate.Inconclusive, "no vulnerability database: give --db DIR (OSV records or zip exports)"
		return r, nil
	}
	res.Records = len(o.DB.Records)
	db := o.DB
	used := map[int]bool{}
	for _, p := range o.Inventory.Packages {
		for _, v := range db.Match(p.Ecosystem, p.MatchName(), p.MatchVersion()) {
			sev := v.Rating
			if sev == "" || SeverityRank(sev) < 0 {
				sev = "UNKNOWN"
			}
			if (len(keep) > 0 && !keep[sev]) || (o.IgnoreUnfixed && v.Fixed == "") {
				continue
			}
			f := Finding{Package: p, Vuln: v, Severity: sev}
			if i, reason, ok := o.Ignore.match(p, v, o.Now); ok {
				f.Ignored = reason
				used[i] = true
			}
			res.Findings = append(res.Findings, f)
		}
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if ra, rb := SeverityRank(a.Severity), SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.Package.Name != b.Package.Name {
			return a.Package.Name < b.Package.Name
		}
		return a.Vuln.ID < b.Vuln.ID
	})
	failRank := 0
	if o.FailOn != "" {
		failRank = SeverityRank(o.FailOn)
	}
	blocking, open, ignored := 0, 0, 0
	bySev := map[string]int{}
	for _, f := range res.Findings {
		sev := diag.Warning
		msg := message(f)
		switch {
		case f.Ignored != "":
			sev = diag.Info
			ignored++
			msg += " [ignored: " + f.Ignored + "]"
		case SeverityRank(f.Severity) >= failRank:
			sev = diag.Error
			blocking++
			open++
			bySev[f.Severity]++
		default:
			open++
			bySev[f.Severity]++
		}
		loc := strings.TrimPrefix(f.Package.Location, "/")
		r.Add(gate.Finding{
			Diagnostic: diag.Diagnostic{Pos: diag.Pos{File: loc, Line: f.Package.Line},
				Rule: RuleVulnerable, Severity: sev, Message: msg},
			Fingerprint: fingerprint(f.Package.Ecosystem, f.Package.Name, f.Package.Version, f.Vuln.ID),
			Properties: map[string]any{
				"ecosystem": f.Package.Ecosystem, "package": f.Package.Name, "version": f.Package.Version,
				"source": f.Package.MatchName(), "source_version": f.Package.MatchVersion(),
				"purl": f.Package.PURL, "layer": f.Package.Layer, "layer_diff_id": f.Package.LayerDiffID,
				"id": f.Vuln.ID, "ids": f.Vuln.IDs, "aliases": f.Vuln.Aliases,
				"severity": f.Severity, "score": f.Vuln.Score, "vector": f.Vuln.Vector, "fixed": f.Vuln.Fixed,
			},
		})
	}
	if o.Ignore != nil {
		for i, e := range o.Ignore.Entries {
			pos := diag.Pos{File: o.Ignore.Path, Line: e.Line, Col: e.Col}
			switch {
			case e.expired(o.Now):
				r.Add(gate.Finding{Diagnostic: diag.Diagnostic{Pos: pos, Rule: RuleIgnoreExpired, Severity: diag.Warning,
					Message: fmt.Sprintf("ignore entry for %s expired on %s; it no longer applies", e.ID, e.Expires)}})
			case !used[i]:
				r.Add(gate.Finding{Diagnostic: diag.Diagnostic{Pos: pos, Rule: RuleIgnoreUnused, Severity: diag.Info,
					Message: fmt.Sprintf("ignore entry for %s matches no finding; remove it", e.ID)}})
			}
		}
	}
	r.Metrics = []gate.Metric{{Name: "packages", Value: float64(res.Packages)}}
	for i := len(Severities) - 1; i >= 0; i-- {
		r.Metrics = append(r.Metrics, gate.Metric{Name: strings.ToLower(Severities[i]), Value: float64(bySev[Severities[i]])})
	}
	r.Metrics = append(r.Metrics, gate.Metric{Name: "ignored", Value: float64(ignored)})
	r.Details = details(res.Findings)
	counts := countText(bySev)
	threshold := "any severity"
	if o.FailOn != "" {
		threshold = strings.ToUpper(o.FailOn) + " or above"
	}
	switch {
	case blocking > 0:
		r.Verdict = gate.Fail
		r.Reason = fmt.Sprintf("%d %s at %s (%s) in %d packages", blocking, plural(blocking, "vulnerability", "vulnerabilities"), threshold, counts, res.Packages)
	case open > 0:
		r.Verdict = gate.Warn
		r.Reason = fmt.Sprintf("%d %s below %s (%s) in %d packages", open, plural(open, "vulnerability", "vulnerabilities"), threshold, counts, res.Packages)
	default:
		r.Verdict = gate.Pass
		r.Reason = fmt.Sprintf("no known vulnerabilities in %d packages (%d records)", res.Packages, res.Records)
	}
	if ignored > 0 {
		r.Reason += fmt.Sprintf(", %d ignored", ignored)
	}
	return r, nil
}

func countText(bySev map[string]int) string {
	var parts []string
	for i := len(Severities) - 1; i >= 0; i-- {
		if n := bySev[Severities[i]]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, Severities[i]))
		}
	}
	if len(parts) == 0 {
		return "none open"
	}
	return strings.Join(parts, ", ")
}

func message(f Finding) string {
	p := f.Package
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", p.Name, p.Version)
	if p.SourceName != "" && p.SourceName != p.Name {
		fmt.Fprintf(&b, " (source %s)", p.SourceName)
	}
	fmt.Fprintf(&b, ": %s %s", f.Severity, f.Vuln.ID)
	if f.Vuln.Score > 0 {
		fmt.Fprintf(&b, " (CVSS %.1f)", f.Vuln.Score)
	}
	if len(f.Vuln.Aliases) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(f.Vuln.Aliases, ", "))
	}
	if f.Vuln.Summary != "" {
		fmt.Fprintf(&b, " %s", f.Vuln.Summary)
	}
	if f.Vuln.Fixed != "" {
		fmt.Fprintf(&b, "; fixed in %s", f.Vuln.Fixed)
	} else {
		b.WriteString("; no fixed version")
	}
	fmt.Fprintf(&b, " (layer %d)", p.Layer)
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func fingerprint(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}

func details(fs []Finding) string {
	if len(fs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| severity | package | version | vulnerability | fixed | layer |\n|---|---|---|---|---|---|\n")
	for _, f := range fs {
		id := f.Vuln.ID
		if f.Ignored != "" {
			id += " (ignored)"
		}
		fixed := f.Vuln.Fixed
		if fixed == "" {
			fixed = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", f.Severity, md(f.Package.Name), md(f.Package.Version), md(id), md(fixed), f.Package.Layer)
	}
	return b.String()
}

func md(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Ignore is a set of accepted vulnerabilities: either the YAML ignore file
// of `shipgate deps audit` (id, package, reason, expires), or a
// .trivyignore-style list of IDs, one a line, '#' comments.
type Ignore struct {
	Path    string
	Entries []IgnoreEntry
}

// IgnoreEntry accepts one vulnerability (optionally of one package) until
// Expires ("" for never, in the plain-list form).
type IgnoreEntry struct {
	ID, Package, Reason, Expires string
	Line, Col                    int
	until                        time.Time
}

func (e IgnoreEntry) expired(now time.Time) bool { return !e.until.IsZero() && !now.Before(e.until) }

// LoadIgnore reads an ignore file in either form. Errors name file:line:col.
func LoadIgnore(path string) (*Ignore, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseIgnore(path, data)
}

// ParseIgnore parses an ignore file's content.
func ParseIgnore(path string, data []byte) (*Ignore, error) {
	ig := &Ignore{Path: path}
	if bytes.Contains(data, []byte("ignore:")) {
		f, err := deps.ParseIgnore(path, data)
		if err != nil {
			return nil, err
		}
		for _, e := range f.Entries {
			t, err := time.Parse("2006-01-02", e.Expires)
			if err != nil {
				return nil, fmt.Errorf("%s:%d:%d: expires %q: want YYYY-MM-DD", path, e.Line, e.Col, e.Expires)
			}
			ig.Entries = append(ig.Entries, IgnoreEntry{ID: e.ID, Package: e.Package, Reason: e.Reason, Expires: e.Expires,
				Line: e.Line, Col: e.Col, until: t})
		}
		return ig, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		reason := ""
		if i := strings.Index(text, "#"); i >= 0 {
			reason = strings.TrimSpace(text[i+1:])
			text = text[:i]
		}
		id := strings.TrimSpace(text)
		if id == "" {
			continue
		}
		if strings.ContainsAny(id, " \t") {
			return nil, fmt.Errorf("%s:%d:1: want one vulnerability ID a line, got %q", path, line, id)
		}
		if reason == "" {
			reason = "listed in " + path
		}
		ig.Entries = append(ig.Entries, IgnoreEntry{ID: id, Reason: reason, Line: line, Col: 1})
	}
	return ig, nil
}

func (ig *Ignore) match(p inventory.Package, v osv.Vuln, now time.Time) (int, string, bool) {
	if ig == nil {
		return -1, "", false
	}
	for i, e := range ig.Entries {
		if e.expired(now) {
			continue
		}
		if e.Package != "" && e.Package != p.Name && e.Package != p.SourceName {
			continue
		}
		if e.ID == v.ID || slices.Contains(v.IDs, e.ID) || slices.Contains(v.Aliases, e.ID) {
			reason := e.Reason
			if e.Expires != "" {
				reason = "until " + e.Expires + ": " + reason
			}
			return i, reason, true
		}
	}
	return -1, "", false
}
