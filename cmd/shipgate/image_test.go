package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/image/imagetest"
)

const imageDB = "../../internal/gate/image/testdata/osv-debian"

// TestImageCommands: build the real bookworm rootfs twice (same digest),
// inventory it, scan it (exit 1 only when a CRITICAL is present with
// --fail-on CRITICAL), whiteout zlib1g in an upper layer, write its SBOM.
func TestImageCommands(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	root := imagetest.DebianRootfs(t, false)
	out := t.TempDir()
	var digests []string
	for i, o := range []string{"oci:" + filepath.Join(out, "a"), "docker-archive:" + filepath.Join(out, "b.tar")} {
		code, stdout, stderr := runMain(t, "", "image", "build", "--base", root, "--output", o, "--json")
		if code != 0 {
			t.Fatalf("build %d: exit %d\n%s%s", i, code, stdout, stderr)
		}
		var r struct{ Digest string }
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		digests = append(digests, r.Digest)
	}
	if digests[0] != digests[1] || !strings.HasPrefix(digests[0], "sha256:") {
		t.Errorf("digests: %v", digests)
	}
	img := filepath.Join(out, "b.tar")

	code, stdout, _ := runMain(t, "", "image", "inventory", img)
	if code != 0 || !strings.Contains(stdout, "zlib1g      1:1.2.13.dfsg-1   deb   zlib     0      /var/lib/dpkg/status") ||
		!strings.Contains(stdout, "4 packages") {
		t.Errorf("inventory: exit %d\n%s", code, stdout)
	}

	code, stdout, _ = runMain(t, "", "image", "scan", img, "--db", imageDB, "--fail-on", "CRITICAL")
	if code != 1 || !strings.Contains(stdout, "DEBIAN-CVE-2023-45853") || !strings.Contains(stdout, "DSA-6015-1") {
		t.Errorf("scan with zlib: exit %d\n%s", code, stdout)
	}

	// An upper layer whites out zlib1g (distroless status.d layout).
	rootD := imagetest.DebianRootfs(t, true)
	upper := t.TempDir()
	os.MkdirAll(filepath.Join(upper, "var/lib/dpkg/status.d"), 0o755)
	os.WriteFile(filepath.Join(upper, "var/lib/dpkg/status.d/.wh.zlib1g"), nil, 0o644)
	noZlib := "oci:" + filepath.Join(out, "nozlib")
	if code, so, se := runMain(t, "", "image", "build", "--base", rootD, "--layer", upper+":/", "--output", noZlib); code != 0 {
		t.Fatalf("build: %d %s %s", code, so, se)
	}
	code, stdout, _ = runMain(t, "", "image", "inventory", noZlib, "--json")
	if code != 0 || strings.Contains(stdout, `"zlib1g"`) || !strings.Contains(stdout, `"libssl3"`) {
		t.Errorf("inventory after whiteout: exit %d\n%s", code, stdout)
	}
	sarif := filepath.Join(out, "image.sarif")
	code, stdout, _ = runMain(t, "", "image", "scan", noZlib, "--db", imageDB, "--fail-on", "CRITICAL", "--sarif", sarif)
	if code != 0 || !strings.Contains(stdout, "image: warn") {
		t.Errorf("scan without zlib, --fail-on CRITICAL: exit %d\n%s", code, stdout)
	}
	if b, err := os.ReadFile(sarif); err != nil || !strings.Contains(string(b), "DSA-6015-1") {
		t.Errorf("sarif: %v", err)
	}
	if code, _, _ = runMain(t, "", "image", "scan", noZlib, "--db", imageDB, "--fail-on", "HIGH"); code != 1 {
		t.Errorf("scan without zlib, --fail-on HIGH: exit %d", code)
	}

	// SBOM: deterministic, with the deb purls.
	var boms []string
	for i := 0; i < 2; i++ {
		code, stdout, _ = runMain(t, "", "image", "sbom", img, "--format", "cyclonedx-json")
		if code != 0 {
			t.Fatalf("sbom: exit %d", code)
		}
		boms = append(boms, stdout)
	}
	if boms[0] != boms[1] || !strings.Contains(boms[0], "pkg:deb/debian/libssl3@3.0.17-1~deb12u2?arch=amd64") {
		t.Errorf("sbom not deterministic or lacks purls:\n%s", boms[0])
	}
}

func TestImageBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "build"}, "--output is required"},
		{[]string{"image", "build", "--output", "oci:x", "--base", "/no/such"}, "no such file"},
		{[]string{"image", "build", "--output", "oci:x", "--entrypoint", "[oops"}, "not a JSON array"},
		{[]string{"image", "inventory", "/no/such.tar"}, "no such file"},
		{[]string{"image", "scan", "/no/such.tar", "--fail-on", "SEVERE"}, "--fail-on"},
		{[]string{"image", "sbom", "x", "--format", "pdf"}, "unknown --format"},
	} {
		code, _, stderr := runMain(t, t.TempDir(), c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	// A Dockerfile with RUN: exit 2, the line named.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nRUN make\n"), 0o644)
	code, _, stderr := runMain(t, "", "image", "build", "-f", filepath.Join(dir, "Dockerfile"), "--output", "oci:"+filepath.Join(dir, "o"))
	if code != 2 || !strings.Contains(stderr, "Dockerfile:2:1: RUN needs a container runtime") {
		t.Errorf("RUN: exit %d %s", code, stderr)
	}
}

// TestImageScanOnline: --online asks the OSV API (a local fake here) about
// the source packages in their release's ecosystem.
func TestImageScanOnline(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	record, err := os.ReadFile(filepath.Join(imageDB, "DSA-6015-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/querybatch":
			var q struct {
				Queries []struct {
					Package struct{ Ecosystem, Name string }
					Version string
				}
			}
			json.NewDecoder(r.Body).Decode(&q)
			var results []map[string]any
			for _, x := range q.Queries {
				asked = append(asked, x.Package.Ecosystem+" "+x.Package.Name+" "+x.Version)
				var vulns []map[string]string
				if x.Package.Name == "openssl" {
					vulns = append(vulns, map[string]string{"id": "DSA-6015-1"})
				}
				results = append(results, map[string]any{"vulns": vulns})
			}
			json.NewEncoder(w).Encode(map[string]any{"results": results})
		case "/v1/vulns/DSA-6015-1":
			w.Write(record)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "img.tar")
	if code, so, se := runMain(t, "", "image", "build", "--base", imagetest.DebianRootfs(t, false), "--output", "docker-archive:"+out); code != 0 {
		t.Fatalf("build: %s %s", so, se)
	}
	code, stdout, stderr := runMain(t, t.TempDir(), "image", "scan", out, "--online", "--api", srv.URL, "--json")
	if code != 1 || !strings.Contains(stdout, `"DSA-6015-1"`) {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	sort.Strings(asked)
	want := []string{"Debian:12 base-files 12.4+deb12u15", "Debian:12 expat 2.5.0-1+deb12u5", "Debian:12 openssl 3.0.17-1~deb12u2", "Debian:12 zlib 1:1.2.13.dfsg-1"}
	if strings.Join(asked, "\n") != strings.Join(want, "\n") {
		t.Errorf("asked:\n%s\nwant:\n%s", strings.Join(asked, "\n"), strings.Join(want, "\n"))
	}
}
