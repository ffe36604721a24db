package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"

	"github.com/shipgate/shipgate/internal/atomicfile"
	"github.com/shipgate/shipgate/internal/gate/license"
	"github.com/shipgate/shipgate/internal/gate/sbom"
	"github.com/spf13/cobra"
)

func (a *app) sbomCmd() *cobra.Command {
	var (
		format, output, name, pversion, goModCache string
		noLicenses                                 bool
	)
	c := &cobra.Command{
		Use:   "sbom [PATH]",
		Short: "Write a CycloneDX or SPDX software bill of materials",
		Long: `Write a software bill of materials of the dependencies locked under PATH
(default .): CycloneDX 1.6 as JSON or XML, or SPDX 2.3 as JSON.

Every distinct locked package is a component with its package URL, version,
the hashes its lockfile records (rebar.lock and mix.lock outer checksums,
npm integrity, Cargo checksums), its license (declared in installed package
metadata, else classified from its license files, as 'shipgate licenses'
finds them; --no-licenses skips the search), and its dependencies where the
lockfile has the graph (mix.lock, package-lock.json, Cargo.lock). The project
depends on its direct dependencies.

The output is byte-identical for the same input: components and edges are
sorted, the serial number and SPDX namespace are derived from the content,
and the timestamp is $SOURCE_DATE_EPOCH when set (else now).`,
		Example: `  shipgate sbom --format cyclonedx-json --output sbom.cdx.json
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) shipgate sbom --format spdx-json --output sbom.spdx.json
  shipgate sbom services/api --format cyclonedx-xml --name api --version 1.4.0`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := rootArg(args)
			ok := false
			for _, f := range sbom.Formats {
				ok = ok || f == format
			}
			if !ok {
				return usageError("unknown --format %q (want cyclonedx-json, cyclonedx-xml or spdx-json)", format)
			}
			t, err := sbom.SourceDateEpoch()
			if err != nil {
				return usageError("%v", err)
			}
			inv, err := scanInventory(root)
			if err != nil {
				return err
			}
			if name == "" {
				abs, _ := filepath.Abs(root)
				name = filepath.Base(abs)
			}
			o := sbom.Options{Name: name, Version: pversion, ToolVersion: version, Time: t}
			if !noLicenses {
				o.Licenses = license.Collect(inv, license.CollectOptions{Root: root, GoModCache: goModCache})
			}
			m := sbom.Build(inv, o)
			var buf bytes.Buffer
			if err := sbom.Write(&buf, m, format); err != nil {
				return err
			}
			if output == "" || output == "-" {
				_, err := a.stdout.Write(buf.Bytes())
				return err
			}
			if err := atomicfile.Write(output, 0o644, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
				return asUsage(err)
			}
			fmt.Fprintf(a.stdout, "sbom: wrote %s (%s, %d components)\n", output, format, len(m.Components))
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "cyclonedx-json", "cyclonedx-json, cyclonedx-xml or spdx-json")
	c.Flags().StringVar(&output, "output", "", "write to `FILE` (default stdout)")
	c.Flags().StringVar(&name, "name", "", "project name (default the folder's name)")
	c.Flags().StringVar(&pversion, "project-version", "", "project version")
	c.Flags().BoolVar(&noLicenses, "no-licenses", false, "do not look for installed packages' licenses")
	c.Flags().StringVar(&goModCache, "gomodcache", "", "Go module cache `DIR` for licenses (default $GOMODCACHE or ~/go/pkg/mod)")
	return c
}
