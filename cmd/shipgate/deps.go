package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/atomicfile"
	"github.com/shipgate/shipgate/internal/gate/deps"
	"github.com/shipgate/shipgate/internal/inventory"
	"github.com/shipgate/shipgate/internal/osv"
	"github.com/spf13/cobra"
)

// defaultIgnore and defaultDB are read when present and not overridden.
const (
	defaultIgnore = ".shipgate/deps-ignore.yml"
	defaultDB     = ".shipgate/osv"
)

func (a *app) depsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "deps",
		Short: "Audit dependencies for known vulnerabilities",
		Long: `Dependency checks over the project's lockfiles.

Lockfiles read: rebar.lock (every rebar3 format), rebar.config (when there is
no rebar.lock), mix.lock, go.mod (+go.sum), vendor/modules.txt,
package-lock.json / npm-shrinkwrap.json (v1-v3), yarn.lock, pnpm-lock.yaml,
bun.lock, Cargo.lock, requirements*.txt, poetry.lock, Pipfile.lock, pdm.lock,
uv.lock, Gemfile.lock, composer.lock, gradle.lockfile, pubspec.lock,
packages.lock.json, Package.resolved, renv.lock, stack.yaml.lock.`,
		Example: `  shipgate deps audit --db ./osv-db
  shipgate deps tree >> "$GITHUB_STEP_SUMMARY"
  shipgate deps check-lock`,
	}
	c.AddCommand(a.depsAuditCmd(), a.depsTreeCmd(), a.depsCheckLockCmd(), a.depsDBCmd())
	return c
}

func rootArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "."
}

func scanInventory(root string) (*inventory.Inventory, error) {
	inv, err := inventory.Scan(root)
	if err != nil {
		return nil, asUsage(err)
	}
	return inv, nil
}

func (a *app) depsAuditCmd() *cobra.Command {
	var (
		flags   reportFlags
		dbs     []string
		ignore  string
		online  bool
		api     string
		nowFlag string
	)
	c := &cobra.Command{
		Use:   "audit [PATH]",
		Short: "Match locked dependencies against OSV vulnerability records",
		Long: `Find every lockfile under PATH (default .), and match each locked package
against vulnerability records: OSV JSON or YAML files in a folder, osv.dev's
per-ecosystem zip exports (all.zip; osv-scanner's local database folder works
as is), and elixir-security-advisories YAML (the format mix_audit reads).
--db may be given several times; without it, .shipgate/osv is used when it
exists. --online also asks the OSV API (api.osv.dev) for the packages; nothing
leaves the machine without it.

Versions are compared with each ecosystem's rules (SemVer with Go
pseudo-versions and +incompatible, PEP 440, RubyGems, Hex...). Withdrawn
records are ignored; records that alias each other are one finding. Each
finding gives the package, version, IDs and aliases, the CVSS base score
computed from the record's v3 or v4 vector, the summary and the version to
move to.

The ignore file (default .shipgate/deps-ignore.yml when present) accepts
findings; every entry needs a reason and an expiry date:

  ignore:
    - id: GHSA-2q6v-32mr-8p8x
      package: plug
      reason: we never serve uploads with Plug.Static
      expires: 2026-12-31

Exit codes: 0 no open vulnerability, 1 vulnerable packages, 2 bad input.`,
		Example: `  shipgate deps audit --db ~/osv/Hex/all.zip --db ~/osv/Go/all.zip
  shipgate deps audit services/api --db .shipgate/osv --sarif deps.sarif
  shipgate deps audit --online --ignore .shipgate/deps-ignore.yml --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now().UTC()
			if nowFlag != "" {
				t, err := time.Parse("2006-01-02", nowFlag)
				if err != nil {
					return usageError("--today: %v", err)
				}
				now = t
			}
			inv, err := scanInventory(rootArg(args))
			if err != nil {
				return err
			}
			if len(dbs) == 0 {
				if st, err := os.Stat(defaultDB); err == nil && st.IsDir() {
					dbs = []string{defaultDB}
				}
			}
			var db *osv.DB
			if len(dbs) > 0 {
				// Keep only records about our packages: full exports are large.
				flt := osv.NewFilter()
				for _, p := range inv.Packages() {
					flt.Add(p.Ecosystem, p.Name)
				}
				if db, err = osv.LoadFor(flt, dbs...); err != nil {
					return asUsage(err)
				}
			}
			if online {
				recs, err := (&deps.Online{Base: api}).Records(cmd.Context(), inv.Packages())
				if err != nil {
					return failed(err)
				}
				if db != nil {
					recs = append(recs, db.Records...)
				}
				db = osv.New(recs...)
			}
			opt := deps.Options{Inventory: inv, DB: db, Now: now, DBSource: strings.Join(dbs, ",")}
			if ignore == "" {
				if _, err := os.Stat(defaultIgnore); err == nil {
					ignore = defaultIgnore
				}
			}
			if ignore != "" {
				if opt.Ignore, err = deps.LoadIgnore(ignore); err != nil {
					return asUsage(err)
				}
			}
			return a.emit(&flags, deps.Audit(opt))
		},
	}
	flags.register(c)
	c.Flags().StringArrayVar(&dbs, "db", nil, "vulnerability records: a `DIR` of OSV JSON/YAML, or a zip export (repeatable)")
	c.Flags().StringVar(&ignore, "ignore", "", "ignore `FILE` (default .shipgate/deps-ignore.yml when present)")
	c.Flags().BoolVar(&online, "online", false, "also query the OSV API for the packages")
	c.Flags().StringVar(&api, "api", deps.DefaultAPI, "OSV API base `URL` for --online")
	c.Flags().StringVar(&nowFlag, "today", "", "evaluate ignore expiry as of `YYYY-MM-DD` (default today)")
	_ = c.Flags().MarkHidden("api")
	return c
}

func (a *app) depsTreeCmd() *cobra.Command {
	var (
		asJSON bool
		output string
		depth  int
		dbs    []string
	)
	c := &cobra.Command{
		Use:   "tree [PATH]",
		Short: "Print the dependency tree as Markdown",
		Long: `Print each lockfile's dependencies as a nested Markdown list (direct
dependencies first, their dependencies below where the lockfile records the
edges), for a job summary. The Markdown is also appended to
$GITHUB_STEP_SUMMARY when that is set. With --db, vulnerable packages are
marked. --json prints the inventory instead: every lockfile with its packages
(ecosystem, name, version, purl, relation, hashes, edges).`,
		Example: `  shipgate deps tree
  shipgate deps tree --db .shipgate/osv --output deps.md
  shipgate deps tree services/api --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := scanInventory(rootArg(args))
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(inv)
			}
			o := deps.TreeOptions{MaxDepth: depth}
			if len(dbs) > 0 {
				db, err := osv.Load(dbs...)
				if err != nil {
					return asUsage(err)
				}
				o.Vulnerable = map[string]string{}
				for _, p := range inv.Packages() {
					var ids []string
					for _, v := range db.Match(p.Ecosystem, p.Name, p.Version) {
						ids = append(ids, v.ID)
					}
					if len(ids) > 0 {
						o.Vulnerable[p.ID()] = strings.Join(ids, ", ")
					}
				}
			}
			md := deps.TreeMarkdown(inv, o)
			if output != "" {
				if err := atomicfile.Write(output, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, md); return err }); err != nil {
					return asUsage(err)
				}
			} else if _, err := io.WriteString(a.stdout, md); err != nil {
				return err
			}
			if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
				f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				if err == nil {
					_, err = io.WriteString(f, md)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}
				if err != nil {
					fmt.Fprintf(a.stderr, "shipgate: warning: step summary: %v\n", err)
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the inventory as JSON")
	c.Flags().StringVar(&output, "output", "", "write the Markdown to `FILE` instead of stdout")
	c.Flags().IntVar(&depth, "depth", 8, "deepest nesting shown")
	c.Flags().StringArrayVar(&dbs, "db", nil, "mark packages with vulnerabilities from these records (`DIR` or zip)")
	return c
}

func (a *app) depsCheckLockCmd() *cobra.Command {
	var flags reportFlags
	c := &cobra.Command{
		Use:   "check-lock [PATH]",
		Short: "Fail when a lockfile disagrees with its manifest",
		Long: `Compare each lockfile under PATH with its manifest: rebar.lock with
rebar.config, mix.lock with mix.exs, go.sum with go.mod, package-lock.json
with package.json. Fails when a declared dependency is not locked, is locked
at a version the manifest does not allow, or when the lockfile keeps a
top-level dependency the manifest no longer declares ("is rebar.lock up to
date?"). A manifest with dependencies and no lockfile fails too.

Exit codes: 0 all agree, 1 a disagreement, 2 unreadable input.`,
		Example: `  shipgate deps check-lock
  shipgate deps check-lock apps/ --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := deps.CheckLock(rootArg(args))
			if err != nil {
				var pe *fs.PathError
				if errors.As(err, &pe) {
					return asUsage(err)
				}
				return asUsage(err)
			}
			return a.emit(&flags, r)
		},
	}
	flags.register(c)
	return c
}

func (a *app) depsDBCmd() *cobra.Command {
	var (
		dbs    []string
		export string
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "db",
		Short: "Inspect or export a vulnerability database",
		Long: `Load vulnerability records (as deps audit --db does) and print how many
there are per ecosystem. --export DIR writes them as osv.dev zip exports laid
out as osv-scanner's local database (DIR/osv-scalibr/<Ecosystem>/all.zip), so
both tools can be fed the same records; elixir-security-advisories YAML is
converted to OSV on the way.`,
		Example: `  shipgate deps db --db corpus/osv
  shipgate deps db --db corpus/osv --export /tmp/osvdb && osv-scanner scan source --offline --local-db-path /tmp/osvdb .`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(dbs) == 0 {
				return usageError("give --db DIR")
			}
			db, err := osv.Load(dbs...)
			if err != nil {
				return asUsage(err)
			}
			counts := map[string]int{}
			for _, r := range db.Records {
				seen := map[string]bool{}
				for _, af := range r.Affected {
					if e := af.Package.Ecosystem; !seen[e] {
						seen[e] = true
						counts[e]++
					}
				}
			}
			if export != "" {
				if _, err := db.ExportZips(export); err != nil {
					return asUsage(err)
				}
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"records": len(db.Records), "ecosystems": counts})
			}
			fmt.Fprintf(a.stdout, "%d records\n", len(db.Records))
			for _, e := range sortedStrings(counts) {
				fmt.Fprintf(a.stdout, "  %-12s %d\n", e, counts[e])
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&dbs, "db", nil, "records: a `DIR` of OSV JSON/YAML or a zip export (repeatable)")
	c.Flags().StringVar(&export, "export", "", "write osv-scanner's local database layout under `DIR`")
	c.Flags().BoolVar(&asJSON, "json", false, "print the counts as JSON")
	return c
}

func sortedStrings[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
