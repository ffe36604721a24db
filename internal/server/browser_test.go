package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is Debian's chromium package (scripts/packages.txt).
const chromium = "/usr/bin/chromium"

// artifactDir keeps the browser test's screenshots: $SHIPGATE_TEST_ARTIFACTS
// when set, else a new temp folder that outlives the test.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("SHIPGATE_TEST_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "shipgate-browser-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// TestBrowserApproveAndWatch drives the dashboard in headless Chromium as
// a reviewer would: sign in, watch a run's log grow live, approve the
// waiting production job with its checklist, see the run finish.
func TestBrowserApproveAndWatch(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: apt-get install -y chromium (listed in scripts/packages.txt)", chromium)
	}
	e := newTestEnv(t, "")
	shots := artifactDir(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1200, 1000),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 50*time.Second)
	defer cancelT()
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name), buf, 0o644)
		})
	}

	// 1. Sign in: an anonymous visit goes to the login form and back.
	err := chromedp.Run(ctx,
		chromedp.Navigate(e.http.URL+"/approvals"),
		chromedp.WaitVisible(`#signin`),
		chromedp.SendKeys(`#user`, "alice"),
		chromedp.SendKeys(`#password`, "alice-password"),
		shot("01-login.png"),
		chromedp.Click(`#signin`),
		chromedp.WaitVisible(`nav`),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	var url string
	chromedp.Run(ctx, chromedp.Location(&url))
	if url != e.http.URL+"/approvals" {
		t.Fatalf("after sign-in the browser is at %s, want /approvals", url)
	}

	// bob starts a deploy; alice opens it while it builds.
	const lines = 12
	id := dispatchRun(t, e.http.URL, e.tokens["bob"], "deploy.yml", map[string]string{"lines": fmt.Sprint(lines)})
	runURL := fmt.Sprintf("%s/runs/%d", e.http.URL, id)
	if err := chromedp.Run(ctx, chromedp.Navigate(runURL), chromedp.WaitVisible(`#log`),
		chromedp.Evaluate(`window.__sameDocument = true`, nil)); err != nil {
		t.Fatal(err)
	}

	// 2. The log grows while we watch, in the same document (SSE, no reload).
	t.Logf("run %d open at %s", id, runURL)
	var counts []int
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		var same bool
		if err := chromedp.Run(ctx,
			chromedp.Evaluate(`[...document.querySelectorAll('#log .line')].filter(l => l.textContent.includes('building part')).length`, &n),
			chromedp.Evaluate(`window.__sameDocument === true`, &same)); err != nil {
			t.Fatal(err)
		}
		if !same {
			t.Fatal("the page reloaded while the build ran; the log should stream")
		}
		if len(counts) == 0 || n != counts[len(counts)-1] {
			counts = append(counts, n)
		}
		if n == lines/2 {
			chromedp.Run(ctx, shot("02-live-log.png"))
		}
		if n >= lines {
			break
		}
		time.Sleep(150 * time.Millisecond)
	}
	t.Logf("build log lines seen over time: %v", counts)
	if len(counts) < 3 || counts[0] >= lines/2 || counts[len(counts)-1] != lines {
		t.Fatalf("build lines seen over time: %v; want a log that grows live to %d", counts, lines)
	}

	// 3. The deploy job waits: the graph says so and the page points to approvals.
	var state string
	err = chromedp.Run(ctx,
		chromedp.WaitVisible(`#waiting-note`),
		chromedp.TextContent(`#graph g[data-job="deploy"] text.state`, &state),
		shot("03-waiting.png"),
		chromedp.Click(`#waiting-note a`),
		chromedp.WaitVisible(`form.decide`),
	)
	if err != nil {
		t.Fatalf("waiting for approval: %v", err)
	}
	if state != "waiting" {
		t.Fatalf("deploy node says %q, want waiting", state)
	}
	var text string
	chromedp.Run(ctx, chromedp.Text(`form.decide`, &text))
	for _, want := range []string{"production", "Release notes reviewed", "Rollback verified", "requested by bob"} {
		if !strings.Contains(text, want) {
			t.Fatalf("approval request lacks %q:\n%s", want, text)
		}
	}

	// 4. Approve with the checklist; back on the run page it finishes.
	var status string
	err = chromedp.Run(ctx,
		chromedp.Click(`form.decide input[value="Release notes reviewed"]`),
		chromedp.Click(`form.decide input[value="Rollback verified"]`),
		chromedp.SendKeys(`form.decide input.comment`, "ship it"),
		shot("04-approve.png"),
		chromedp.Click(`form.decide button.approve`),
		chromedp.WaitVisible(`#flash`),
		waitFinished(),
		chromedp.Text(`#run-status`, &status),
		chromedp.TextContent(`#graph g[data-job="deploy"] text.state`, &state),
		chromedp.Text(`.summary`, &text),
		shot("05-finished.png"),
	)
	if err != nil {
		t.Fatalf("approve and finish: %v", err)
	}
	if status != "success" || state != "success" || !strings.Contains(text, "Build report") {
		t.Fatalf("finished page: status %q, deploy %q, summary %q", status, state, text)
	}
	var logText string
	chromedp.Run(ctx, chromedp.Text(`#log`, &logText))
	if !strings.Contains(logText, "deploying to production") {
		t.Fatalf("final log lacks the deploy:\n%s", logText)
	}
	for _, f := range []string{"01-login.png", "02-live-log.png", "03-waiting.png", "04-approve.png", "05-finished.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s missing or empty", f)
		}
	}
}

// waitFinished waits until the run page shows the finished run as
// rendered after its reload (no cancel button, the step summary shown);
// the live page reloads itself when the run ends, so errors from the
// document being replaced are retried.
func waitFinished() chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			var done bool
			err := chromedp.Evaluate(`(() => { const s = document.querySelector('#run-status'); return !!s && s.dataset.status === 'success' && !document.querySelector('#cancel') && !!document.querySelector('.summary'); })()`, &done).Do(ctx)
			if err == nil && done {
				return nil
			}
			time.Sleep(200 * time.Millisecond)
		}
		return fmt.Errorf("the run page never showed the finished run")
	})
}
