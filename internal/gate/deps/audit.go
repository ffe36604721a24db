// Package deps is the dependency gate: `shipgate deps audit` matches every
// locked package against OSV vulnerability records (offline from --db, the
// OSV API only with --online), `deps tree` renders the dependency tree as
// Markdown, and `deps check-lock` fails when a lockfile disagrees with its
// manifest.
//
// Audit's flow: inventory.Scan finds and reads the lockfiles; osv.Load
// reads the records (plus, with Online, the API's records for the
// packages); each package is matched (osv.DB.Match merges aliases and
// drops withdrawn records); the ignore file's unexpired entries mark
// findings as accepted; the report fails when an unaccepted finding
// remains.
package deps

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
	"github.com/shipgate/shipgate/internal/inventory"
	"github.com/shipgate/shipgate/internal/osv"
)

// Rule IDs.
const (
	RuleVulnerable    = "deps/vulnerable"
	RuleIgnoreExpired = "deps/ignore-expired"
	RuleIgnoreUnused  = "deps/ignore-unused"
)

// Options configure an audit.
type Options struct {
	// Inventory is the scanned project.
	Inventory *inventory.Inventory
	// DB holds the records to match against; nil means none was given.
	DB *osv.DB
	// Ignore is the parsed ignore file, if any.
	Ignore *IgnoreFile
	// Now decides which ignore entries have expired.
	Now time.Time
	// DBSource describes where the records came from, for the report.
	DBSource string
}

// Finding is one vulnerable package.
type Finding struct {
	Package inventory.Package `json:"package"`
	Vuln    osv.Vuln          `json:"vuln"`
	// Ignored is the ignore entry that accepts this finding, if any.
	Ignored *IgnoreEntry `json:"ignored,omitempty"`
}

// Result is the audit's data, placed in the report's Data for --json.
type Result struct {
	Lockfiles int       `json:"lockfiles"`
	Packages  int       `json:"packages"`
	Records   int       `json:"records"`
	Findings  []Finding `json:"findings"`
}

// Audit matches the inventory against the database and builds the report.
func Audit(o Options) *gate.Report {
	r := &gate.Report{Gate: "deps", Rules: []diag.Rule{
		{ID: RuleVulnerable, Description: "A locked dependency has a known vulnerability"},
		{ID: RuleIgnoreExpired, Description: "An ignore entry has expired and no longer applies"},
		{ID: RuleIgnoreUnused, Description: "An ignore entry matches no finding"},
	}}
	res := &Result{}
	r.Data = res
	pkgs := o.Inventory.Packages()
	res.Lockfiles = len(o.Inventory.Lockfiles)
	res.Packages = len(pkgs)
	if len(pkgs) == 0 {
		r.Verdict, r.Reason = gate.Skipped, "no lockfile with packages found"
		return r
	}
	if o.DB == nil {
		r.Verdict, r.Reason = gate.Inconclusive, "no vulnerability database: give --db DIR (OSV records or zip exports) or --online"
		return r
	}
	res.Records = len(o.DB.Records)
	used := map[int]bool{}
	for _, p := range pkgs {
		for _, v := range o.DB.Match(p.Ecosystem, p.Name, p.Version) {
			f := Finding{Package: p, Vuln: v}
			if o.Ignore != nil {
				if i, e := o.Ignore.match(p, v, o.Now); e != nil {
					f.Ignored = e
					used[i] = true
				}
			}
			res.Findings = append(res.Findings, f)
		}
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if a.Package.File != b.Package.File {
			return a.Package.File < b.Package.File
		}
		if a.Package.Name != b.Package.Name {
			return a.Package.Name < b.Package.Name
		}
		if a.Package.Version != b.Package.Version {
			return a.Package.Version < b.Package.Version
		}
		return a.Vuln.ID < b.Vuln.ID
	})
	open, ignored := 0, 0
	vulnPkgs := map[string]bool{}
	for _, f := range res.Findings {
		sev := diag.Error
		msg := findingMessage(f)
		if f.Ignored != nil {
			sev = diag.Info
			ignored++
			msg += fmt.Sprintf(" [ignored until %s: %s]", f.Ignored.Expires, f.Ignored.Reason)
		} else {
			open++
			vulnPkgs[f.Package.ID()] = true
		}
		r.Add(gate.Finding{
			Diagnostic: diag.Diagnostic{Pos: diag.Pos{File: displayPath(o.Inventory.Root, f.Package.File), Line: f.Package.Line},
				Rule: RuleVulnerable, Severity: sev, Message: msg},
			Fingerprint: fingerprint(f.Package.Ecosystem, f.Package.Name, f.Package.Version, f.Vuln.ID),
			Properties: map[string]any{
				"ecosystem": f.Package.Ecosystem, "package": f.Package.Name, "version": f.Package.Version,
				"purl": f.Package.PURL, "id": f.Vuln.ID, "ids": f.Vuln.IDs, "aliases": f.Vuln.Aliases,
				"score": f.Vuln.Score, "rating": f.Vuln.Rating, "vector": f.Vuln.Vector, "fixed": f.Vuln.Fixed,
			},
		})
	}
	if o.Ignore != nil {
		for i, e := range o.Ignore.Entries {
			switch {
			case e.expired(o.Now):
				r.Add(gate.Finding{Diagnostic: diag.Diagnostic{Pos: diag.Pos{File: o.Ignore.Path, Line: e.Line, Col: e.Col},
					Rule: RuleIgnoreExpired, Severity: diag.Warning,
					Message: fmt.Sprintf("ignore entry for %s expired on %s; it no longer applies", e.ID, e.Expires)}})
			case !used[i]:
				r.Add(gate.Finding{Diagnostic: diag.Diagnostic{Pos: diag.Pos{File: o.Ignore.Path, Line: e.Line, Col: e.Col},
					Rule: RuleIgnoreUnused, Severity: diag.Info,
					Message: fmt.Sprintf("ignore entry for %s matches no finding; remove it", e.ID)}})
			}
		}
	}
	r.Metrics = []gate.Metric{
		{Name: "packages", Value: float64(res.Packages)},
		{Name: "vulnerabilities", Value: float64(open)},
		{Name: "vulnerable packages", Value: float64(len(vulnPkgs))},
		{Name: "ignored", Value: float64(ignored)},
	}
	r.Details = detailsTable(res.Findings)
	switch {
	case open > 0:
		r.Verdict = gate.Fail
		r.Reason = fmt.Sprintf("%d %s in %d of %d packages", open, plural(open, "vulnerability", "vulnerabilities"), len(vulnPkgs), res.Packages)
	default:
		r.Verdict = gate.Pass
		r.Reason = fmt.Sprintf("no known vulnerabilities in %d packages (%d records)", res.Packages, res.Records)
	}
	if ignored > 0 {
		r.Reason += fmt.Sprintf(", %d ignored", ignored)
	}
	return r
}

// displayPath names a file found under root the way the user can open it
// from where they ran the command (and SARIF consumers resolve it from the
// repository root when run there): root joined with the relative path.
func displayPath(root, rel string) string {
	if root == "" {
		return rel
	}
	return filepath.ToSlash(filepath.Join(root, filepath.FromSlash(rel)))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func findingMessage(f Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", f.Package.Name, f.Package.Version, f.Vuln.ID)
	others := append([]string{}, f.Vuln.IDs...)
	others = append(others, f.Vuln.Aliases...)
	var rest []string
	for _, id := range others {
		if id != f.Vuln.ID {
			rest = append(rest, id)
		}
	}
	if len(rest) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(rest, ", "))
	}
	switch {
	case f.Vuln.Score > 0:
		fmt.Fprintf(&b, " %s %.1f", f.Vuln.Rating, f.Vuln.Score)
	case f.Vuln.Rating != "":
		fmt.Fprintf(&b, " %s", f.Vuln.Rating)
	}
	if f.Vuln.Summary != "" {
		fmt.Fprintf(&b, " — %s", f.Vuln.Summary)
	}
	if f.Vuln.Fixed != "" {
		fmt.Fprintf(&b, "; fixed in %s", f.Vuln.Fixed)
	} else {
		b.WriteString("; no fixed version known")
	}
	return b.String()
}

func fingerprint(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

func detailsTable(fs []Finding) string {
	if len(fs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| Package | Version | Vulnerability | Severity | Fixed in | Summary |\n|---|---|---|---|---|---|\n")
	for _, f := range fs {
		sev := f.Vuln.Rating
		if f.Vuln.Score > 0 {
			sev = fmt.Sprintf("%s %.1f", f.Vuln.Rating, f.Vuln.Score)
		}
		id := f.Vuln.ID
		if f.Ignored != nil {
			id += " (ignored)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdEscape(f.Package.Name), mdEscape(f.Package.Version),
			id, sev, mdEscape(f.Vuln.Fixed), mdEscape(f.Vuln.Summary))
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}
