package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/analysis"
	"github.com/shipgate/shipgate/internal/store"
)

// Repeated canaries on one environment, one Prometheus and steady traffic:
// every healthy canary is promoted through all steps (no false rollback)
// and every canary failing 20% of requests is rolled back at the first
// step. SHIPGATE_DEPLOY_TRIALS sets the number of each (default 2; the
// issue's figure is 20).
func TestCanaryTrials(t *testing.T) {
	n := 2
	if s := os.Getenv("SHIPGATE_DEPLOY_TRIALS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	svc := buildSvc(t)
	root := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n)*40*time.Second+60*time.Second)
	defer cancel()
	db, err := store.Open(ctx, filepath.Join(root, ".shipgate"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	local := inProcess(t, filepath.Join(root, ".shipgate", "deploy"))
	if out, err := Rollout(ctx, local, Plan{Env: "production", Release: Release{Version: "1.0.0", Command: svc}}, db.Deployments(), nil); err != nil || out.Result != store.DeploySucceeded {
		t.Fatalf("%+v %v", out, err)
	}
	state, _ := ReadLocalState(filepath.Join(root, ".shipgate", "deploy", "production"))
	prom := startPrometheus(t, state.Admin)
	q, _ := analysis.NewPrometheus(prom)
	spec, _ := analysis.Parse("analysis.yml", []byte(errorRateAnalysis))
	st, _ := local.Status(ctx, "production")
	tr := startTraffic(st.URL+"/", 4)
	defer tr.Stop()
	// Wait until the fresh Prometheus has the proxy's stable series (two
	// scrapes): without this the very first canary met a Prometheus still
	// warming up, its first two measurements had no data, and it was
	// rolled back as inconclusive (1 of 20 healthy trials, twice).
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := q.Query(ctx, `sum(rate(shipgate_proxy_requests_total{env="production",track="stable"}[5s]))`, time.Now())
		if err == nil && len(v) == 1 && v[0] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never saw the proxy: %v %v", v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	var promoted, rolledBack int
	var detect []time.Duration
	for i := 1; i <= n; i++ {
		good := fmt.Sprintf("1.%d.0", i)
		out, err := Rollout(ctx, local, Plan{Env: "production", Release: Release{Version: good, Command: svc},
			Steps: []int{10, 50, 100}, Pause: 2 * time.Second, Analysis: spec, Querier: q}, db.Deployments(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if out.Result == store.DeploySucceeded && len(out.Steps) == 4 {
			promoted++
		} else {
			t.Errorf("healthy trial %d: %s %s", i, out.Result, out.Reason)
		}
		bad := fmt.Sprintf("1.%d.1-bad", i)
		out, err = Rollout(ctx, local, Plan{Env: "production",
			Release: Release{Version: bad, Command: svc, Env: map[string]string{"FAIL_RATE": "0.2"}},
			Steps:   []int{10, 50, 100}, Pause: 2 * time.Second, Analysis: spec, Querier: q}, db.Deployments(), nil)
		if err != nil {
			t.Fatal(err)
		}
		last := out.Steps[len(out.Steps)-1]
		if out.Result == store.DeployFailed && out.RolledBack && last.Weight == 10 && last.Analysis != nil {
			rolledBack++
			// From the first measurement of the step that exposed it to the
			// failed verdict: the analysis' own detection time.
			detect = append(detect, last.Analysis.Ended.Sub(last.Analysis.Started))
		} else {
			t.Errorf("failing trial %d: %s at %d%%: %s", i, out.Result, last.Weight, out.Reason)
		}
		if st, _ := local.Status(ctx, "production"); st.Stable == nil || st.Stable.Version != good {
			t.Errorf("trial %d: stable is %+v, want %s", i, st.Stable, good)
		}
	}
	sort.Slice(detect, func(i, j int) bool { return detect[i] < detect[j] })
	t.Logf("healthy canaries promoted: %d of %d; failing canaries rolled back at 10%%: %d of %d", promoted, n, rolledBack, n)
	if len(detect) > 0 {
		t.Logf("detection time (analysis start to failed verdict): min %s, median %s, max %s; all: %v",
			detect[0].Round(time.Millisecond), detect[len(detect)/2].Round(time.Millisecond), detect[len(detect)-1].Round(time.Millisecond), detect)
		// Two analysis intervals (1s each) after the first measurement.
		if detect[len(detect)-1] > 2*time.Second+500*time.Millisecond {
			t.Errorf("slowest detection %s is over two analysis intervals", detect[len(detect)-1])
		}
	}
	t.Logf("%d requests through the proxy", tr.total.Load())
}
