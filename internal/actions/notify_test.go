package actions

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// slackSink records what a fake incoming webhook receives; the first
// `fail` requests get a 500.
type slackSink struct {
	mu     sync.Mutex
	bodies []map[string]any
	fail   int
}

func (s *slackSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		http.Error(w, "try later", 500)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	s.bodies = append(s.bodies, m)
	io.WriteString(w, "ok")
}

func TestSlackActions(t *testing.T) {
	notifySender.Backoff = 5 * time.Millisecond
	sink := &slackSink{fail: 1}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	ctx := context.Background()

	// slackapi/slack-github-action v2: webhook input, YAML payload; one 500 then ok.
	e := env(t)
	e.Inputs = map[string]string{"webhook": srv.URL, "webhook-type": "incoming-webhook", "payload": "text: \"deployed v1.2.3\"\nblocks:\n  - type: section\n    text: {type: mrkdwn, text: \"*done*\"}\n"}
	res, err := Lookup("slackapi/slack-github-action@v2.1.0")
	if err != nil {
		t.Fatal(err)
	}
	out, err := res(ctx, e)
	if err != nil || out.Outputs["ok"] != "true" {
		t.Fatalf("v2: %v %+v", err, out)
	}
	// v1: SLACK_WEBHOOK_URL and a JSON payload.
	e = env(t)
	e.Environ["SLACK_WEBHOOK_URL"] = srv.URL
	e.Inputs = map[string]string{"payload": `{"text":"v1 says hi"}`}
	if out, err := slackGitHubAction(ctx, e); err != nil || out.Outputs["ok"] != "true" {
		t.Fatalf("v1: %v", err)
	}
	// 8398a7/action-slack: Block Kit from the run's facts.
	e = env(t)
	for k, v := range map[string]string{"SLACK_WEBHOOK_URL": srv.URL, "GITHUB_WORKFLOW": "release", "GITHUB_REF": "refs/tags/v1.2.3", "GITHUB_ACTOR": "alice", "GITHUB_REPOSITORY": "acme/app"} {
		e.Environ[k] = v
	}
	e.Inputs = map[string]string{"status": "failure", "text": "smoke test failed"}
	if _, err := Lookup("8398a7/action-slack@v3"); err != nil {
		t.Fatal(err)
	}
	if out, err := actionSlack(ctx, e); err != nil || out.Outputs["ok"] != "true" {
		t.Fatalf("action-slack: %v", err)
	}
	if len(sink.bodies) != 3 {
		t.Fatalf("received %d payloads", len(sink.bodies))
	}
	if sink.bodies[0]["text"] != "deployed v1.2.3" || sink.bodies[1]["text"] != "v1 says hi" {
		t.Fatalf("payloads: %v", sink.bodies[:2])
	}
	b, _ := json.Marshal(sink.bodies[2])
	for _, want := range []string{`"type":"header"`, "release: failure", "refs/tags/v1.2.3", "alice", "smoke test failed"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("action-slack payload lacks %s: %s", want, b)
		}
	}

	// A webhook that keeps failing: a warning, not a failed step...
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) }))
	defer down.Close()
	var logged []string
	e = env(t)
	e.Log = func(f string, a ...any) { logged = append(logged, f) }
	e.Inputs = map[string]string{"webhook": down.URL, "slack-message": "hello"}
	if out, err := slackGitHubAction(ctx, e); err != nil || out.Outputs["ok"] != "false" || len(logged) == 0 || !strings.Contains(logged[0], "::warning::") {
		t.Fatalf("failing webhook: %v %+v %v", err, out, logged)
	}
	// ...unless the workflow asks for errors: true.
	e.Inputs["errors"] = "true"
	if _, err := slackGitHubAction(ctx, e); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("errors: true: %v", err)
	}
}
