package release

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPublishLikeActionGhRelease writes a local release from the inputs of
// softprops/action-gh-release as the seed's pipeline gives them.
func TestPublishLikeActionGhRelease(t *testing.T) {
	work := t.TempDir()
	os.MkdirAll(filepath.Join(work, "dist"), 0o755)
	os.WriteFile(filepath.Join(work, "dist", "app_1.0.0.tar.gz"), []byte("tgz"), 0o644)
	os.WriteFile(filepath.Join(work, "dist", "SHA256SUMS"), []byte("sums"), 0o644)
	os.WriteFile(filepath.Join(work, "NOTES.md"), []byte("## v1.0.0\n"), 0o644)
	r, files, err := PublishInputs(map[string]string{
		"files":      "dist/*.tar.gz\ndist/SHA256SUMS",
		"body_path":  "NOTES.md",
		"prerelease": "false",
	}, work, "refs/tags/v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir, err := Publish(root, r, files)
	if err != nil {
		t.Fatal(err)
	}
	var got LocalRelease
	b, _ := os.ReadFile(filepath.Join(dir, "release.json"))
	if err := json.Unmarshal(b, &got); err != nil || got.Tag != "v1.0.0" || got.Name != "v1.0.0" || strings.Join(got.Files, ",") != "SHA256SUMS,app_1.0.0.tar.gz" || got.Body != "## v1.0.0\n" {
		t.Fatalf("release.json: %v %s", err, b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "app_1.0.0.tar.gz")); string(b) != "tgz" {
		t.Fatal("file not copied")
	}
	if _, _, err := PublishInputs(map[string]string{"files": "dist/*.zip"}, work, "refs/tags/v1"); err == nil || !strings.Contains(err.Error(), "matches no file") {
		t.Fatalf("unmatched files: %v", err)
	}
	if _, _, err := PublishInputs(map[string]string{}, work, ""); err == nil {
		t.Fatal("no tag accepted")
	}
}
