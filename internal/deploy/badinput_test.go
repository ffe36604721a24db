package deploy

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/analysis"
	"github.com/shipgate/shipgate/internal/store"
)

// Bad input during a rollout: each is a clear reason in a failed record,
// and the stable version keeps serving.
func TestBadInputLeavesStableServing(t *testing.T) {
	svc := buildSvc(t)
	root := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := store.Open(ctx, filepath.Join(root, ".shipgate"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	local := inProcess(t, filepath.Join(root, ".shipgate", "deploy"))
	if out, err := Rollout(ctx, local, Plan{Env: "prod", Release: Release{Version: "1.0.0", Command: svc}}, db.Deployments(), nil); err != nil || out.Result != store.DeploySucceeded {
		t.Fatalf("%+v %v", out, err)
	}
	state, _ := ReadLocalState(filepath.Join(root, ".shipgate", "deploy", "prod"))
	prom := startPrometheus(t, state.Admin)
	q, _ := analysis.NewPrometheus(prom)
	deadPort := freeAddr(t)
	dead, _ := analysis.NewPrometheus("http://" + deadPort)
	good, _ := analysis.Parse("a.yml", []byte(errorRateAnalysis))
	invalid, err := analysis.Parse("a.yml", []byte("metrics:\n  - name: broken\n    query: sum(rate(http_requests_total[5s]\n    successCondition: result < 0.05\n"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		plan   Plan
		reason []string
	}{
		{"invalid PromQL", Plan{Release: Release{Version: "2.0.0", Command: svc}, Analysis: invalid, Querier: q},
			[]string{"analysis preflight", "metric broken", "invalid query"}},
		{"unreachable Prometheus", Plan{Release: Release{Version: "2.0.0", Command: svc}, Analysis: good, Querier: dead},
			[]string{"analysis preflight", deadPort, "connection refused"}},
		{"never healthy", Plan{Release: Release{Version: "2.0.0", Command: svc, HealthTimeout: 2 * time.Second,
			Env: map[string]string{"CRASH_AT_START": "1"}}},
			[]string{"did not become healthy", "within 2s", "2.0.0-0.log"}},
		{"smoke check fails", Plan{Release: Release{Version: "2.0.0", Command: svc}, Steps: []int{100},
			Smoke: []Check{{Name: "nope", URL: "/nope", Contains: "x", Retries: new(int)}}},
			[]string{"step 100%", "smoke check nope failed", `body does not contain "x"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.plan.Env = "prod"
			out, err := Rollout(ctx, local, c.plan, db.Deployments(), testLog{t})
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := db.Deployments().Get(ctx, out.ID)
			if out.Result != store.DeployFailed || rec.Result != store.DeployFailed || rec.Reason != out.Reason {
				t.Fatalf("outcome %+v, record %+v", out, rec)
			}
			for _, want := range c.reason {
				if !strings.Contains(out.Reason, want) {
					t.Errorf("reason %q lacks %q", out.Reason, want)
				}
			}
			st, _ := local.Status(ctx, "prod")
			if st.Stable == nil || st.Stable.Version != "1.0.0" || st.Canary != nil {
				t.Errorf("status %+v", st)
			}
			if got := versionsServed(t, st.URL, 20); got["200 1.0.0"] != 20 {
				t.Errorf("served %v", got)
			}
		})
	}
}

// A proxy port already taken is a clear error from the supervisor.
func TestPortAlreadyTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := &Supervisor{Env: "x", Dir: t.TempDir(), Listen: l.Addr().String()}
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "proxy cannot listen on "+l.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err %v", err)
	}
}
