// Package e2e runs the README's main job end to end: scripts/e2e --both
// ships examples/erlang-service through its Enhanced CI/CD Pipeline twice
// (a good release, then a bad one) on this machine, with a real
// Prometheus, Pushgateway and webhook receiver, and the test checks what a
// user would: every stage's outcome, the version serving, the signed
// release verifying, the Pushgateway's metrics, the rollback and the
// notifications.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tools the pipeline needs (scripts/packages.txt installs them).
var tools = []string{"erl", "rebar3", "dialyzer", "prometheus", "prometheus-pushgateway", "jq", "curl", "python3", "git"}

type job struct {
	Name    string            `json:"name"`
	Job     string            `json:"job"`
	Status  string            `json:"status"`
	Outputs map[string]string `json:"outputs"`
}

type run struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	Jobs   []job  `json:"jobs"`
}

type deployment struct {
	Env        string `json:"env"`
	Version    string `json:"version"`
	Previous   string `json:"previous"`
	Result     string `json:"result"`
	Reason     string `json:"reason"`
	RolledBack bool   `json:"rolledBack"`
}

func TestPipelineEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end pipeline takes minutes; run without -short")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (scripts/packages.txt lists its Debian package; scripts/e2e installs it)", tool)
		}
	}
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(here))
	work := t.TempDir()
	sg := filepath.Join(work, "shipgate")
	build := exec.Command("go", "build", "-o", sg, "./cmd/shipgate")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	dir := filepath.Join(work, "e2e")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "e2e"), "--both", "--keep", "--dir", dir)
	cmd.Env = append(os.Environ(), "SHIPGATE_BIN="+sg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logPath := filepath.Join(work, "e2e.log")
	logf, _ := os.Create(logPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	repo := filepath.Join(dir, "repo")
	t.Cleanup(func() { stopAll(t, sg, dir, repo) })
	start := time.Now()
	err := cmd.Run()
	logf.Close()
	t.Logf("scripts/e2e --both: %v in %s", err, time.Since(start).Round(time.Second))
	tail := func() string {
		b, _ := os.ReadFile(logPath)
		s := string(b)
		if len(s) > 12000 {
			s = s[len(s)-12000:]
		}
		return s
	}
	if err != nil {
		t.Fatalf("scripts/e2e --both failed: %v\n%s", err, tail())
	}
	endpoints := readEnv(t, filepath.Join(dir, "endpoints.env"))

	// Two runs: the good release, then the bad one.
	var runs []run
	shipgateJSON(t, sg, repo, &runs, "runs", "--json")
	if len(runs) != 2 {
		t.Fatalf("%d runs recorded, want 2\n%s", len(runs), tail())
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID < runs[j].ID })
	var good, bad run
	shipgateJSON(t, sg, repo, &good, "runs", "show", strconv.FormatInt(runs[0].ID, 10), "--json")
	shipgateJSON(t, sg, repo, &bad, "runs", "show", strconv.FormatInt(runs[1].ID, 10), "--json")

	// Every stage of the good run, in the seed's order.
	want := map[string]string{
		"validate": "success", "build": "success", "coverage": "success", "flaky": "skipped",
		"security": "success", "artifacts": "success", "image": "success", "deploy-staging": "success",
		"deploy-production": "success", "verify-production": "success", "release": "success",
		"metrics": "success", "notify": "success",
	}
	checkJobs(t, "good run", good, want, 2)
	if good.Status != "success" {
		t.Errorf("good run: %s, want success", good.Status)
	}
	if v := outputs(good, "validate")["version"]; v != "1.1.0" {
		t.Errorf("good run: version %q from the commits, want 1.1.0 (a feat since v1.0.0)", v)
	}

	// The bad release: the canary failed, nothing after it ran but the
	// metrics and the notification.
	want["deploy-production"] = "failure"
	want["verify-production"] = "skipped"
	want["release"] = "skipped"
	checkJobs(t, "bad run", bad, want, 2)
	if bad.Status != "failure" {
		t.Errorf("bad run: %s, want failure", bad.Status)
	}
	if v := outputs(bad, "validate")["version"]; v != "1.1.1" {
		t.Errorf("bad run: version %q, want 1.1.1 (a fix since v1.1.0)", v)
	}

	// Production serves the promoted version: 1.1.0, not the bad 1.1.1.
	var st struct {
		URL    string `json:"url"`
		Stable *struct {
			Version string `json:"version"`
		} `json:"stable"`
		Canary *struct{} `json:"canary"`
	}
	shipgateJSON(t, sg, repo, &st, "deploy", "status", "production", "--json")
	if st.Stable == nil || st.Stable.Version != "1.1.0" || st.Canary != nil {
		t.Errorf("production: %+v, want 1.1.0 stable and no canary", st)
	}
	for i := 0; i < 20; i++ {
		var h struct{ Status, Version string }
		getJSON(t, st.URL+"/health", &h)
		if h.Status != "ok" || h.Version != "1.1.0" {
			t.Fatalf("GET %s/health = %+v, want ok from 1.1.0", st.URL, h)
		}
	}

	// Deployment records: 1.0.0 (before the pipeline), staging and
	// production 1.1.0 succeeded, 1.1.1 to production failed with the
	// analysis as the reason and was rolled back.
	var recs []deployment
	shipgateJSON(t, sg, repo, &recs, "deploy", "history", "production", "--json")
	var versions []string
	for _, r := range recs {
		versions = append(versions, r.Version+":"+r.Result)
	}
	if got := strings.Join(versions, " "); got != "1.0.0:succeeded 1.1.0:succeeded 1.1.1:failed" {
		t.Errorf("production deployments: %s", got)
	}
	if n := len(recs); n > 0 {
		last := recs[n-1]
		if last.Previous != "1.1.0" || !strings.Contains(last.Reason, "error-rate") {
			t.Errorf("failed deployment: previous %q, reason %q; want 1.1.0 and the error-rate analysis", last.Previous, last.Reason)
		}
	}

	// The signed release verifies (digests, signatures, provenance).
	rel := filepath.Join(repo, "dist", "release", "v1.1.0")
	arts, _ := filepath.Glob(filepath.Join(rel, "erlsvc*.tar.gz"))
	zips, _ := filepath.Glob(filepath.Join(rel, "erlsvc*.zip"))
	prov, _ := filepath.Glob(filepath.Join(rel, "*.intoto.jsonl"))
	if len(arts) == 0 || len(zips) == 0 || len(prov) != 1 {
		t.Fatalf("release files in %s: %v %v %v", rel, arts, zips, prov)
	}
	args := append([]string{"verify"}, append(arts, zips...)...)
	args = append(args, "--key", filepath.Join(dir, "keys", "release.key.pub"), "--provenance", prov[0])
	if out, err := shipgate(sg, repo, args...); err != nil {
		t.Errorf("shipgate verify: %v\n%s", err, out)
	}
	if tags, _ := exec.Command("git", "-C", repo, "tag", "--list").Output(); strings.Fields(string(tags))[len(strings.Fields(string(tags)))-1] != "v1.1.0" {
		t.Errorf("tags: %s, want v1.1.0 last (the bad release is not tagged)", tags)
	}

	// The Pushgateway holds the deployment metrics of production.
	resp, err := http.Get(endpoints["PUSHGATEWAY_URL"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var pushed []string
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "#") && strings.Contains(l, `env="production"`) && !strings.HasPrefix(l, "push_") {
			pushed = append(pushed, l)
		}
	}
	if len(pushed) == 0 || !strings.Contains(strings.Join(pushed, "\n"), "deploy") {
		t.Errorf("Pushgateway has no production deployment metrics:\n%s", body)
	}
	t.Logf("Pushgateway: %s", strings.Join(pushed, "; "))

	// Two notifications: success, then failure with the canary's result.
	notes, _ := filepath.Glob(filepath.Join(dir, "notify", "*.json"))
	if len(notes) != 2 {
		t.Fatalf("%d notifications, want 2", len(notes))
	}
	for i, wantStatus := range []string{"success", "failure"} {
		var n struct {
			Status, Version, Production string
			Jobs                        map[string]string
		}
		b, _ := os.ReadFile(notes[i])
		if err := json.Unmarshal(b, &n); err != nil {
			t.Fatalf("%s: %v", notes[i], err)
		}
		if n.Status != wantStatus {
			t.Errorf("notification %d: %s, want %s (%s)", i+1, n.Status, wantStatus, b)
		}
		if i == 1 && (n.Production != "failed" || n.Jobs["deploy-production"] != "failure") {
			t.Errorf("bad run's notification: %s", b)
		}
	}
}

func checkJobs(t *testing.T, what string, r run, want map[string]string, legs int) {
	t.Helper()
	got := map[string][]string{}
	for _, j := range r.Jobs {
		got[j.Job] = append(got[j.Job], j.Status)
	}
	if tl := got["test"]; len(tl) != legs || tl[0] != "success" || tl[len(tl)-1] != "success" {
		t.Errorf("%s: test legs %v, want %d successes", what, tl, legs)
	}
	for id, w := range want {
		if s := got[id]; len(s) != 1 || s[0] != w {
			t.Errorf("%s: job %s %v, want %s", what, id, s, w)
		}
	}
}

func outputs(r run, id string) map[string]string {
	for _, j := range r.Jobs {
		if j.Job == id {
			return j.Outputs
		}
	}
	return nil
}

func shipgate(sg, dir string, args ...string) ([]byte, error) {
	c := exec.Command(sg, args...)
	c.Dir = dir
	return c.CombinedOutput()
}

func shipgateJSON(t *testing.T, sg, dir string, v any, args ...string) {
	t.Helper()
	c := exec.Command(sg, args...)
	c.Dir = dir
	out, err := c.Output()
	if err != nil {
		t.Fatalf("shipgate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("shipgate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			out[k] = v
		}
	}
	return out
}

// stopAll stops what scripts/e2e --keep left running: the environments'
// supervisors and the daemons it started (by their recorded ids).
func stopAll(t *testing.T, sg, dir, repo string) {
	for _, env := range []string{"staging", "production"} {
		shipgate(sg, repo, "deploy", "stop", env)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "pids"))
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	}
}
