package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/executor/host"
	"github.com/shipgate/shipgate/internal/plan"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
)

// graphWorkflow generates n jobs of one `true` step, 20 per layer, each
// needing 1-3 random jobs of earlier layers (as scripts/bench-engine does).
func graphWorkflow(n int) string {
	r := rand.New(rand.NewPCG(42, 42))
	var b strings.Builder
	b.WriteString("on: push\njobs:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  j%d:\n    runs-on: ubuntu-latest\n", i)
		if layer := i / 20; layer > 0 {
			seen := map[int]bool{}
			var needs []string
			for k := 1 + r.IntN(3); k > 0; k-- {
				d := r.IntN(layer * 20)
				if !seen[d] {
					seen[d] = true
					needs = append(needs, fmt.Sprintf("j%d", d))
				}
			}
			fmt.Fprintf(&b, "    needs: [%s]\n", strings.Join(needs, ", "))
		}
		b.WriteString("    steps: [{run: 'true'}]\n")
	}
	return b.String()
}

// BenchmarkGraph200 runs a 200-job graph with the host executor and the
// store, --jobs 2; ns/op divided by 200 is the cost per job.
func BenchmarkGraph200(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "wf.yml")
	os.WriteFile(p, []byte(graphWorkflow(200)), 0o644)
	wf := loadB(b, p)
	db, err := store.Open(context.Background(), filepath.Join(dir, ".shipgate"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), Options{Workflow: wf, Event: plan.Event{Name: "push"}, Parallel: 2, Workspace: dir,
			StateDir: filepath.Join(dir, ".shipgate"), Executor: host.New(), Runs: store.NewRuns(db)})
		if err != nil || res.Status != "success" {
			b.Fatalf("%v %v", err, res)
		}
	}
}

func loadB(b *testing.B, p string) *workflow.Workflow {
	wf, ds, err := workflow.Load(p, workflow.Options{Strict: true, NoScriptCheck: true})
	if err != nil {
		b.Fatal(err)
	}
	if block, _ := Blocking(ds); len(block) > 0 {
		b.Fatal(block)
	}
	return wf
}
