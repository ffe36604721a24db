package osv

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// DB is a set of records indexed for matching.
type DB struct {
	// Records are every record loaded, withdrawn ones included, sorted by ID.
	Records []*Record
	byPkg   map[string][]*Record
}

// maxRecordBytes bounds one record file or zip entry.
const maxRecordBytes = 64 << 20

// Load reads records from each path: a folder (walked recursively for
// *.json, *.yaml, *.yml and *.zip), a zip export, or a single record file.
// A record that appears twice (same ID) is kept once, the later-modified.
func Load(paths ...string) (*DB, error) { return LoadFor(nil, paths...) }

// Filter limits what LoadFor keeps, to bound memory with osv.dev's full
// exports: only records affecting one of Packages (ecosystem -> normalized
// names) are kept, and an export zip laid out as <Ecosystem>/all.zip for
// an ecosystem not in Packages is not read at all.
type Filter struct {
	Packages map[string]map[string]bool
}

// NewFilter builds a filter for (ecosystem, name) pairs.
func NewFilter() *Filter { return &Filter{Packages: map[string]map[string]bool{}} }

// Add adds a package to the filter.
func (f *Filter) Add(ecosystem, name string) {
	e := baseEcosystem(ecosystem)
	if f.Packages[e] == nil {
		f.Packages[e] = map[string]bool{}
	}
	f.Packages[e][NormalizeName(e, name)] = true
}

func (f *Filter) keep(r *Record) bool {
	for _, a := range r.Affected {
		e := baseEcosystem(a.Package.Ecosystem)
		if f.Packages[e][NormalizeName(e, a.Package.Name)] {
			return true
		}
	}
	return false
}

// knownEcosystems are OSV ecosystem names, for recognizing the
// <Ecosystem>/all.zip layout.
var knownEcosystems = map[string]bool{
	"AlmaLinux": true, "Alpine": true, "Android": true, "Bitnami": true, "Chainguard": true, "CRAN": true,
	"crates.io": true, "Debian": true, "GHC": true, "GIT": true, "GitHub Actions": true, "Go": true,
	"Hackage": true, "Hex": true, "Linux": true, "Mageia": true, "Maven": true, "MinimOS": true, "npm": true,
	"NuGet": true, "openSUSE": true, "OSS-Fuzz": true, "Packagist": true, "Photon OS": true, "Pub": true,
	"PyPI": true, "Red Hat": true, "Rocky Linux": true, "RubyGems": true, "SUSE": true, "SwiftURL": true,
	"Ubuntu": true, "Wolfi": true, "Bioconductor": true, "ConanCenter": true, "Julia": true, "openEuler": true,
}

// LoadFor is Load with an optional filter (nil keeps everything).
func LoadFor(f *Filter, paths ...string) (*DB, error) {
	var all []*Record
	add := func(r *Record) {
		if f != nil && !f.keep(r) {
			// Keep a small stub: if another source has the same advisory
			// for one of our packages, the merge still gets this one's
			// aliases and severity. Stubs alone are dropped by New.
			stub := *r
			stub.Affected, stub.Details, stub.References = nil, "", nil
			r = &stub
		}
		all = append(all, r)
	}
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if f != nil && strings.EqualFold(filepath.Ext(p), ".zip") {
				eco := filepath.Base(filepath.Dir(p))
				if knownEcosystems[eco] && f.Packages[eco] == nil {
					return nil
				}
			}
			recs, err := ReadFile(p)
			if err != nil {
				return err
			}
			for _, r := range recs {
				add(r)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return New(all...), nil
}

// New builds a DB from records. Two records with one ID (the same
// advisory from two sources, e.g. GHSA's OSV JSON and its
// elixir-security-advisories copy) are merged: the later-modified one's
// fields, plus the other's affected packages that it lacks and its aliases.
// (GHSA names jose's Hex package "erlang-jose"; the mix_audit copy says
// "jose": keeping both is what makes jose match.)
func New(records ...*Record) *DB {
	db := &DB{byPkg: map[string][]*Record{}}
	byID := map[string]*Record{}
	for _, r := range records {
		if old, ok := byID[r.ID]; ok {
			byID[r.ID] = merge(old, r)
			continue
		}
		byID[r.ID] = r
	}
	for _, r := range byID {
		if len(r.Affected) > 0 {
			db.Records = append(db.Records, r)
		}
	}
	sort.Slice(db.Records, func(i, j int) bool { return db.Records[i].ID < db.Records[j].ID })
	for _, r := range db.Records {
		seen := map[string]bool{}
		for _, a := range r.Affected {
			k := pkgKey(a.Package.Ecosystem, a.Package.Name)
			if !seen[k] {
				seen[k] = true
				db.byPkg[k] = append(db.byPkg[k], r)
			}
		}
	}
	return db
}

func pkgKey(ecosystem, name string) string {
	e := baseEcosystem(ecosystem)
	return e + "\x00" + NormalizeName(e, name)
}

// ReadFile reads the records of one file: an OSV JSON or YAML record, an
// elixir-security-advisories YAML advisory, or a zip of OSV JSON records.
// Other files give no records.
func ReadFile(path string) ([]*Record, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".json", ".yaml", ".yml", ".zip":
	default:
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecordBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxRecordBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, maxRecordBytes>>20)
	}
	switch ext {
	case ".zip":
		return ReadZip(path, data)
	case ".json":
		r, err := parseRecordJSON(path, data)
		if err != nil {
			return nil, err
		}
		return []*Record{r}, nil
	}
	r, err := ParseYAML(path, data)
	if err != nil || r == nil {
		return nil, err
	}
	return []*Record{r}, nil
}

// ReadZip reads every *.json entry of a zip export as an OSV record.
func ReadZip(path string, data []byte) ([]*Record, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []*Record
	for _, zf := range zr.File {
		if !strings.HasSuffix(zf.Name, ".json") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("%s!%s: %w", path, zf.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxRecordBytes+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s!%s: %w", path, zf.Name, err)
		}
		if len(b) > maxRecordBytes {
			return nil, fmt.Errorf("%s!%s: entry larger than %d MiB", path, zf.Name, maxRecordBytes>>20)
		}
		r, err := parseRecordJSON(path+"!"+zf.Name, b)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseYAML reads an OSV record written as YAML (PYSEC's format) or an
// elixir-security-advisories advisory, told apart by their keys. A YAML
// file that is neither gives no record and no error. Scalars keep their
// source text, so a version written 0.10 stays "0.10".
func ParseYAML(path string, data []byte) (*Record, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, fmt.Errorf("%s:%s", path, strings.TrimPrefix(yaml.FormatError(err, false, false), "["))
	}
	if len(f.Docs) == 0 || f.Docs[0] == nil || f.Docs[0].Body == nil {
		return nil, nil
	}
	v, err := yamlValue(path, f.Docs[0].Body, 0)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil
	}
	if _, ok := m["vulnerable_version_ranges"]; ok {
		return fromMixAudit(path, m)
	}
	if _, ok := m["affected"]; !ok {
		if _, ok := m["id"]; !ok {
			return nil, nil
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not an OSV record: %w", path, err)
	}
	if r.ID == "" {
		return nil, fmt.Errorf("%s: OSV record has no id", path)
	}
	r.Source = path
	return &r, nil
}

// yamlValue converts a YAML node into maps, slices and strings, scalars
// as written in the source.
func yamlValue(path string, n ast.Node, depth int) (any, error) {
	if depth > 100 {
		return nil, yamlErr(path, n, "nested too deeply")
	}
	switch x := n.(type) {
	case *ast.DocumentNode:
		return yamlValue(path, x.Body, depth+1)
	case *ast.MappingNode:
		m := map[string]any{}
		for _, kv := range x.Values {
			if err := yamlPair(path, m, kv, depth); err != nil {
				return nil, err
			}
		}
		return m, nil
	case *ast.MappingValueNode:
		m := map[string]any{}
		return m, yamlPair(path, m, x, depth)
	case *ast.SequenceNode:
		out := make([]any, 0, len(x.Values))
		for _, e := range x.Values {
			v, err := yamlValue(path, e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *ast.NullNode:
		return nil, nil
	case *ast.BoolNode:
		return x.Value, nil
	case *ast.StringNode:
		return x.Value, nil
	case *ast.LiteralNode:
		return x.Value.Value, nil
	case *ast.TagNode:
		return yamlValue(path, x.Value, depth+1)
	case *ast.AnchorNode:
		return yamlValue(path, x.Value, depth+1)
	case *ast.AliasNode:
		return nil, yamlErr(path, n, "aliases are not supported in advisories")
	case nil:
		return nil, nil
	}
	if t := n.GetToken(); t != nil {
		return t.Value, nil
	}
	return nil, yamlErr(path, n, "unsupported YAML node")
}

func yamlPair(path string, m map[string]any, kv *ast.MappingValueNode, depth int) error {
	k, err := yamlValue(path, kv.Key, depth+1)
	if err != nil {
		return err
	}
	v, err := yamlValue(path, kv.Value, depth+1)
	if err != nil {
		return err
	}
	m[fmt.Sprint(k)] = v
	return nil
}

func yamlErr(path string, n ast.Node, msg string) error {
	if t := n.GetToken(); t != nil && t.Position != nil {
		return fmt.Errorf("%s:%d:%d: %s", path, t.Position.Line, t.Position.Column, msg)
	}
	return fmt.Errorf("%s: %s", path, msg)
}

// merge combines two records with the same ID (see New). Inputs are not
// modified.
func merge(a, b *Record) *Record {
	if b.Modified > a.Modified || (b.Modified == a.Modified && b.Source > a.Source) {
		a, b = b, a
	}
	out := *a
	out.Affected = append([]Affected{}, a.Affected...)
	have := map[string]bool{}
	for _, af := range a.Affected {
		have[pkgKey(af.Package.Ecosystem, af.Package.Name)] = true
	}
	for _, af := range b.Affected {
		if k := pkgKey(af.Package.Ecosystem, af.Package.Name); !have[k] {
			have[k] = true
			out.Affected = append(out.Affected, af)
		}
	}
	out.Aliases = sortedUnique(append(append([]string{}, a.Aliases...), b.Aliases...))
	if len(out.Severity) == 0 {
		out.Severity = b.Severity
	}
	if out.DatabaseSpecific == nil {
		out.DatabaseSpecific = b.DatabaseSpecific
	}
	return &out
}
