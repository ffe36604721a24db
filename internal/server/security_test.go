package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/store"
)

func pushPayload() []byte {
	b, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "after": "0123456789abcdef0123456789abcdef01234567",
		"repository": map[string]any{"full_name": "acme/app"},
		"sender":     map[string]any{"login": "bob"},
	})
	return b
}

func postHook(t *testing.T, base string, body []byte, headers map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/webhooks/github", bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func countRuns(t *testing.T, e *testEnv) int {
	t.Helper()
	code, b := e.call("GET", "/api/runs", "vic", nil)
	if code != 200 {
		t.Fatalf("runs: %d %s", code, b)
	}
	var items []map[string]any
	json.Unmarshal(b, &items)
	return len(items)
}

func TestWebhookSignatureRequired(t *testing.T) {
	e := newTestEnv(t, "")
	body := pushPayload()
	base := map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "Content-Type": "application/json"}
	with := func(k, v string) map[string]string {
		h := map[string]string{}
		for a, b := range base {
			h[a] = b
		}
		h[k] = v
		return h
	}
	// No signature, a wrong one, one made with another secret, one over another body.
	other := []byte(strings.Replace(string(body), "bob", "eve", 1))
	for name, h := range map[string]map[string]string{
		"missing":      base,
		"garbage":      with("X-Hub-Signature-256", "sha256=deadbeef"),
		"other secret": with("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64)),
		"other body":   with("X-Hub-Signature-256", sign(other)),
		"sha1 only":    with("X-Hub-Signature", "sha1=0000"),
	} {
		if code, b := postHook(t, e.http.URL, body, h); code != 401 {
			t.Errorf("%s signature: got %d %s, want 401", name, code, b)
		}
	}
	if n := countRuns(t, e); n != 0 {
		t.Fatalf("rejected deliveries queued %d runs", n)
	}
	// The right signature queues one run; the same delivery again queues nothing.
	good := with("X-Hub-Signature-256", sign(body))
	code, b := postHook(t, e.http.URL, body, good)
	if code != 202 {
		t.Fatalf("signed delivery: %d %s", code, b)
	}
	waitFor(t, "the delivery to queue its run", func() bool { return countRuns(t, e) == 1 })
	code, b = postHook(t, e.http.URL, body, good)
	if code != 200 || !strings.Contains(string(b), `"duplicate": true`) {
		t.Fatalf("redelivery: %d %s", code, b)
	}
	// A new delivery ID for the same push is a new run (GitHub's redeliver
	// keeps the ID; a second push has a new one).
	good["X-GitHub-Delivery"] = "d-2"
	if code, b := postHook(t, e.http.URL, body, good); code != 202 {
		t.Fatalf("second delivery: %d %s", code, b)
	}
	waitFor(t, "the second delivery to queue its run", func() bool { return countRuns(t, e) == 2 })
	time.Sleep(300 * time.Millisecond)
	if n := countRuns(t, e); n != 2 {
		t.Fatalf("two deliveries (one sent twice) queued %d runs, want 2", n)
	}
	// The audit log has the rejections.
	code, b = e.call("GET", "/api/audit", "root", nil)
	if code != 200 || strings.Count(string(b), "webhook.rejected") != 5 {
		t.Fatalf("audit: %d %s", code, b)
	}
}

func TestRolesAndSelfReview(t *testing.T) {
	e := newTestEnv(t, "")
	// carol (an approver, in team sre) triggers the run herself.
	id := dispatchRun(t, e.http.URL, e.tokens["carol"], "deploy.yml", map[string]string{"lines": "1"})
	waitRun(t, e.http.URL, e.tokens["vic"], id, "production approval request", waitingFor("production"))
	approve := DecideRequest{Environment: "production", Decision: "approve", Comment: "lgtm", Checked: []string{"Release notes reviewed", "Rollback verified"}}
	path := fmt.Sprintf("/api/runs/%d/approvals", id)

	// No token at all.
	if code, b := call(t, e.http.URL, "POST", path, "", approve); code != 401 {
		t.Fatalf("anonymous approve: %d %s", code, b)
	}
	// A viewer and a developer cannot approve.
	for _, u := range []string{"vic", "bob"} {
		if code, b := e.call("POST", path, u, approve); code != 403 || !strings.Contains(string(b), "approver role") {
			t.Fatalf("%s approve: %d %s, want 403", u, code, b)
		}
	}
	// The triggering user cannot approve under prevent_self_review.
	if code, b := e.call("POST", path, "carol", approve); code != 403 || !strings.Contains(string(b), "prevent-self-review") {
		t.Fatalf("self-review: %d %s, want 403", code, b)
	}
	// A viewer cannot dispatch or cancel either.
	if code, _ := e.call("POST", "/api/dispatch", "vic", DispatchRequest{Workflow: "deploy.yml"}); code != 403 {
		t.Fatalf("viewer dispatch: %d", code)
	}
	if code, _ := e.call("POST", fmt.Sprintf("/api/runs/%d/cancel", id), "vic", nil); code != 403 {
		t.Fatalf("viewer cancel: %d", code)
	}
	// Approving needs the checklist.
	if code, b := e.call("POST", path, "alice", DecideRequest{Environment: "production", Decision: "approve"}); code != 422 {
		t.Fatalf("approve without checklist: %d %s", code, b)
	}
	// Still waiting after all that; alice (a named reviewer) approves.
	v := waitRun(t, e.http.URL, e.tokens["vic"], id, "still waiting", waitingFor("production"))
	if v.Status != store.StatusRunning {
		t.Fatalf("status %s", v.Status)
	}
	if code, b := e.call("POST", path, "alice", approve); code != 200 {
		t.Fatalf("alice approve: %d %s", code, b)
	}
	v = waitRun(t, e.http.URL, e.tokens["vic"], id, "the run to finish", finished)
	if v.Status != store.StatusSuccess {
		t.Fatalf("run ended %s: %s", v.Status, v.Message)
	}
	if a := v.Approvals[0]; a.DecidedBy != "alice" || a.Comment != "lgtm" || len(a.Checked) != 2 {
		t.Fatalf("approval record: %+v", a)
	}
	_, audit := e.call("GET", "/api/audit", "root", nil)
	for _, want := range []string{`"action": "approve"`, `"action": "approval.denied"`, `"action": "dispatch"`, `"action": "approval.requested"`} {
		if !strings.Contains(string(audit), want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	// Only an admin reads the audit log.
	if code, _ := e.call("GET", "/api/audit", "alice", nil); code != 403 {
		t.Fatalf("non-admin audit: %d", code)
	}
}

func TestRejectAndBranchRule(t *testing.T) {
	e := newTestEnv(t, "")
	id := dispatchRun(t, e.http.URL, e.tokens["bob"], "deploy.yml", map[string]string{"lines": "1"})
	waitRun(t, e.http.URL, e.tokens["vic"], id, "approval request", waitingFor("production"))
	if code, b := e.call("POST", fmt.Sprintf("/api/runs/%d/approvals", id), "carol", DecideRequest{Environment: "production", Decision: "reject", Comment: "not today"}); code != 200 {
		t.Fatalf("reject: %d %s", code, b)
	}
	v := waitRun(t, e.http.URL, e.tokens["vic"], id, "the run to finish", finished)
	if v.Status != store.StatusFailure || len(v.Annotations) == 0 || !strings.Contains(v.Annotations[0].Message, "rejected by carol: not today") {
		t.Fatalf("rejected run: %s %+v", v.Status, v.Annotations)
	}
	// A branch that may not deploy fails the job without asking anyone.
	code, b := e.call("POST", "/api/dispatch", "bob", DispatchRequest{Workflow: "deploy.yml", Ref: "feature", Inputs: map[string]string{"lines": "1"}})
	if code != 202 {
		t.Fatalf("dispatch feature: %d %s", code, b)
	}
	var out struct{ Runs []int64 }
	json.Unmarshal(b, &out)
	v = waitRun(t, e.http.URL, e.tokens["vic"], out.Runs[0], "the run to finish", finished)
	if v.Status != store.StatusFailure || len(v.Approvals) != 0 || !strings.Contains(v.Annotations[0].Message, "may not deploy to production") {
		t.Fatalf("feature branch run: %s %+v %+v", v.Status, v.Approvals, v.Annotations)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// browser is a cookie-keeping client that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) *http.Response {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func loginAs(t *testing.T, base, user, pw string) (*http.Client, string) {
	c := browser(t)
	_, page := get(t, c, base+"/login")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	resp := postForm(t, c, base+"/login", url.Values{"csrf_token": {m[1]}, "user": {user}, "password": {pw}, "next": {"/"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = get(t, c, base+"/")
	m = csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the runs page")
	}
	return c, m[1]
}

func TestSessionCSRF(t *testing.T) {
	e := newTestEnv(t, "")
	// Pages need a session.
	if code, _ := get(t, browser(t), e.http.URL+"/approvals"); code != 303 {
		t.Fatalf("anonymous page: %d, want a redirect to /login", code)
	}
	// The login form itself needs its CSRF token.
	if resp := postForm(t, browser(t), e.http.URL+"/login", url.Values{"user": {"alice"}, "password": {"alice-password"}}); resp.StatusCode != 403 {
		t.Fatalf("login without CSRF: %d", resp.StatusCode)
	}
	c, csrf := loginAs(t, e.http.URL, "alice", "alice-password")
	id := dispatchRun(t, e.http.URL, e.tokens["bob"], "deploy.yml", map[string]string{"lines": "1"})
	v := waitRun(t, e.http.URL, e.tokens["vic"], id, "approval request", waitingFor("production"))
	form := url.Values{"decision": {"approve"}, "comment": {"ok"}, "checked": {"Release notes reviewed", "Rollback verified"}}
	target := fmt.Sprintf("%s/approvals/%d", e.http.URL, v.Approvals[0].ID)
	// Without the token, and with a wrong one: refused, nothing decided.
	if resp := postForm(t, c, target, form); resp.StatusCode != 403 {
		t.Fatalf("approve without CSRF: %d", resp.StatusCode)
	}
	form.Set("csrf_token", "not-the-token")
	if resp := postForm(t, c, target, form); resp.StatusCode != 403 {
		t.Fatalf("approve with a wrong CSRF token: %d", resp.StatusCode)
	}
	// The JSON API with the session cookie needs the header too.
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/runs/%d/approvals", e.http.URL, id), strings.NewReader(`{"environment":"production","decision":"reject"}`))
	resp, _ := c.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("API with a session and no X-CSRF-Token: %d", resp.StatusCode)
	}
	waitRun(t, e.http.URL, e.tokens["vic"], id, "still waiting", waitingFor("production"))
	form.Set("csrf_token", csrf)
	if resp := postForm(t, c, target, form); resp.StatusCode != 303 {
		t.Fatalf("approve with CSRF: %d", resp.StatusCode)
	}
	v = waitRun(t, e.http.URL, e.tokens["vic"], id, "the run to finish", finished)
	if v.Status != store.StatusSuccess {
		t.Fatalf("run %s", v.Status)
	}
}

func TestLoginRateLimitAndCookies(t *testing.T) {
	e := newTestEnv(t, "secure_cookies: always\n")
	c := browser(t)
	_, page := get(t, c, e.http.URL+"/login")
	tok := csrfRE.FindStringSubmatch(page)[1]
	for i := 0; i < 5; i++ {
		resp := postForm(t, c, e.http.URL+"/login", url.Values{"csrf_token": {tok}, "user": {"alice"}, "password": {"wrong"}})
		if resp.StatusCode != 303 || !strings.Contains(resp.Header.Get("Location"), "error=") {
			t.Fatalf("failed login %d: %d %s", i, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// The sixth try is refused even with the right password.
	resp := postForm(t, c, e.http.URL+"/login", url.Values{"csrf_token": {tok}, "user": {"alice"}, "password": {"alice-password"}})
	if resp.StatusCode != 429 {
		t.Fatalf("after 5 failures: %d, want 429", resp.StatusCode)
	}
	// Another user from another address is not locked out by alice's
	// failures, but the same address is: here both are 127.0.0.1.
	// Cookies: HttpOnly, SameSite=Strict, Secure when configured.
	e2 := newTestEnv(t, "secure_cookies: always\n")
	c2 := browser(t)
	_, page = get(t, c2, e2.http.URL+"/login")
	tok = csrfRE.FindStringSubmatch(page)[1]
	resp, _ = c2.PostForm(e2.http.URL+"/login", url.Values{"csrf_token": {tok}, "user": {"alice"}, "password": {"alice-password"}})
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"shipgate_session=", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie %q lacks %s", sc, want)
		}
	}
}

func TestTokensStoredHashed(t *testing.T) {
	e := newTestEnv(t, "")
	// Make one more token through the API, as alice for herself.
	code, b := e.call("POST", "/api/users/alice/tokens", "alice", map[string]string{"name": "laptop"})
	if code != 201 {
		t.Fatalf("token: %d %s", code, b)
	}
	var out struct{ Token string }
	json.Unmarshal(b, &out)
	if code, _ := call(t, e.http.URL, "GET", "/api/me", out.Token, nil); code != 200 {
		t.Fatalf("new token does not work: %d", code)
	}
	// alice cannot mint a token for root.
	if code, _ := e.call("POST", "/api/users/root/tokens", "alice", nil); code != 403 {
		t.Fatalf("token for another user: %d", code)
	}
	all := []string{out.Token}
	for _, tok := range e.tokens {
		all = append(all, tok)
	}
	hashes, err := store.NewServer(e.db).TokenHashes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(hashes) != len(all) {
		t.Fatalf("%d hashes for %d tokens", len(hashes), len(all))
	}
	// Nothing in the database holds a token, or the password.
	raw := dumpStore(t, e.db)
	if len(raw) == 0 {
		t.Fatal("empty database file")
	}
	for _, tok := range all {
		if bytes.Contains(raw, []byte(tok)) || bytes.Contains(raw, []byte(strings.TrimPrefix(tok, tokenPrefix))) {
			t.Fatalf("token %s… is stored in plain text", tok[:8])
		}
		if !bytes.Contains(raw, []byte(HashToken(tok))) {
			t.Fatalf("the hash of token %s… is not stored", tok[:8])
		}
	}
	if bytes.Contains(raw, []byte("alice-password")) {
		t.Fatal("a password is stored in plain text")
	}
	// A wrong token is refused.
	if code, _ := call(t, e.http.URL, "GET", "/api/me", HashToken(all[0]), nil); code != 401 {
		t.Fatalf("the hash used as a token: %d", code)
	}
}

// dumpStore returns everything the store holds: the SQLite file and its
// write-ahead log, or every row of every PostgreSQL table as text.
func dumpStore(t *testing.T, db *store.DB) []byte {
	t.Helper()
	var raw []byte
	if !db.Postgres() {
		db.SQL().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		for _, suffix := range []string{"", "-wal"} {
			b, _ := os.ReadFile(db.Path() + suffix)
			raw = append(raw, b...)
		}
		return raw
	}
	rows, err := db.SQL().Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, tbl := range tables {
		rows, err := db.SQL().Query(`SELECT CAST(x AS TEXT) FROM ` + tbl + ` x`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			rows.Scan(&line)
			raw = append(raw, line...)
			raw = append(raw, '\n')
		}
		rows.Close()
	}
	return raw
}
