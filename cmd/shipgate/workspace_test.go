package main

import (
	"path/filepath"
	"testing"
)

// A project nested in a larger repository (examples/hello here) is its own
// workspace: the folder that holds its .github.
func TestWorkspaceIsTheFolderHoldingDotGithub(t *testing.T) {
	got := workspaceFor("../../examples/hello/.github/workflows/ci.yml")
	want, _ := filepath.Abs("../../examples/hello")
	if got != want {
		t.Fatalf("workspace = %s, want %s", got, want)
	}
}
