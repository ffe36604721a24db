package actions

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is an Env whose Exec records the command line instead of running it.
func recorder(t *testing.T, inputs map[string]string) (*Env, *[]string) {
	t.Helper()
	ws := t.TempDir()
	var got []string
	e := &Env{
		Workspace: ws, StateDir: filepath.Join(ws, ".shipgate"), Self: "/bin/shipgate", RunID: 7,
		Inputs: inputs,
		Log:    func(string, ...any) {},
		Exec: func(ctx context.Context, argv []string, dir string) (int, error) {
			got = argv
			return 0, nil
		},
	}
	return e, &got
}

func TestImageActionsRunShipgate(t *testing.T) {
	cases := []struct {
		ref    string
		inputs map[string]string
		want   string
	}{
		{"aquasecurity/trivy-action@0.28.0", map[string]string{"image-ref": "app.tar", "format": "sarif", "output": "trivy.sarif", "severity": "CRITICAL,HIGH", "exit-code": "1", "ignore-unfixed": "true"},
			"image scan app.tar --ignore-unfixed --severity CRITICAL,HIGH --fail-on HIGH --sarif WS/trivy.sarif"},
		{"aquasecurity/trivy-action@master", map[string]string{"image-ref": "oci:out", "severity": "CRITICAL"},
			"image scan oci:out --severity CRITICAL"},
		{"anchore/sbom-action@v0", map[string]string{"image": "oci:out", "format": "cyclonedx-json", "output-file": "sbom.json"},
			"image sbom oci:out --format cyclonedx-json --output WS/sbom.json"},
		{"anchore/sbom-action@v0", map[string]string{"path": "."},
			"sbom WS --format spdx-json --output WS/sbom.spdx.json"},
		{"anchore/scan-action@v3", map[string]string{"image": "oci:out", "severity-cutoff": "critical"},
			"image scan oci:out --fail-on CRITICAL --sarif WS/results.sarif"},
		{"docker/build-push-action@v5", map[string]string{"context": ".", "tags": "app:1.0\napp:latest", "load": "true", "build-args": "VSN=1"},
			"image build --file WS/Dockerfile --context WS --output docker-archive:WS/.shipgate/images/app_1.0.tar --tag app:1.0 --tag app:latest --build-arg VSN=1"},
	}
	for _, c := range cases {
		e, got := recorder(t, c.inputs)
		f, err := Lookup(c.ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f(context.Background(), e); err != nil {
			t.Errorf("%s: %v", c.ref, err)
			continue
		}
		line := strings.ReplaceAll(strings.Join((*got)[1:], " "), e.Workspace, "WS")
		if line != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.ref, line, c.want)
		}
	}
}

func TestImageActionsRefuseWhatNeedsTheNetwork(t *testing.T) {
	for ref, in := range map[string]map[string]string{
		"docker/build-push-action@v5":      {"push": "true", "tags": "x"},
		"aquasecurity/trivy-action@master": {"scan-type": "repo"},
		"anchore/scan-action@v3":           {"path": "."},
	} {
		e, _ := recorder(t, in)
		f, _ := Lookup(ref)
		if _, err := f(context.Background(), e); err == nil {
			t.Errorf("%s %v: want an error", ref, in)
		}
	}
}

func TestUploadSARIFKeepsTheFileWithTheRun(t *testing.T) {
	e, _ := recorder(t, map[string]string{"sarif_file": "r.sarif"})
	os.WriteFile(filepath.Join(e.Workspace, "r.sarif"), []byte(`{"version":"2.1.0"}`), 0o644)
	f, _ := Lookup("github/codeql-action/upload-sarif@v3")
	if _, err := f(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(e.StateDir, "sarif", "7", "r.sarif")); err != nil || !strings.Contains(string(b), "2.1.0") {
		t.Fatalf("kept file: %q, %v", b, err)
	}
}

func TestGHReleaseIsKeptLocally(t *testing.T) {
	e, _ := recorder(t, map[string]string{"tag_name": "v1.2.0", "body": "notes", "files": "dist/*.tar.gz"})
	e.Environ = map[string]string{}
	os.MkdirAll(filepath.Join(e.Workspace, "dist"), 0o755)
	os.WriteFile(filepath.Join(e.Workspace, "dist", "app.tar.gz"), []byte("x"), 0o644)
	f, _ := Lookup("softprops/action-gh-release@v2")
	res, err := f(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.StateDir, "releases", "v1.2.0", "app.tar.gz")); err != nil {
		t.Fatalf("release file not kept: %v (outputs %v)", err, res.Outputs)
	}
}
