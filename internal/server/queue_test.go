package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/notify"
	"github.com/shipgate/shipgate/internal/store"
)

func status(t *testing.T, e *testEnv, id int64) string {
	t.Helper()
	code, b := e.call("GET", fmt.Sprintf("/api/runs/%d", id), "vic", nil)
	if code != 200 {
		t.Fatalf("run %d: %d", id, code)
	}
	var v RunView
	json.Unmarshal(b, &v)
	return v.Status
}

func TestConcurrencyGroups(t *testing.T) {
	e := newTestEnv(t, "")
	// cancel-in-progress: the second run cancels the first, then runs.
	first := dispatchRun(t, e.http.URL, e.tokens["bob"], "group.yml", nil)
	waitRun(t, e.http.URL, e.tokens["vic"], first, "running", func(v *RunView) bool { return len(v.Jobs) == 1 && v.Jobs[0].Status == store.StatusRunning })
	second := dispatchRun(t, e.http.URL, e.tokens["bob"], "group.yml", nil)
	v := waitRun(t, e.http.URL, e.tokens["vic"], first, "cancelled by the newer run", finished)
	if v.Status != store.StatusCancelled {
		t.Fatalf("first run: %s", v.Status)
	}
	waitRun(t, e.http.URL, e.tokens["vic"], second, "running", func(v *RunView) bool { return len(v.Jobs) == 1 && v.Jobs[0].Status == store.StatusRunning })
	if code, b := e.call("POST", fmt.Sprintf("/api/runs/%d/cancel", second), "bob", nil); code != 202 {
		t.Fatalf("cancel: %d %s", code, b)
	}
	if v := waitRun(t, e.http.URL, e.tokens["vic"], second, "cancelled", finished); v.Status != store.StatusCancelled {
		t.Fatalf("second run: %s", v.Status)
	}

	// Without cancel-in-progress (deploy.yml): the running one goes on, a
	// newer pending run supersedes an older pending one.
	a := dispatchRun(t, e.http.URL, e.tokens["bob"], "deploy.yml", map[string]string{"lines": "1"})
	waitRun(t, e.http.URL, e.tokens["vic"], a, "approval", waitingFor("production"))
	b := dispatchRun(t, e.http.URL, e.tokens["bob"], "deploy.yml", map[string]string{"lines": "1"})
	c := dispatchRun(t, e.http.URL, e.tokens["bob"], "deploy.yml", map[string]string{"lines": "1"})
	vb := waitRun(t, e.http.URL, e.tokens["vic"], b, "superseded", finished)
	if vb.Status != store.StatusCancelled || !strings.Contains(vb.Message, fmt.Sprintf("superseded by run %d", c)) {
		t.Fatalf("pending run b: %s %q", vb.Status, vb.Message)
	}
	if s := status(t, e, c); s != store.StatusQueued {
		t.Fatalf("run c while a holds the group: %s", s)
	}
	if s := status(t, e, a); s != store.StatusRunning {
		t.Fatalf("run a: %s", s)
	}
}

func TestRepositoryLimit(t *testing.T) {
	e := newTestEnv(t, "") // acme/app: max_concurrent 2
	var ids []int64
	for i := 0; i < 3; i++ {
		ids = append(ids, dispatchRun(t, e.http.URL, e.tokens["bob"], "slow.yml", nil))
	}
	for _, id := range ids[:2] {
		waitRun(t, e.http.URL, e.tokens["vic"], id, "running", func(v *RunView) bool { return v.Status == store.StatusRunning })
	}
	time.Sleep(500 * time.Millisecond)
	if s := status(t, e, ids[2]); s != store.StatusQueued {
		t.Fatalf("third run with two running and a limit of 2: %s", s)
	}
	e.call("POST", fmt.Sprintf("/api/runs/%d/cancel", ids[0]), "bob", nil)
	waitRun(t, e.http.URL, e.tokens["vic"], ids[2], "started after a slot freed", func(v *RunView) bool { return v.Status == store.StatusRunning })
	for _, id := range ids[1:] {
		e.call("POST", fmt.Sprintf("/api/runs/%d/cancel", id), "bob", nil)
	}
}

// hookSink is a notification receiver; fail makes it answer 500 always.
type hookSink struct {
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	fail    bool
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail {
		http.Error(w, "broken", 500)
		return
	}
	h.bodies = append(h.bodies, b)
	h.headers = append(h.headers, r.Header.Clone())
}

func (h *hookSink) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

func TestNotifications(t *testing.T) {
	slack, hook, broken := &hookSink{}, &hookSink{}, &hookSink{fail: true}
	urls := map[*hookSink]string{}
	for _, h := range []*hookSink{slack, hook, broken} {
		s := httptest.NewServer(h)
		defer s.Close()
		urls[h] = s.URL
	}
	e := newTestEnv(t, "", func(c *Config) {
		c.Repositories[0].Notify = []*NotifyTarget{
			{Target: notify.Target{Kind: "slack", URL: urls[slack]}},
			{Target: notify.Target{Kind: "webhook", URL: urls[hook], Secret: "hook-secret", On: []string{"run_succeeded", "approval_requested"}}},
			{Target: notify.Target{Kind: "webhook", URL: urls[broken]}},
		}
	})
	id := dispatchRun(t, e.http.URL, e.tokens["bob"], "deploy.yml", map[string]string{"lines": "1"})
	waitRun(t, e.http.URL, e.tokens["vic"], id, "approval", waitingFor("production"))
	e.call("POST", fmt.Sprintf("/api/runs/%d/approvals", id), "alice", DecideRequest{Environment: "production", Decision: "approve", Checked: []string{"Release notes reviewed", "Rollback verified"}})
	v := waitRun(t, e.http.URL, e.tokens["vic"], id, "finished", finished)
	// The broken receiver did not fail the run.
	if v.Status != store.StatusSuccess {
		t.Fatalf("run: %s %s", v.Status, v.Message)
	}
	deadline := time.Now().Add(10 * time.Second)
	for (slack.count() < 2 || hook.count() < 2) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if slack.count() != 2 || hook.count() != 2 {
		t.Fatalf("slack got %d, webhook got %d; want approval_requested and run_succeeded each", slack.count(), hook.count())
	}
	var blocks map[string]any
	json.Unmarshal(slack.bodies[1], &blocks)
	b, _ := json.Marshal(blocks)
	for _, want := range []string{`"blocks"`, `"type":"header"`, ".github/workflows/deploy.yml: success", "refs/heads/main", "bob", "acme/app"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Slack payload lacks %s: %s", want, b)
		}
	}
	for i, body := range hook.bodies {
		m := hmac.New(sha256.New, []byte("hook-secret"))
		m.Write(body)
		if got := hook.headers[i].Get("X-Shipgate-Signature-256"); got != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			t.Fatalf("webhook %d signature %q does not verify", i, got)
		}
	}
	var first notify.Message
	json.Unmarshal(hook.bodies[0], &first)
	if first.Event != "approval_requested" || first.Environment != "production" || first.RunID != id {
		t.Fatalf("first webhook: %+v", first)
	}
	// The failure is in the audit log.
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, audit := e.call("GET", "/api/audit", "root", nil)
		if strings.Contains(string(audit), "notify.failed") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the failed notification was not audited")
}

func TestOpenAPIAndMetrics(t *testing.T) {
	e := newTestEnv(t, "")
	code, b := call(t, e.http.URL, "GET", "/api/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if code != 200 || json.Unmarshal(b, &doc) != nil || doc.OpenAPI == "" {
		t.Fatalf("openapi: %d", code)
	}
	// Every API route is documented with its method.
	for _, r := range []string{"POST /webhooks/github", "GET /api/me", "GET /api/runs", "GET /api/runs/{id}", "GET /api/runs/{id}/logs",
		"GET /api/runs/{id}/events", "POST /api/runs/{id}/cancel", "POST /api/runs/{id}/approvals", "POST /api/dispatch",
		"GET /api/approvals", "GET /api/audit", "POST /api/users", "POST /api/users/{name}/tokens", "GET /metrics"} {
		m, p, _ := strings.Cut(r, " ")
		if doc.Paths[p][strings.ToLower(m)] == nil {
			t.Errorf("%s is not in openapi.json", r)
		}
	}
	id := dispatchRun(t, e.http.URL, e.tokens["bob"], "deploy.yml", map[string]string{"lines": "1"})
	waitRun(t, e.http.URL, e.tokens["vic"], id, "approval", waitingFor("production"))
	e.call("POST", fmt.Sprintf("/api/runs/%d/approvals", id), "alice", DecideRequest{Environment: "production", Decision: "reject", Comment: "no"})
	waitRun(t, e.http.URL, e.tokens["vic"], id, "finished", finished)
	code, b = call(t, e.http.URL, "GET", "/metrics", "", nil)
	for _, want := range []string{`shipgate_runs_finished_total{status="failure"} 1`, `shipgate_jobs_finished_total{status="success"} 1`, "shipgate_queue_depth 0", "shipgate_approvals_waiting 0", "go_goroutines"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestApprovalTimeoutWaitTimerAndCancel(t *testing.T) {
	// Nobody decides within the timeout: the job fails.
	e := newTestEnv(t, "", func(c *Config) { c.Environments["production"].Timeout = time.Second })
	id := dispatchRun(t, e.http.URL, e.tokens["bob"], "deploy.yml", map[string]string{"lines": "1"})
	v := waitRun(t, e.http.URL, e.tokens["vic"], id, "finished", finished)
	if v.Status != store.StatusFailure || v.Approvals[0].Status != store.ApprovalTimedOut || !strings.Contains(v.Annotations[0].Message, "no decision within 1s") {
		t.Fatalf("timed out run: %s %+v %+v", v.Status, v.Approvals, v.Annotations)
	}
	// Cancelling a run that waits marks its request cancelled.
	e2 := newTestEnv(t, "")
	id = dispatchRun(t, e2.http.URL, e2.tokens["bob"], "deploy.yml", map[string]string{"lines": "1"})
	waitRun(t, e2.http.URL, e2.tokens["vic"], id, "approval", waitingFor("production"))
	e2.call("POST", fmt.Sprintf("/api/runs/%d/cancel", id), "bob", nil)
	v = waitRun(t, e2.http.URL, e2.tokens["vic"], id, "finished", finished)
	if v.Status != store.StatusCancelled || v.Approvals[0].Status != store.ApprovalCancelled {
		t.Fatalf("cancelled while waiting: %s %+v", v.Status, v.Approvals)
	}
	// An environment with only a wait timer: no approval, the job starts after it.
	e3 := newTestEnv(t, "", func(c *Config) {
		c.Environments["production"] = &Environment{WaitTimer: 1500 * time.Millisecond}
	})
	id = dispatchRun(t, e3.http.URL, e3.tokens["bob"], "deploy.yml", map[string]string{"lines": "1"})
	v = waitRun(t, e3.http.URL, e3.tokens["vic"], id, "finished", finished)
	if v.Status != store.StatusSuccess || len(v.Approvals) != 0 || len(v.Jobs) != 2 {
		t.Fatalf("wait-timer run: %s %+v", v.Status, v.Approvals)
	}
	if gap := v.Jobs[1].StartedAt.Sub(*v.Jobs[0].FinishedAt); gap < 1500*time.Millisecond {
		t.Fatalf("deploy started %v after build; the wait timer is 1.5s", gap)
	}
}
