package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/shipgate/shipgate/internal/atomicfile"
	"github.com/shipgate/shipgate/internal/gate/deps"
	imagegate "github.com/shipgate/shipgate/internal/gate/image"
	"github.com/shipgate/shipgate/internal/gate/sbom"
	"github.com/shipgate/shipgate/internal/image"
	"github.com/shipgate/shipgate/internal/image/dockerfile"
	"github.com/shipgate/shipgate/internal/image/inventory"
	"github.com/shipgate/shipgate/internal/osv"
	"github.com/spf13/cobra"
)

func (a *app) imageCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "image",
		Short: "Build, inventory, scan and describe container images without a daemon",
		Long: `Container images without a Docker engine: build them from a base and
layers (or a simple Dockerfile), list their packages layer by layer, match
those against OSV vulnerability records, and write their SBOM.

IMAGE is an OCI layout folder (oci:DIR), a docker-archive tarball
(docker-archive:FILE.tar, what 'docker save' writes) or a root filesystem
folder (rootfs:DIR); a bare path is recognised by its content.`,
		Example: `  shipgate image build --base rootfs/ --layer _build/prod/rel/app:/app --entrypoint /app/bin/app --output oci:out/app
  shipgate image inventory oci:out/app
  shipgate image scan oci:out/app --db .shipgate/osv --fail-on CRITICAL --sarif image.sarif
  shipgate image sbom oci:out/app --format cyclonedx-json --output app.cdx.json`,
	}
	c.AddCommand(a.imageBuildCmd(), a.imageInventoryCmd(), a.imageScanCmd(), a.imageSBOMCmd())
	return c
}

// commandArg reads --entrypoint/--cmd: a JSON array, or words split on
// white space.
func commandArg(flag, s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var out []string
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, usageError("--%s %s: not a JSON array of strings: %v", flag, s, err)
		}
		return out, nil
	}
	return strings.Fields(s), nil
}

func imageKeyValues(flag string, list []string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError("--%s %q: want KEY=VALUE", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

func (a *app) imageBuildCmd() *cobra.Command {
	var (
		base, entrypoint, cmdStr, user, workdir, platform, output, tag string
		file, contextDir                                               string
		layers, env, labels, expose, buildArgs, baseImages             []string
		asJSON                                                         bool
	)
	c := &cobra.Command{
		Use:   "build",
		Short: "Build an image from a base and layers, or from a simple Dockerfile",
		Long: `Build an image without a daemon, through go-containerregistry.

--base is scratch (default), an OCI layout, a docker-archive tarball or a
root filesystem folder. Each --layer SRC[:DEST] adds one layer: a folder's
contents go under DEST (default /), a .tar/.tar.gz/.tgz is unpacked under
DEST (e.g. a 'rebar3 tar' release), another file lands at DEST (default
/NAME; a DEST ending in / keeps the name).

--file reads a Dockerfile of FROM, ARG, COPY, ADD, ENV, WORKDIR, USER,
ENTRYPOINT, CMD, EXPOSE and LABEL instead (COPY and ADD read --context).
RUN needs a container runtime and is an error naming its line. FROM names
a local image through --base-image NAME=REF (nothing is pulled); FROM
scratch needs none. Flags given beside --file override the Dockerfile.

Builds are reproducible: every entry gets the time in $SOURCE_DATE_EPOCH
(else 1970-01-01), owner 0:0 and sorted order, so the same inputs give the
same digest. --output is oci:DIR or docker-archive:FILE.tar ('docker load'
reads it); the manifest digest is printed.`,
		Example: `  shipgate image build --base rootfs/ --output oci:out/base
  shipgate image build --base oci:out/base --layer _build/prod/rel/erlmcp:/opt/erlmcp \
      --entrypoint '["/opt/erlmcp/bin/erlmcp","foreground"]' --env LANG=C.UTF-8 \
      --user 1000 --workdir /opt/erlmcp --label org.opencontainers.image.source=https://github.com/o/r \
      --output docker-archive:erlmcp.tar --tag erlmcp:1.2.0
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) shipgate image build --file Dockerfile --context . \
      --base-image debian:12-slim=oci:images/debian --output oci:out/app`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := image.SourceDateEpoch()
			if err != nil {
				return usageError("%v", err)
			}
			if output == "" {
				return usageError("--output is required (oci:DIR or docker-archive:FILE.tar)")
			}
			var o image.BuildOptions
			if file != "" {
				src, err := os.ReadFile(file)
				if err != nil {
					return asUsage(err)
				}
				bases, err := imageKeyValues("base-image", baseImages)
				if err != nil {
					return err
				}
				bargs, err := imageKeyValues("build-arg", buildArgs)
				if err != nil {
					return err
				}
				if contextDir == "" {
					contextDir = filepath.Dir(file)
				}
				o, err = dockerfile.Parse(file, src, dockerfile.Options{Context: contextDir, BuildArgs: bargs, Bases: bases, Platform: platform})
				if err != nil {
					return asUsage(err)
				}
				if base != "" {
					o.Base = base
				}
			} else {
				o.Base = base
			}
			o.Time = t
			if platform != "" {
				o.Platform = platform
			}
			for _, l := range layers {
				spec, err := image.ParseLayerSpec(l)
				if err != nil {
					return usageError("%v", err)
				}
				o.Layers = append(o.Layers, spec)
			}
			if cmd.Flags().Changed("entrypoint") {
				if o.Entrypoint, err = commandArg("entrypoint", entrypoint); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("cmd") {
				if o.Cmd, err = commandArg("cmd", cmdStr); err != nil {
					return err
				}
			}
			o.Env = append(o.Env, env...)
			if user != "" {
				o.User = user
			}
			if workdir != "" {
				o.Workdir = workdir
			}
			lm, err := imageKeyValues("label", labels)
			if err != nil {
				return err
			}
			if len(lm) > 0 && o.Labels == nil {
				o.Labels = map[string]string{}
			}
			for k, v := range lm {
				o.Labels[k] = v
			}
			o.ExposedPorts = append(o.ExposedPorts, expose...)
			img, err := image.Build(o)
			if err != nil {
				return asUsage(err)
			}
			digest, err := image.Write(img, output, tag)
			if err != nil {
				return asUsage(err)
			}
			return a.printBuild(img, digest, output, asJSON)
		},
	}
	f := c.Flags()
	f.StringVar(&base, "base", "", "base image: scratch, oci:DIR, docker-archive:FILE.tar or a rootfs folder")
	f.StringArrayVar(&layers, "layer", nil, "add a layer from `SRC[:DEST]` (folder, file or tarball; repeatable)")
	f.StringVar(&entrypoint, "entrypoint", "", "entrypoint: a JSON array or words")
	f.StringVar(&cmdStr, "cmd", "", "default arguments: a JSON array or words")
	f.StringArrayVar(&env, "env", nil, "environment variable `KEY=VALUE` (repeatable)")
	f.StringVar(&user, "user", "", "user (and group) the container runs as")
	f.StringVar(&workdir, "workdir", "", "working directory")
	f.StringArrayVar(&labels, "label", nil, "label `KEY=VALUE` (repeatable)")
	f.StringArrayVar(&expose, "expose", nil, "exposed port `PORT[/PROTO]` (repeatable)")
	f.StringVar(&platform, "platform", "", "platform os/arch[/variant] (default: the base's, else linux/amd64)")
	f.StringVar(&output, "output", "", "where to write: oci:DIR or docker-archive:FILE.tar")
	f.StringVar(&tag, "tag", "", "image name recorded in the output (default "+image.DefaultTag+")")
	f.StringVarP(&file, "file", "f", "", "build from this Dockerfile (subset without RUN)")
	f.StringVar(&contextDir, "context", "", "build context for --file (default: the Dockerfile's folder)")
	f.StringArrayVar(&buildArgs, "build-arg", nil, "Dockerfile ARG value `KEY=VALUE` (repeatable)")
	f.StringArrayVar(&baseImages, "base-image", nil, "map a Dockerfile FROM name to a local image: `NAME=REF` (repeatable)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return c
}

func (a *app) printBuild(img v1.Image, digest v1.Hash, output string, asJSON bool) error {
	ls, err := img.Layers()
	if err != nil {
		return err
	}
	type layerOut struct {
		Digest string `json:"digest"`
		DiffID string `json:"diff_id"`
		Size   int64  `json:"size"`
	}
	out := struct {
		Output string     `json:"output"`
		Digest string     `json:"digest"`
		Layers []layerOut `json:"layers"`
	}{Output: output, Digest: digest.String(), Layers: []layerOut{}}
	for _, l := range ls {
		d, _ := l.Digest()
		di, _ := l.DiffID()
		sz, _ := l.Size()
		out.Layers = append(out.Layers, layerOut{d.String(), di.String(), sz})
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(a.stdout, "image: wrote %s\ndigest: %s\nlayers: %d\n", output, digest, len(ls))
	return nil
}

// openInventory opens an image and lists its packages.
func openInventory(ref, platform string) (*inventory.Result, error) {
	img, err := image.Open(ref, platform)
	if err != nil {
		return nil, asUsage(err)
	}
	res, err := inventory.Scan(img)
	if err != nil {
		return nil, asUsage(fmt.Errorf("%s: %w", ref, err))
	}
	return res, nil
}

func (a *app) imageInventoryCmd() *cobra.Command {
	var (
		asJSON   bool
		platform string
	)
	c := &cobra.Command{
		Use:   "inventory IMAGE",
		Short: "List the packages of an image, layer by layer",
		Long: `List the packages in an image with the layer each came from, honouring
whiteouts (a package whose files an upper layer deletes is gone):

  OS packages   dpkg status and status.d (Debian, Ubuntu, distroless),
                apk installed database (Alpine)
  language      Go binaries' build info, node_modules package.json, Python
                site-packages METADATA, jars, OTP applications of a rebar3
                or mix release (lib/NAME-VSN/ebin/NAME.app), and lockfiles
                (package-lock.json, Cargo.lock, rebar.lock, mix.lock, ...)

OS packages name their source package (what Debian, Ubuntu and Alpine
advisories name). The distribution comes from os-release.`,
		Example: `  shipgate image inventory oci:out/app
  shipgate image inventory app.tar --json | jq '.packages[] | select(.type=="deb") | .name'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := openInventory(args[0], platform)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			return writeInventoryText(a.stdout, res)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the inventory as JSON")
	c.Flags().StringVar(&platform, "platform", "", "pick this os/arch from a multi-platform layout")
	return c
}

func writeInventoryText(w io.Writer, res *inventory.Result) error {
	if d := res.Distro; d != nil {
		name := d.Pretty
		if name == "" {
			name = d.ID + " " + d.VersionID
		}
		fmt.Fprintf(w, "distro: %s\n", name)
	}
	for _, l := range res.Layers {
		fmt.Fprintf(w, "layer %d: %s  %d packages  %s\n", l.Index, short(l.DiffID), l.Packages, l.CreatedBy)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tTYPE\tSOURCE\tLAYER\tLOCATION")
	for _, p := range res.Packages {
		src := p.SourceName
		if p.SourceVersion != "" {
			src += " " + p.SourceVersion
		}
		if src == "" {
			src = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", p.Name, p.Version, p.Type, src, p.Layer, p.Location)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d packages\n", len(res.Packages))
	for _, p := range res.Problems {
		fmt.Fprintf(w, "warning: %s\n", p)
	}
	return nil
}

func short(d string) string {
	if i := strings.Index(d, ":"); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

func (a *app) imageScanCmd() *cobra.Command {
	var (
		flags              reportFlags
		dbs, severities    []string
		failOn, ignorePath string
		platform, nowFlag  string
		ignoreUnfixed      bool
		online             bool
		api                string
	)
	c := &cobra.Command{
		Use:   "scan IMAGE",
		Short: "Match an image's packages against OSV vulnerability records",
		Long: `List the image's packages (as 'shipgate image inventory') and match them
against OSV records from --db (folders of OSV JSON/YAML, osv.dev zip exports;
default .shipgate/osv): Debian, Ubuntu and Alpine advisories by source
package with dpkg's and apk's version ordering, language packages by their
ecosystem's.

Each finding gives the package, the layer it came from, the IDs and aliases,
the severity (the highest CVSS base score of the records' vectors, else the
database's rating, else UNKNOWN) and the fixed version. --online also asks
the OSV API about the packages (source package and release for OS packages);
nothing leaves the machine without it. --severity keeps only
the listed severities. --ignore accepts findings: the YAML file of 'deps
audit' (id, package, reason, expires) or a .trivyignore list of IDs.

Exit codes: 0 no open finding at or above --fail-on (default: any), 1 one
is present, 2 bad input.`,
		Example: `  shipgate image scan oci:out/app --db .shipgate/osv --fail-on CRITICAL
  shipgate image scan app.tar --db ~/osv/Debian/all.zip --format sarif > image.sarif
  shipgate image scan oci:out/app --severity CRITICAL,HIGH --ignore .trivyignore --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now().UTC()
			if nowFlag != "" {
				t, err := time.Parse("2006-01-02", nowFlag)
				if err != nil {
					return usageError("--today: %v", err)
				}
				now = t
			}
			if failOn != "" && imagegate.SeverityRank(failOn) < 0 {
				return usageError("--fail-on %q: want one of %s", failOn, strings.Join(imagegate.Severities, ", "))
			}
			var sevs []string
			for _, s := range severities {
				for _, p := range strings.Split(s, ",") {
					if p = strings.TrimSpace(p); p != "" {
						sevs = append(sevs, p)
					}
				}
			}
			res, err := openInventory(args[0], platform)
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
				if db, err = osv.Load(dbs...); err != nil {
					return asUsage(err)
				}
			}
			if online {
				recs, err := (&deps.Online{Base: api}).Records(cmd.Context(), imagegate.QueryPackages(res))
				if err != nil {
					return failed(err)
				}
				if db != nil {
					recs = append(recs, db.Records...)
				}
				db = osv.New(recs...)
				dbs = append(dbs, api)
			}
			o := imagegate.Options{Image: args[0], Inventory: res, DB: db, DBSource: strings.Join(dbs, ","),
				FailOn: failOn, Severities: sevs, IgnoreUnfixed: ignoreUnfixed, Now: now}
			if ignorePath != "" {
				if o.Ignore, err = imagegate.LoadIgnore(ignorePath); err != nil {
					return asUsage(err)
				}
			}
			r, err := imagegate.Scan(o)
			if err != nil {
				return usageError("%v", err)
			}
			return a.emit(&flags, r)
		},
	}
	flags.register(c)
	c.Flags().StringArrayVar(&dbs, "db", nil, "OSV records: a folder or a zip export (repeatable; default .shipgate/osv)")
	c.Flags().StringVar(&failOn, "fail-on", "", "lowest severity that fails: CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN (default: any)")
	c.Flags().StringArrayVar(&severities, "severity", nil, "report only these severities (comma-separated, repeatable)")
	c.Flags().BoolVar(&online, "online", false, "also ask the OSV API (api.osv.dev) about the packages")
	c.Flags().StringVar(&api, "api", deps.DefaultAPI, "OSV API base `URL` for --online")
	_ = c.Flags().MarkHidden("api")
	c.Flags().BoolVar(&ignoreUnfixed, "ignore-unfixed", false, "leave out vulnerabilities that have no fixed version yet")
	c.Flags().StringVar(&ignorePath, "ignore", "", "accepted findings: deps-ignore YAML or a .trivyignore list")
	c.Flags().StringVar(&platform, "platform", "", "pick this os/arch from a multi-platform layout")
	c.Flags().StringVar(&nowFlag, "today", "", "date deciding which ignore entries expired (YYYY-MM-DD; default today)")
	return c
}

func (a *app) imageSBOMCmd() *cobra.Command {
	var format, output, name, pversion, platform string
	c := &cobra.Command{
		Use:   "sbom IMAGE",
		Short: "Write the SBOM of an image (CycloneDX or SPDX)",
		Long: `Write the packages of an image (as 'shipgate image inventory' lists them)
as a CycloneDX 1.6 (JSON or XML) or SPDX 2.3 JSON bill of materials, with
the project SBOM writer: byte-identical output for the same image, the time
from $SOURCE_DATE_EPOCH when set. Each component keeps its purl
(pkg:deb/debian/zlib1g@...?distro=debian-12, pkg:golang/..., pkg:npm/...).`,
		Example: `  shipgate image sbom oci:out/app --format cyclonedx-json --output app.cdx.json
  shipgate image sbom app.tar --format spdx-json --name app --version 1.2.0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ok := false
			for _, f := range sbom.Formats {
				ok = ok || f == format
			}
			if !ok {
				return usageError("unknown --format %q (want %s)", format, strings.Join(sbom.Formats, ", "))
			}
			t, err := sbom.SourceDateEpoch()
			if err != nil {
				return usageError("%v", err)
			}
			res, err := openInventory(args[0], platform)
			if err != nil {
				return err
			}
			if name == "" {
				name = strings.TrimSuffix(filepath.Base(strings.TrimRight(args[0], "/")), ".tar")
				if i := strings.LastIndex(name, ":"); i >= 0 {
					name = name[i+1:]
				}
			}
			m := sbom.Build(imagegate.SBOMInventory(res), sbom.Options{Name: name, Version: pversion, ToolVersion: version, Time: t})
			sort.SliceStable(m.Components, func(i, j int) bool { return m.Components[i].Ref < m.Components[j].Ref })
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
			fmt.Fprintf(a.stdout, "image sbom: wrote %s (%s, %d components)\n", output, format, len(m.Components))
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "cyclonedx-json", "cyclonedx-json, cyclonedx-xml or spdx-json")
	c.Flags().StringVarP(&output, "output", "o", "", "write to `FILE` (default stdout)")
	c.Flags().StringVar(&name, "name", "", "name of the described image (default: from IMAGE)")
	c.Flags().StringVar(&pversion, "version", "", "version of the described image")
	c.Flags().StringVar(&platform, "platform", "", "pick this os/arch from a multi-platform layout")
	return c
}
