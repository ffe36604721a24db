package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/analysis"
	"github.com/shipgate/shipgate/internal/store"
)

// errorRateAnalysis fails a canary whose share of 5xx answers is 5% or
// more, measured by a real Prometheus scraping the proxy every second (the
// proxy is a static target: a new replica found through service discovery
// is scraped only after Prometheus' 5 s discovery update interval).
const errorRateAnalysis = `metrics:
  - name: error-rate
    query: (sum(rate(shipgate_proxy_requests_total{env="{{env}}",track="canary",version="{{canary}}",code=~"5.."}[5s])) or vector(0)) / sum(rate(shipgate_proxy_requests_total{env="{{env}}",track="canary",version="{{canary}}"}[5s]))
    successCondition: result < 0.05
    interval: 1s
    count: 3
    inconclusiveLimit: 2
`

type canaryRun struct {
	out     *Outcome
	rec     *store.Deployment
	traffic *traffic
	status  *Status
	proxy   string
}

// runCanary deploys 1.0.0 (healthy), starts Prometheus and traffic, then
// rolls out 2.0.0 with the given failure share through steps 10/50/100.
func runCanary(t *testing.T, failRate string) canaryRun {
	t.Helper()
	svc := buildSvc(t)
	root := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	db, err := store.Open(ctx, filepath.Join(root, ".shipgate"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	local := inProcess(t, filepath.Join(root, ".shipgate", "deploy"))
	env := "production"

	out, err := Rollout(ctx, local, Plan{Env: env, Release: Release{Version: "1.0.0", Command: svc, Replicas: 2},
		Smoke: DefaultChecks()}, db.Deployments(), testLog{t})
	if err != nil || out.Result != store.DeploySucceeded {
		t.Fatalf("first deployment: %+v %v", out, err)
	}
	st, err := local.Status(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	state, err := ReadLocalState(filepath.Join(root, ".shipgate", "deploy", env))
	if err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(t, state.Admin)
	q, err := analysis.NewPrometheus(prom)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := analysis.Parse("analysis.yml", []byte(errorRateAnalysis))
	if err != nil {
		t.Fatal(err)
	}
	tr := startTraffic(st.URL+"/", 4)
	defer tr.Stop()
	// Wait until Prometheus scrapes the stable replicas (service discovery
	// and two scrapes), as it would in a long-running setup.
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := q.Query(ctx, `sum(rate(shipgate_proxy_requests_total{env="production",track="stable"}[5s]))`, time.Now())
		if err == nil && len(v) == 1 && v[0] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never saw the stable replicas: %v %v", v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	out, err = Rollout(ctx, local, Plan{Env: env,
		Release: Release{Version: "2.0.0", Command: svc, Replicas: 2, Env: map[string]string{"FAIL_RATE": failRate}},
		Steps:   []int{10, 50, 100}, Pause: 2 * time.Second, Analysis: spec, Querier: q, Smoke: DefaultChecks()[:1],
		Commit: "abc123", CommitTime: time.Now().Add(-time.Hour)}, db.Deployments(), testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := db.Deployments().Get(ctx, out.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, _ = local.Status(ctx, env)
	return canaryRun{out: out, rec: rec, traffic: tr, status: st, proxy: st.URL}
}

func versionsServed(t *testing.T, url string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		resp, err := http.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))]++
	}
	return got
}

func TestCanaryHealthyIsPromoted(t *testing.T) {
	r := runCanary(t, "0")
	if r.out.Result != store.DeploySucceeded || r.out.RolledBack {
		t.Fatalf("healthy canary: result %s, reason %q", r.out.Result, r.out.Reason)
	}
	var weights []int
	for _, s := range r.out.Steps {
		weights = append(weights, s.Weight)
		if s.Analysis != nil && s.Analysis.Verdict != analysis.Successful {
			t.Errorf("step %d: analysis %s", s.Weight, s.Analysis.Verdict)
		}
	}
	if fmt.Sprint(weights) != "[10 50 100 100]" { // three steps, then the check after promotion
		t.Errorf("steps %v", weights)
	}
	if r.status.Stable == nil || r.status.Stable.Version != "2.0.0" || r.status.Canary != nil {
		t.Errorf("after promotion: %+v", r.status)
	}
	if got := versionsServed(t, r.proxy, 50); got["200 2.0.0"] != 50 {
		t.Errorf("after promotion the proxy served %v, want 2.0.0 only", got)
	}
	if r.rec.Result != store.DeploySucceeded || r.rec.Previous != "1.0.0" || r.rec.Commit != "abc123" {
		t.Errorf("record %+v", r.rec)
	}
	t.Logf("promoted in %s; %d requests during the rollout", r.out.Ended.Sub(r.out.Started).Round(time.Millisecond), r.traffic.total.Load())
}

func TestCanaryFailing20PercentRollsBack(t *testing.T) {
	r := runCanary(t, "0.2")
	if r.out.Result != store.DeployFailed || !r.out.RolledBack {
		t.Fatalf("bad canary: result %s rolledBack %v reason %q", r.out.Result, r.out.RolledBack, r.out.Reason)
	}
	last := r.out.Steps[len(r.out.Steps)-1]
	if last.Weight != 10 {
		t.Errorf("rolled back at step %d%%, want the first step (10%%)", last.Weight)
	}
	if !strings.Contains(r.out.Reason, "analysis failed") || !strings.Contains(r.out.Reason, "error-rate") ||
		!strings.Contains(r.out.Reason, "rolled back to 1.0.0") {
		t.Errorf("reason %q", r.out.Reason)
	}
	if r.status.Stable == nil || r.status.Stable.Version != "1.0.0" || r.status.Canary != nil || r.status.Weight != 0 {
		t.Errorf("after rollback: %+v", r.status)
	}
	if got := versionsServed(t, r.proxy, 50); got["200 1.0.0"] != 50 {
		t.Errorf("after rollback the proxy served %v, want 1.0.0 only", got)
	}
	if r.rec.Result != store.DeployFailed || !r.rec.RolledBack || r.rec.Reason != r.out.Reason {
		t.Errorf("record %+v", r.rec)
	}
	var steps []StepResult
	if err := json.Unmarshal([]byte(r.rec.Steps), &steps); err != nil || len(steps) == 0 {
		t.Errorf("record steps %q: %v", r.rec.Steps, err)
	}
	detect := last.Ended.Sub(last.Started)
	t.Logf("detected and rolled back at %d%% %s after the step began; reason: %s", last.Weight, detect.Round(time.Millisecond), r.out.Reason)
	if detect > 10*time.Second {
		t.Errorf("detection took %s", detect)
	}
}
