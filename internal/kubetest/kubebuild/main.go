// Command kubebuild builds (or finds cached) the Kubernetes control plane
// the tests start (see internal/kubetest): scripts/test runs it before
// `go test`, so that a cold build is not counted against a test binary's
// timeout. It prints the programs' paths.
package main

import (
	"fmt"
	"log"
	"os"

	"github.com/shipgate/shipgate/internal/kubetest"
)

func main() {
	log.SetFlags(0)
	b, err := kubetest.EnsureBinaries(log.Printf)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, p := range []string{b.Etcd, b.APIServer, b.ControllerManager, b.Scheduler, b.Kwok} {
		fmt.Println(p)
	}
}
