package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/store"
)

// The command provider's scripts log what they were asked to do; a canary
// through three steps, then a failing weight script that rolls back.
func TestCommandProvider(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "actions.log")
	logLine := `echo "$SHIPGATE_ACTION $SHIPGATE_ENV $SHIPGATE_VERSION w=$SHIPGATE_WEIGHT stable=$SHIPGATE_STABLE" >> ` + logPath
	c := &Command{Dir: dir, DeployScript: logLine, PromoteScript: logLine, RollbackScript: logLine}
	ctx := context.Background()
	out, err := Rollout(ctx, c, Plan{Env: "staging", Release: Release{Version: "1.0.0"}}, nil, nil)
	if err != nil || out.Result != store.DeploySucceeded {
		t.Fatalf("%+v %v", out, err)
	}
	c.StatusScript = `echo '{"url":"http://example.invalid","stable":{"version":"from-script","replicas":[]}}'`
	if st, _ := c.Status(ctx, "staging"); st.Stable.Version != "from-script" || st.URL != "http://example.invalid" {
		t.Errorf("status from the script: %+v", st)
	}
	c.StatusScript = ""
	out, err = Rollout(ctx, c, Plan{Env: "staging", Release: Release{Version: "2.0.0"}, Steps: []int{25, 100}}, nil, nil)
	if err != nil || out.Result != store.DeploySucceeded || out.Previous != "1.0.0" {
		t.Fatalf("%+v %v", out, err)
	}
	// A weight step that fails rolls back.
	c.WeightScript = `echo "$SHIPGATE_ACTION w=$SHIPGATE_WEIGHT" >> ` + logPath + `; [ "$SHIPGATE_WEIGHT" -lt 50 ] || { echo traffic router refused >&2; exit 3; }`
	out, err = Rollout(ctx, c, Plan{Env: "staging", Release: Release{Version: "3.0.0"}, Steps: []int{10, 50, 100}}, nil, nil)
	if err != nil || out.Result != store.DeployFailed || !out.RolledBack || !strings.Contains(out.Reason, "traffic router refused") {
		t.Fatalf("%+v %v", out, err)
	}
	st, _ := c.Status(ctx, "staging")
	if st.Stable.Version != "2.0.0" || st.Canary != nil {
		t.Errorf("status %+v", st)
	}
	if err := c.Rollback(ctx, "staging"); err != nil {
		t.Fatal(err)
	}
	st, _ = c.Status(ctx, "staging")
	if st.Stable.Version != "1.0.0" {
		t.Errorf("after rollback: %+v", st.Stable)
	}
	got, _ := os.ReadFile(logPath)
	want := `deploy staging 1.0.0 w=100 stable=1.0.0
deploy staging 2.0.0 w=0 stable=1.0.0
weight staging 2.0.0 w=25 stable=1.0.0
weight staging 2.0.0 w=100 stable=1.0.0
promote staging 2.0.0 w=100 stable=1.0.0
deploy staging 3.0.0 w=0 stable=2.0.0
weight w=10
weight w=50
abort staging 3.0.0 w=10 stable=2.0.0
rollback staging 2.0.0 w=0 stable=2.0.0
`
	if string(got) != want {
		t.Errorf("actions:\n%s\nwant:\n%s", got, want)
	}
}
