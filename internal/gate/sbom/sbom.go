// Package sbom writes a software bill of materials for a project's locked
// dependencies: CycloneDX 1.6 (JSON or XML, through
// github.com/CycloneDX/cyclonedx-go) or SPDX 2.3 JSON (through
// github.com/spdx/tools-golang).
//
// Flow: Build turns an inventory (internal/inventory) and, optionally, the
// licenses found by the license gate into a Model: one component per
// distinct package, sorted, with its purl, version, hashes from the
// lockfile, declared/detected licenses, and dependency edges where the
// lockfile records them (the project itself depends on its direct
// dependencies). WriteCycloneDX and WriteSPDX render the model. Output is
// byte-identical for the same input: sorted everywhere, the serial number
// and document namespace derived from the content, and timestamps taken
// from SOURCE_DATE_EPOCH when set.
package sbom

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/gate/license"
	"github.com/shipgate/shipgate/internal/inventory"
)

// Component is one package of the bill.
type Component struct {
	Ref       string           `json:"ref"`
	Ecosystem string           `json:"ecosystem"`
	Name      string           `json:"name"`
	Version   string           `json:"version,omitempty"`
	PURL      string           `json:"purl,omitempty"`
	Hashes    []inventory.Hash `json:"hashes,omitempty"`
	// License is an SPDX expression (declared, else detected); "" unknown.
	License   string   `json:"license,omitempty"`
	Dev       bool     `json:"dev,omitempty"`
	Repo      string   `json:"repo,omitempty"`
	RefID     string   `json:"git_ref,omitempty"`
	Lockfile  string   `json:"lockfile"`
	DependsOn []string `json:"depends_on,omitempty"`
}

// Model is the bill before rendering.
type Model struct {
	Name       string      `json:"name"`
	Version    string      `json:"version,omitempty"`
	Tool       string      `json:"tool"`
	Time       time.Time   `json:"time"`
	Components []Component `json:"components"`
	// RootDeps are the refs the project depends on directly.
	RootDeps []string `json:"root_deps"`
}

// Options configure Build.
type Options struct {
	Name, Version string
	// ToolVersion is shipgate's version, recorded as the generating tool.
	ToolVersion string
	// Time stamps the document; see SourceDateEpoch.
	Time time.Time
	// Licenses from license.Collect, matched to packages by
	// ecosystem/name/version.
	Licenses []license.PackageLicense
}

// SourceDateEpoch returns the time in $SOURCE_DATE_EPOCH (seconds since
// 1970), or now when it is unset. A value that is not a number is an error.
func SourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Build makes the model. Packages seen in several lockfiles are one
// component (the first lockfile names it); their edges are merged.
func Build(inv *inventory.Inventory, o Options) *Model {
	m := &Model{Name: o.Name, Version: o.Version, Tool: "shipgate", Time: o.Time.UTC()}
	if o.ToolVersion != "" {
		m.Tool += "-" + o.ToolVersion
	}
	lic := map[string]string{}
	for _, l := range o.Licenses {
		lic[l.Ecosystem+"/"+l.Name+"@"+l.Version] = l.Expression()
	}
	byID := map[string]*Component{}
	var order []string
	refOf := map[string]string{}
	for _, lf := range inv.Lockfiles {
		for _, p := range lf.Packages {
			id := p.ID()
			if c, ok := byID[id]; ok {
				c.Hashes = mergeHashes(c.Hashes, p.Hashes)
				continue
			}
			ref := p.PURL
			if ref == "" {
				ref = "pkg:generic/" + strings.ToLower(p.Ecosystem) + "/" + p.Name
				if p.Version != "" {
					ref += "@" + p.Version
				} else if p.Ref != "" {
					ref += "@" + p.Ref
				}
			}
			refOf[id] = ref
			byID[id] = &Component{Ref: ref, Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version, PURL: p.PURL,
				Hashes: mergeHashes(nil, p.Hashes), License: lic[id], Dev: p.Dev, Repo: p.Repo, RefID: p.Ref, Lockfile: lf.Path}
			order = append(order, id)
		}
	}
	// Refs must be unique: two IDs with one purl keep the purl on the first.
	seenRef := map[string]string{}
	for _, id := range order {
		c := byID[id]
		if other, dup := seenRef[c.Ref]; dup && other != id {
			c.Ref += "#" + shortHash(id)
			refOf[id] = c.Ref
		}
		seenRef[c.Ref] = id
	}
	root := map[string]bool{}
	for _, lf := range inv.Lockfiles {
		known := false
		for _, p := range lf.Packages {
			if p.Relation != inventory.Unknown {
				known = true
			}
		}
		for _, p := range lf.Packages {
			c := byID[p.ID()]
			for _, d := range p.Deps {
				if r, ok := refOf[d]; ok {
					c.DependsOn = append(c.DependsOn, r)
				}
			}
			if !known || p.Relation == inventory.Direct {
				root[refOf[p.ID()]] = true
			}
		}
	}
	for _, id := range order {
		c := byID[id]
		c.DependsOn = uniqueSorted(c.DependsOn)
		m.Components = append(m.Components, *c)
	}
	sort.Slice(m.Components, func(i, j int) bool { return m.Components[i].Ref < m.Components[j].Ref })
	for r := range root {
		m.RootDeps = append(m.RootDeps, r)
	}
	sort.Strings(m.RootDeps)
	return m
}

func mergeHashes(a, b []inventory.Hash) []inventory.Hash {
	seen := map[string]bool{}
	var out []inventory.Hash
	for _, h := range append(append([]inventory.Hash{}, a...), b...) {
		k := h.Alg + ":" + strings.ToLower(h.Value)
		if !seen[k] {
			seen[k] = true
			out = append(out, inventory.Hash{Alg: h.Alg, Value: strings.ToLower(h.Value)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Alg < out[j].Alg })
	return out
}

func uniqueSorted(s []string) []string {
	sort.Strings(s)
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

// digest is a content hash of the model, for the serial number and the
// document namespace.
func (m *Model) digest() [32]byte {
	b, _ := json.Marshal(m)
	return sha256.Sum256(b)
}

// uuid formats a digest as a version-5-style UUID.
func uuidFrom(d [32]byte) string {
	b := d[:16]
	b[6] = (b[6] & 0x0f) | 0x50
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

//go:embed spdxids.json
var spdxIDsJSON []byte

var spdxIDs = func() map[string]string {
	var s struct {
		Enum []string `json:"enum"`
	}
	_ = json.Unmarshal(spdxIDsJSON, &s)
	m := map[string]string{}
	for _, id := range s.Enum {
		m[strings.ToLower(id)] = id
	}
	return m
}()

// SPDXID returns the canonical SPDX license ID for id, if it is one.
func SPDXID(id string) (string, bool) {
	c, ok := spdxIDs[strings.ToLower(id)]
	return c, ok
}

// validExpression returns expr with canonical IDs when every license in it
// is an SPDX ID (operators AND, OR, WITH and parentheses allowed).
func validExpression(expr string) (string, bool) {
	if expr == "" {
		return "", false
	}
	toks := strings.Fields(strings.NewReplacer("(", " ( ", ")", " ) ").Replace(expr))
	for i := 0; i < len(toks); i++ {
		switch strings.ToUpper(toks[i]) {
		case "AND", "OR", "(", ")":
			toks[i] = strings.ToUpper(toks[i])
		case "WITH":
			toks[i] = "WITH"
			i++ // the exception ID
		default:
			c, ok := SPDXID(strings.TrimSuffix(toks[i], "+"))
			if !ok {
				return "", false
			}
			if strings.HasSuffix(toks[i], "+") {
				c += "+"
			}
			toks[i] = c
		}
	}
	return strings.NewReplacer("( ", "(", " )", ")").Replace(strings.Join(toks, " ")), true
}
