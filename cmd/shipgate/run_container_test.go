package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/executor/container/dockertest"
)

const containerJob = `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    container:
      image: shipgate-cli-test:1
      options: --memory 64m
    steps:
      - run: cat /etc/marker; echo "v=in-container" >> "$GITHUB_OUTPUT"
        id: s
      - run: echo "got ${{ steps.s.outputs.v }}"
`

// TestRunExecutorContainer runs a container job through the CLI against a
// private dockerd (DOCKER_HOST), and checks the host executor refuses it.
func TestRunExecutorContainer(t *testing.T) {
	ws, wf := repo(t, containerJob)
	store := filepath.Join(ws, "store")
	_, stderr, code := run(t, "run", "-W", wf, "--store", store)
	if code != 2 || !strings.Contains(stderr, `"container" in job "build" with the host executor (run it with --executor container)`) {
		t.Errorf("host executor: exit %d\n%s", code, stderr)
	}
	_, stderr, code = run(t, "run", "-W", wf, "--store", store, "--executor", "vm")
	if code != 2 || !strings.Contains(stderr, `--executor "vm": want host or container`) {
		t.Errorf("--executor vm: exit %d\n%s", code, stderr)
	}

	d := dockertest.ForTest(t)
	if err := dockertest.BusyboxImage(context.Background(), d.Host, "shipgate-cli-test:1", map[string]string{"/etc/marker": "only-in-the-image\n"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_HOST", d.Host)
	out, stderr, code := run(t, "run", "-W", wf, "--store", store, "--executor", "container", "--plain")
	if code != 0 || !strings.Contains(out, "only-in-the-image") || !strings.Contains(out, "got in-container") {
		t.Errorf("container executor: exit %d\n%s\n%s", code, out, stderr)
	}
}
