package server

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/store"
)

func getAs(t *testing.T, url, token string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// TestPullRequestPagesAndArtifacts: a signed pull_request delivery runs
// pr.yml; its run page shows the annotation and the artifact, the
// artifact downloads as a zip, the runs list filters.
func TestPullRequestPagesAndArtifacts(t *testing.T) {
	e := newTestEnv(t, "")
	body, _ := json.Marshal(map[string]any{"action": "opened", "number": 7,
		"pull_request": map[string]any{"head": map[string]any{"ref": "feature", "sha": "abc"}, "base": map[string]any{"ref": "main"}},
		"repository":   map[string]any{"full_name": "acme/app"}, "sender": map[string]any{"login": "bob"}})
	code, b := postHook(t, e.http.URL, body, map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "pr-7", "X-Hub-Signature-256": sign(body)})
	if code != 202 {
		t.Fatalf("pull_request delivery: %d %s", code, b)
	}
	waitFor(t, "a run", func() bool { return countRuns(t, e) == 1 })
	_, b = e.call("GET", "/api/runs?repo=acme/app", "vic", nil)
	var items []store.QueueItem
	json.Unmarshal(b, &items)
	if len(items) != 1 || items[0].Workflow != ".github/workflows/pr.yml" || items[0].Ref != "refs/pull/7/merge" || items[0].Actor != "bob" {
		t.Fatalf("queued: %s", b)
	}
	id := items[0].ID
	v := waitRun(t, e.http.URL, e.tokens["vic"], id, "finished", finished)
	if v.Status != store.StatusSuccess || len(v.Artifacts) != 1 || len(v.Annotations) != 1 {
		t.Fatalf("run: %s artifacts %+v annotations %+v (%s)", v.Status, v.Artifacts, v.Annotations, v.Message)
	}
	// The run page (a bearer token works for pages too).
	code, page, _ := getAs(t, fmt.Sprintf("%s/runs/%d", e.http.URL, id), e.tokens["vic"])
	html := string(page)
	for _, want := range []string{"shadowed variable", "app.go:3", fmt.Sprintf(`href="/runs/%d/artifacts/report"`, id), "green ok", `data-job="check"`, "st-success"} {
		if code != 200 || !strings.Contains(html, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	if strings.Contains(html, "\x1b[") {
		t.Error("run page shows raw ANSI escapes")
	}
	// The artifact as a zip.
	code, zb, hdr := getAs(t, fmt.Sprintf("%s/runs/%d/artifacts/report", e.http.URL, id), e.tokens["vic"])
	if code != 200 || hdr.Get("Content-Type") != "application/zip" {
		t.Fatalf("artifact: %d %s", code, hdr)
	}
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil || len(zr.File) != 1 {
		t.Fatalf("zip: %v", err)
	}
	f, _ := zr.File[0].Open()
	content, _ := io.ReadAll(f)
	if !strings.HasSuffix(zr.File[0].Name, "report.txt") || string(content) != "artifact body\n" {
		t.Fatalf("zip holds %s = %q", zr.File[0].Name, content)
	}
	if code, _, _ := getAs(t, fmt.Sprintf("%s/runs/%d/artifacts/nope", e.http.URL, id), e.tokens["vic"]); code != 404 {
		t.Fatalf("missing artifact: %d", code)
	}
	// The runs list filters by status.
	_, page, _ = getAs(t, e.http.URL+"/?status=failure", e.tokens["vic"])
	if !strings.Contains(string(page), "No runs match.") {
		t.Error("status filter shows runs")
	}
	_, page, _ = getAs(t, e.http.URL+"/?status=success&repo=acme/app", e.tokens["vic"])
	if !strings.Contains(string(page), fmt.Sprintf(`href="/runs/%d"`, id)) {
		t.Error("runs list misses the run")
	}
}

// TestDeploymentsPage: what `shipgate deploy` recorded in a repository's
// store shows on /deployments and /api/deployments, with DORA figures.
func TestDeploymentsPage(t *testing.T) {
	e := newTestEnv(t, "")
	_, empty, _ := getAs(t, e.http.URL+"/api/deployments", e.tokens["vic"])
	if strings.TrimSpace(string(empty)) != "[]" {
		t.Fatalf("no deployments yet: %s", empty)
	}
	db, err := store.Open(t.Context(), filepath.Join(e.root, "app", store.DefaultDir))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(-time.Hour)
	d := db.Deployments()
	ok, _ := d.Start(t.Context(), store.Deployment{Env: "production", Version: "1.4.0", Previous: "1.3.2", Commit: "abc", CommitTime: now.Add(-2 * time.Hour), Started: now, ApprovedBy: "alice", Provider: "local", Strategy: "canary"})
	d.Finish(t.Context(), ok, store.DeploySucceeded, "", false, now.Add(3*time.Minute), "[]")
	bad, _ := d.Start(t.Context(), store.Deployment{Env: "production", Version: "1.5.0", Previous: "1.4.0", Started: now.Add(10 * time.Minute), Provider: "local", Strategy: "canary"})
	d.Finish(t.Context(), bad, store.DeployFailed, "error rate 12% > 5% at 10%", true, now.Add(14*time.Minute), "[]")
	db.Close()

	code, b, _ := getAs(t, e.http.URL+"/api/deployments", e.tokens["vic"])
	var got []EnvDeployments
	if code != 200 || json.Unmarshal(b, &got) != nil || len(got) != 1 {
		t.Fatalf("api: %d %s", code, b)
	}
	g := got[0]
	if g.Repo != "acme/app" || g.Env != "production" || len(g.Deployments) != 2 || g.Deployments[0].Version != "1.5.0" ||
		!g.Deployments[0].RolledBack || g.DORA.ChangeFailureRate != 0.5 || g.DORA.Succeeded != 1 {
		t.Fatalf("deployments: %+v", g)
	}
	code, page, _ := getAs(t, e.http.URL+"/deployments", e.tokens["vic"])
	for _, want := range []string{"acme/app · production", "1.5.0", "failed, rolled back", "error rate 12% &gt; 5% at 10%", "alice", "change failure rate <b>50%</b>", "3m0s"} {
		if code != 200 || !strings.Contains(string(page), want) {
			t.Errorf("deployments page lacks %q", want)
		}
	}
	if code, _, _ := getAs(t, e.http.URL+"/api/deployments", ""); code != 401 {
		t.Errorf("anonymous /api/deployments: %d", code)
	}
}
