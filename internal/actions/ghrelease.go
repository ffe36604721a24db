package actions

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/shipgate/shipgate/internal/release"
)

func init() {
	builtins["softprops/action-gh-release"] = ghRelease
}

// ghRelease is softprops/action-gh-release kept on this machine: the
// release (name, notes, files) is written under .shipgate/releases/<tag>/
// instead of being created on GitHub, which needs the network.
func ghRelease(ctx context.Context, e *Env) (*Result, error) {
	const name = "softprops/action-gh-release"
	r, files, err := release.PublishInputs(e.Inputs, e.Workspace, e.Environ["GITHUB_REF_NAME"])
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	dir, err := release.Publish(filepath.Join(e.StateDir, "releases"), r, files)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	e.Log("release %s kept in %s with %d file(s) (nothing is published to GitHub)", r.Tag, dir, len(files))
	return &Result{Outputs: map[string]string{"url": "file://" + dir, "id": r.Tag, "upload_url": "file://" + dir}}, nil
}
