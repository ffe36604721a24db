package deps

import (
	"fmt"
	"sort"
	"strings"

	"github.com/shipgate/shipgate/internal/inventory"
)

// TreeOptions shape the Markdown tree.
type TreeOptions struct {
	// MaxDepth limits nesting (0 = 8).
	MaxDepth int
	// Vulnerable marks package IDs with a note (e.g. their vulnerability IDs).
	Vulnerable map[string]string
}

// TreeMarkdown renders each lockfile's dependencies as a nested Markdown
// list: direct dependencies at the top, their dependencies below where the
// lockfile records edges (mix.lock, package-lock.json, Cargo.lock), a flat
// list of transitive ones otherwise (rebar.lock, go.mod). A package shown
// once is not expanded again ("…" marks the repeat).
func TreeMarkdown(inv *inventory.Inventory, o TreeOptions) string {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 8
	}
	var b strings.Builder
	b.WriteString("## Dependency tree\n\n")
	if len(inv.Lockfiles) == 0 {
		b.WriteString("No lockfile found.\n")
		return b.String()
	}
	for _, lf := range inv.Lockfiles {
		direct, trans, unknown := 0, 0, 0
		byID := map[string]*inventory.Package{}
		for i := range lf.Packages {
			p := &lf.Packages[i]
			byID[p.ID()] = p
			switch p.Relation {
			case inventory.Direct:
				direct++
			case inventory.Transitive:
				trans++
			default:
				unknown++
			}
		}
		fmt.Fprintf(&b, "<details><summary><code>%s</code> (%s): %d packages, %d direct, %d transitive</summary>\n\n",
			lf.Path, lf.Kind, len(lf.Packages), direct, trans)
		shown := map[string]bool{}
		var walk func(p *inventory.Package, depth int)
		walk = func(p *inventory.Package, depth int) {
			indent := strings.Repeat("  ", depth)
			label := pkgLabel(p, o.Vulnerable)
			if shown[p.ID()] && len(p.Deps) > 0 {
				fmt.Fprintf(&b, "%s- %s …\n", indent, label)
				return
			}
			shown[p.ID()] = true
			fmt.Fprintf(&b, "%s- %s\n", indent, label)
			if depth+1 >= o.MaxDepth {
				return
			}
			for _, d := range p.Deps {
				if q, ok := byID[d]; ok {
					walk(q, depth+1)
				}
			}
		}
		roots := sortedPkgs(lf.Packages, func(p *inventory.Package) bool { return p.Relation == inventory.Direct })
		for _, p := range roots {
			walk(p, 0)
		}
		var rest []*inventory.Package
		for _, p := range sortedPkgs(lf.Packages, func(p *inventory.Package) bool { return !shown[p.ID()] }) {
			rest = append(rest, p)
		}
		if len(rest) > 0 {
			title := "Transitive"
			if unknown > 0 && direct == 0 {
				title = "Packages (the lockfile does not say which are direct)"
			}
			fmt.Fprintf(&b, "- *%s*\n", title)
			for _, p := range rest {
				fmt.Fprintf(&b, "  - %s\n", pkgLabel(p, o.Vulnerable))
			}
		}
		b.WriteString("\n</details>\n\n")
	}
	return b.String()
}

func pkgLabel(p *inventory.Package, vuln map[string]string) string {
	s := "`" + p.Name
	if p.Version != "" {
		s += "@" + p.Version
	} else if p.Ref != "" {
		s += "@" + shortRef(p.Ref)
	}
	s += "`"
	if p.Dev {
		s += " (dev)"
	}
	if p.Source == "git" {
		s += " (git)"
	}
	if note, ok := vuln[p.ID()]; ok {
		s += " ⚠️ " + note
	}
	return s
}

func shortRef(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

func sortedPkgs(pkgs []inventory.Package, keep func(*inventory.Package) bool) []*inventory.Package {
	var out []*inventory.Package
	for i := range pkgs {
		if keep(&pkgs[i]) {
			out = append(out, &pkgs[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out
}
