package inventory_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/shipgate/shipgate/internal/image"
	"github.com/shipgate/shipgate/internal/image/imagetest"
	"github.com/shipgate/shipgate/internal/image/inventory"
)

var epoch = time.Unix(1700000000, 0).UTC()

// build builds an image from a base and layer folders, writes it as a
// docker-archive tarball and opens that again, so the test reads what a
// user's file would hold.
func build(t *testing.T, base string, layers ...string) v1.Image {
	t.Helper()
	o := image.BuildOptions{Base: base, Time: epoch}
	for _, l := range layers {
		o.Layers = append(o.Layers, image.LayerSpec{Src: l, Dest: "/"})
	}
	img, err := image.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "img.tar")
	if _, err := image.Write(img, "docker-archive:"+out, ""); err != nil {
		t.Fatal(err)
	}
	img, err = image.Open(out, "")
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func scan(t *testing.T, img v1.Image) *inventory.Result {
	t.Helper()
	res, err := inventory.Scan(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		t.Errorf("problems: %v", res.Problems)
	}
	return res
}

func debLines(res *inventory.Result) []string {
	var out []string
	for _, p := range res.Packages {
		if p.Type == "deb" {
			out = append(out, strings.Join([]string{p.Name, p.Version, p.Architecture, p.MatchName(), p.MatchVersion()}, "\t"))
		}
	}
	sort.Strings(out)
	return out
}

// TestDpkgQueryAgreement: the inventory of an image built from a real
// Debian rootfs equals what dpkg-query reads from that rootfs, package for
// package: name, version, architecture, source package and source version.
func TestDpkgQueryAgreement(t *testing.T) {
	root := imagetest.DebianRootfs(t, false)
	out, err := exec.Command("dpkg-query", "-W", "--admindir="+filepath.Join(root, "var/lib/dpkg"),
		"-f", "${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	sort.Strings(want)
	if len(want) != 4 {
		t.Fatalf("dpkg-query listed %d packages, want the 4 committed .debs: %q", len(want), want)
	}
	res := scan(t, build(t, root))
	got := debLines(res)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("inventory differs from dpkg-query\n got: %q\nwant: %q", got, want)
	}
	if res.Distro == nil || res.Distro.ID != "debian" || res.Distro.VersionID != "12" {
		t.Errorf("distro = %+v, want debian 12 from the real base-files os-release", res.Distro)
	}
	for _, p := range res.Packages {
		if p.Ecosystem != "Debian:12" || p.Layer != 0 || p.Location != "/var/lib/dpkg/status" || p.Line == 0 {
			t.Errorf("%s: ecosystem %q layer %d location %q line %d", p.Name, p.Ecosystem, p.Layer, p.Location, p.Line)
		}
	}
	// A purl names the binary package, its arch, the distro and the source.
	for _, p := range res.Packages {
		if p.Name == "zlib1g" && p.PURL != "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib" {
			t.Errorf("zlib1g purl = %s", p.PURL)
		}
	}
}

// TestStatusD reads the distroless layout: one paragraph per file.
func TestStatusD(t *testing.T) {
	flat := debLines(scan(t, build(t, imagetest.DebianRootfs(t, false))))
	res := scan(t, build(t, imagetest.DebianRootfs(t, true)))
	if got := debLines(res); strings.Join(got, "\n") != strings.Join(flat, "\n") {
		t.Errorf("status.d inventory differs from status\n got: %q\nwant: %q", got, flat)
	}
	for _, p := range res.Packages {
		if p.Location != "/var/lib/dpkg/status.d/"+p.Name {
			t.Errorf("%s found in %s", p.Name, p.Location)
		}
	}
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func names(res *inventory.Result) map[string]int {
	m := map[string]int{}
	for _, p := range res.Packages {
		m[p.Name] = p.Layer
	}
	return m
}

// TestWhiteout: a whiteout in an upper layer removes the package; the
// others keep the layer they came from.
func TestWhiteout(t *testing.T) {
	base := build(t, imagetest.DebianRootfs(t, true))
	if _, ok := names(scan(t, base))["zlib1g"]; !ok {
		t.Fatal("zlib1g missing before the whiteout")
	}
	upper := t.TempDir()
	write(t, upper, "var/lib/dpkg/status.d/.wh.zlib1g", "")
	write(t, upper, "usr/lib/x86_64-linux-gnu/.wh.libz.so.1.2.13", "")
	img := build(t, imagetest.DebianRootfs(t, true), upper)
	got := names(scan(t, img))
	if _, ok := got["zlib1g"]; ok {
		t.Errorf("zlib1g still listed after .wh.zlib1g in layer 1: %v", got)
	}
	for _, n := range []string{"base-files", "libexpat1", "libssl3"} {
		if l, ok := got[n]; !ok || l != 0 {
			t.Errorf("%s: listed %v in layer %d, want layer 0", n, ok, l)
		}
	}

	// An opaque folder hides everything lower layers put in it.
	opq := t.TempDir()
	write(t, opq, "var/lib/dpkg/status.d/.wh..wh..opq", "")
	write(t, opq, "var/lib/dpkg/status.d/base-files", "Package: base-files\nVersion: 12.4+deb12u15\nArchitecture: amd64\n")
	got = names(scan(t, build(t, imagetest.DebianRootfs(t, true), opq)))
	if len(got) != 1 || got["base-files"] != 1 {
		t.Errorf("after an opaque status.d: %v, want only base-files from layer 1", got)
	}
}

// TestStatusFileLayers: with one status file rewritten by an upper layer
// (as apt does), a removed package is gone, a kept one stays in the layer
// that first had it, a new one belongs to the upper layer.
func TestStatusFileLayers(t *testing.T) {
	root := imagetest.DebianRootfs(t, false)
	status, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, para := range strings.Split(strings.TrimSpace(string(status)), "\n\n") {
		if !strings.HasPrefix(para, "Package: zlib1g\n") {
			kept = append(kept, para)
		}
	}
	kept = append(kept, "Package: tini\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.19.0-1")
	upper := t.TempDir()
	write(t, upper, "var/lib/dpkg/status", strings.Join(kept, "\n\n")+"\n")
	got := names(scan(t, build(t, root, upper)))
	want := map[string]int{"base-files": 0, "libexpat1": 0, "libssl3": 0, "tini": 1}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for n, l := range want {
		if gl, ok := got[n]; !ok || gl != l {
			t.Errorf("%s: in layer %d (listed %v), want layer %d", n, gl, ok, l)
		}
	}
}

// TestLanguagePackages: a layer with a Go binary, an npm package, a
// Python distribution and an OTP release: each package is found and
// belongs to that layer.
func TestLanguagePackages(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go tool is needed to build the test binary")
	}
	app := t.TempDir()
	// A real Go binary with build info.
	src := t.TempDir()
	write(t, src, "go.mod", "module example.com/hello\n\ngo 1.22\n")
	write(t, src, "main.go", "package main\n\nfunc main() { println(\"hi\") }\n")
	bin := filepath.Join(app, "usr/local/bin/hello")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	write(t, app, "srv/node_modules/left-pad/package.json", `{"name": "left-pad", "version": "1.3.0", "license": "WTFPL"}`)
	write(t, app, "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
		"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nSummary: Python HTTP for Humans.\n")
	write(t, app, "opt/erlmcp/lib/jsx-3.1.0/ebin/jsx.app",
		"{application,jsx,[{description,\"a streaming, evented json parsing toolkit\"},{vsn,\"3.1.0\"},{modules,[jsx]},{registered,[]},{applications,[kernel,stdlib]},{env,[]}]}.\n")
	res := scan(t, build(t, imagetest.DebianRootfs(t, false), app))
	type key struct{ typ, name string }
	found := map[key]inventory.Package{}
	for _, p := range res.Packages {
		found[key{p.Type, p.Name}] = p
	}
	for _, w := range []struct {
		typ, name, version, eco, loc string
	}{
		{"go-module", "example.com/hello", "", "Go", "/usr/local/bin/hello"},
		{"go-module", "stdlib", "", "Go", "/usr/local/bin/hello"},
		{"npm", "left-pad", "1.3.0", "npm", "/srv/node_modules/left-pad/package.json"},
		{"python", "requests", "2.31.0", "PyPI", "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA"},
		{"otp-app", "jsx", "3.1.0", "Hex", "/opt/erlmcp/lib/jsx-3.1.0/ebin/jsx.app"},
	} {
		p, ok := found[key{w.typ, w.name}]
		if !ok {
			t.Errorf("%s %s not found; got %+v", w.typ, w.name, res.Packages)
			continue
		}
		if (w.version != "" && p.Version != w.version) || p.Ecosystem != w.eco || p.Location != w.loc || p.Layer != 1 {
			t.Errorf("%s %s: got version %q ecosystem %q location %q layer %d", w.typ, w.name, p.Version, p.Ecosystem, p.Location, p.Layer)
		}
	}
	if res.Layers[1].Packages < 5 || res.Layers[0].Packages != 4 {
		t.Errorf("per-layer counts: %+v", res.Layers)
	}
}

// TestAlpine reads a real apk installed database: packages, origins as
// source names, the Alpine:v3.19 ecosystem.
func TestAlpine(t *testing.T) {
	res := scan(t, build(t, filepath.Join(imagetest.Testdata(), "alpine")))
	var got []string
	for _, p := range res.Packages {
		got = append(got, p.Type+" "+p.Ecosystem+" "+p.Name+" "+p.Version+" "+p.MatchName()+" "+p.Location)
	}
	want := []string{
		"apk Alpine:v3.19 bash 5.2.21-r0 bash /lib/apk/db/installed",
		"apk Alpine:v3.19 busybox-binsh 1.36.1-r15 busybox /lib/apk/db/installed",
		"apk Alpine:v3.19 musl 1.2.4_git20230717-r4 musl /lib/apk/db/installed",
		"apk Alpine:v3.19 readline 8.2.1-r2 readline /lib/apk/db/installed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRPM reads a real rpm database: Rocky Linux 9.2's rpmdb.sqlite from
// osv-scalibr's test data (in the module cache; 6 MB, so not copied here).
func TestRPM(t *testing.T) {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/google/osv-scalibr").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	db, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "extractor/filesystem/os/rpm/testdata/rpmdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	write(t, root, "etc/os-release", "NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.2\"\nPRETTY_NAME=\"Rocky Linux 9.2 (Blue Onyx)\"\n")
	write(t, root, "var/lib/rpm/rpmdb.sqlite", string(db))
	res := scan(t, build(t, root))
	byName := map[string]inventory.Package{}
	for _, p := range res.Packages {
		if p.Type != "rpm" || p.Location != "/var/lib/rpm/rpmdb.sqlite" || p.Layer != 0 {
			t.Errorf("%+v", p)
		}
		byName[p.Name] = p
	}
	if len(res.Packages) < 100 {
		t.Errorf("%d rpm packages, want the whole Rocky 9.2 base image", len(res.Packages))
	}
	for name, version := range map[string]string{"alternatives": "1.20-2.el9", "audit-libs": "3.0.7-103.el9", "basesystem": "11-13.el9"} {
		if p := byName[name]; p.Version != version || !strings.HasPrefix(p.Ecosystem, "Rocky Linux") {
			t.Errorf("%s: %+v", name, p)
		}
	}
}
