package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/store"
)

//go:embed openapi.json
var openapiJSON []byte

// routes is the server's URL space. Every handler that changes state is
// behind need(...) (auth, role, CSRF for sessions) except the webhook,
// which is authenticated by its HMAC signature, and the login form.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		route := pattern
		mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w, code: 200}
			start := time.Now()
			h(rec, r)
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Observe(time.Since(start).Seconds())
		}))
	}
	// Machines.
	handle("POST /webhooks/github", s.webhook)
	handle("GET /api/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapiJSON)
	})
	handle("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.Handle("GET /metrics", s.metrics.handler())
	handle("GET /api/me", s.need(RoleViewer, false, s.apiMe))
	handle("GET /api/runs", s.need(RoleViewer, false, s.apiRuns))
	handle("GET /api/runs/{id}", s.need(RoleViewer, false, s.apiRun))
	handle("GET /api/runs/{id}/logs", s.need(RoleViewer, false, s.apiLogs))
	handle("GET /api/runs/{id}/events", s.need(RoleViewer, false, s.sse))
	handle("POST /api/runs/{id}/cancel", s.need(RoleDeveloper, false, s.apiCancel))
	handle("POST /api/runs/{id}/approvals", s.need(RoleViewer, false, s.apiDecide))
	handle("POST /api/dispatch", s.need(RoleDeveloper, false, s.apiDispatch))
	handle("GET /api/approvals", s.need(RoleViewer, false, s.apiApprovals))
	handle("GET /api/audit", s.need(RoleAdmin, false, s.apiAudit))
	handle("GET /api/deployments", s.need(RoleViewer, false, s.apiDeployments))
	handle("POST /api/users", s.need(RoleAdmin, false, s.apiCreateUser))
	handle("POST /api/users/{name}/tokens", s.need(RoleViewer, false, s.apiCreateToken))
	// People.
	s.uiRoutes(handle)
	return securityHeaders(mux)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush lets SSE through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
		h.ServeHTTP(w, r)
	})
}

// VerifySignature checks GitHub's X-Hub-Signature-256 header
// ("sha256=<hex HMAC-SHA256 of the body>") in constant time.
func VerifySignature(secret string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret == "" {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// webhook takes a GitHub-format delivery: push (branches and tags),
// pull_request, workflow_dispatch and ping.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 25<<20))
	if err != nil {
		s.fail(w, r, 400, "cannot read the body")
		return
	}
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil {
		s.metrics.webhooks.WithLabelValues("rejected").Inc()
		s.fail(w, r, 400, "the body is not a JSON object")
		return
	}
	name := r.URL.Query().Get("repo")
	if repoObj, ok := payload["repository"].(map[string]any); ok && name == "" {
		name, _ = repoObj["full_name"].(string)
	}
	repo := s.cfg.Repo(name)
	sig := r.Header.Get("X-Hub-Signature-256")
	if repo == nil || repo.WebhookSecret == "" || sig == "" || !VerifySignature(repo.WebhookSecret, body, sig) {
		s.metrics.webhooks.WithLabelValues("rejected").Inc()
		s.audit(r.Context(), "webhook", "webhook.rejected", name, "missing or wrong X-Hub-Signature-256 from "+clientIP(r))
		s.fail(w, r, 401, "missing or wrong X-Hub-Signature-256 (or an unknown repository)")
		return
	}
	event := r.Header.Get("X-GitHub-Event")
	delivery := r.Header.Get("X-GitHub-Delivery")
	if event == "" || delivery == "" {
		s.metrics.webhooks.WithLabelValues("rejected").Inc()
		s.fail(w, r, 400, "X-GitHub-Event and X-GitHub-Delivery are required")
		return
	}
	switch event {
	case "ping":
		writeJSON(w, 200, map[string]any{"pong": true})
		return
	case "push", "pull_request", "pull_request_target", "workflow_dispatch":
	default:
		s.metrics.webhooks.WithLabelValues("ignored").Inc()
		writeJSON(w, 200, map[string]any{"ignored": "event " + event + " triggers nothing here"})
		return
	}
	// Stored before the answer; expanded into runs by the ingest loop, so
	// GitHub gets its answer in milliseconds and nothing is lost on a crash.
	if err := s.st.AddDelivery(r.Context(), &store.Delivery{ID: delivery, Event: event, Repo: repo.Name, Payload: body}); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			s.metrics.webhooks.WithLabelValues("duplicate").Inc()
			writeJSON(w, 200, map[string]any{"duplicate": true, "delivery": delivery})
			return
		}
		s.metrics.webhooks.WithLabelValues("error").Inc()
		s.fail(w, r, 500, err.Error())
		return
	}
	s.metrics.webhooks.WithLabelValues("accepted").Inc()
	select {
	case s.ingestWake <- struct{}{}:
	default:
	}
	writeJSON(w, 202, map[string]any{"delivery": delivery, "accepted": true})
}

// triggerFor reads a delivery's payload into a trigger; nil when the
// event triggers nothing (a deleted branch).
func triggerFor(repo *Repo, event string, body []byte) (*trigger, error) {
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil {
		return nil, err
	}
	t := &trigger{repo: repo, name: event, payload: payload}
	switch event {
	case "push":
		if d, _ := payload["deleted"].(bool); d {
			return nil, nil
		}
		t.ref, _ = payload["ref"].(string)
	case "workflow_dispatch":
		t.ref, _ = payload["ref"].(string)
		t.only, _ = payload["workflow"].(string)
		if in, ok := payload["inputs"].(map[string]any); ok {
			t.inputs = map[string]string{}
			for k, v := range in {
				t.inputs[k] = fmt.Sprint(v)
			}
		}
	}
	return t, nil
}

// ingestLoop expands stored deliveries into queue items, oldest first
// (and, on start, those a stopped server left).
func (s *Server) ingestLoop(ctx context.Context) {
	for {
		for {
			list, err := s.st.PendingDeliveries(ctx, 100)
			if err != nil || len(list) == 0 {
				break
			}
			for _, d := range list {
				s.ingest(ctx, d)
			}
			s.kick()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.ingestWake:
		case <-time.After(5 * time.Second):
		}
	}
}

func (s *Server) ingest(ctx context.Context, d *store.Delivery) {
	status, msg := "queued", ""
	var items []*store.QueueItem
	repo := s.cfg.Repo(d.Repo)
	t, err := triggerFor(repo, d.Event, d.Payload)
	switch {
	case repo == nil:
		status, msg = "error", "repository "+d.Repo+" is no longer configured"
	case err != nil:
		status, msg = "error", err.Error()
	case t != nil:
		items, err = s.items(t)
		if err != nil {
			status, msg = "error", err.Error()
		}
	}
	if err := s.st.CompleteDelivery(ctx, d.ID, status, msg, items); err != nil && ctx.Err() == nil {
		s.log.Printf("delivery %s: %v", d.ID, err)
		return
	}
	s.metrics.webhooks.WithLabelValues(status).Inc()
	s.metrics.accept.Observe(time.Since(d.ReceivedAt).Seconds())
}

func ids(items []*store.QueueItem) []int64 {
	out := []int64{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, who(r).user)
}

func filterFrom(r *http.Request) store.ItemFilter {
	q := r.URL.Query()
	n, _ := strconv.Atoi(q.Get("limit"))
	return store.ItemFilter{Repo: q.Get("repo"), Status: q.Get("status"), Workflow: q.Get("workflow"), Ref: q.Get("ref"), Actor: q.Get("actor"), Limit: n}
}

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	items, err := s.st.Items(r.Context(), filterFrom(r))
	if err != nil {
		s.fail(w, r, 500, err.Error())
		return
	}
	if items == nil {
		items = []*store.QueueItem{}
	}
	writeJSON(w, 200, items)
}

// RunView is a run with its jobs and approvals (GET /api/runs/{id}).
type RunView struct {
	*store.QueueItem
	Jobs        []*store.Job        `json:"jobs"`
	Approvals   []*store.Approval   `json:"approvals"`
	Annotations []*store.Annotation `json:"annotations"`
	Summaries   []*store.Summary    `json:"summaries"`
	Artifacts   []*store.Artifact   `json:"artifacts"`
}

func (s *Server) runView(r *http.Request) (*RunView, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, store.ErrNotFound
	}
	it, err := s.st.Item(r.Context(), id)
	if err != nil {
		return nil, err
	}
	v := &RunView{QueueItem: it, Jobs: []*store.Job{}, Approvals: []*store.Approval{}}
	if it.RunID != 0 {
		v.Jobs, _ = s.runs.Jobs(r.Context(), it.RunID)
		v.Annotations, _ = s.runs.Annotations(r.Context(), it.RunID)
		v.Summaries, _ = s.runs.Summaries(r.Context(), it.RunID)
		v.Artifacts, _ = s.runs.Artifacts(r.Context(), it.RunID)
	}
	if a, _ := s.st.Approvals(r.Context(), it.ID, ""); a != nil {
		v.Approvals = a
	}
	return v, nil
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	v, err := s.runView(r)
	if err != nil {
		s.fail(w, r, 404, "no such run")
		return
	}
	writeJSON(w, 200, v)
}

// apiLogs prints a run's logs as text: every job, or ?job=<name>.
func (s *Server) apiLogs(w http.ResponseWriter, r *http.Request) {
	v, err := s.runView(r)
	if err != nil {
		s.fail(w, r, 404, "no such run")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	only := r.URL.Query().Get("job")
	for _, j := range v.Jobs {
		if only != "" && j.Name != only && j.Key != only {
			continue
		}
		lines, _ := s.runs.Logs(r.Context(), j.ID)
		for _, l := range lines {
			fmt.Fprintf(w, "%s\t%s\n", j.Name, l.Text)
		}
	}
}

// sse streams a run's engine events as Server-Sent Events: the backlog of
// the current attempt, then live events; it ends when the run does.
func (s *Server) sse(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	it, err := s.st.Item(r.Context(), id)
	if err != nil {
		s.fail(w, r, 404, "no such run")
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, r, 500, "streaming unsupported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	send := func(e engine.Event) {
		b, _ := json.Marshal(e)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, b)
	}
	if finishedStatus(it.Status) {
		send(engine.Event{Type: "item_finished", Status: it.Status, Text: it.Message})
		fl.Flush()
		return
	}
	backlog, ch, unsub := s.hub.subscribe(id)
	defer unsub()
	for _, e := range backlog {
		send(e)
	}
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-ch:
			if !ok {
				it, err := s.st.Item(r.Context(), id)
				if err == nil {
					send(engine.Event{Type: "item_finished", Status: it.Status, Text: it.Message})
					fl.Flush()
				}
				return
			}
			send(e)
			fl.Flush()
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
			fl.Flush()
		}
	}
}

func (s *Server) apiCancel(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err := s.cancelItem(r.Context(), id, who(r).user.Name); err != nil {
		s.fail(w, r, 409, err.Error())
		return
	}
	writeJSON(w, 202, map[string]any{"cancelled": id})
}

// DecideRequest is POST /api/runs/{id}/approvals.
type DecideRequest struct {
	Environment string   `json:"environment"`
	Job         string   `json:"job,omitempty"`
	Decision    string   `json:"decision"` // approve or reject
	Comment     string   `json:"comment"`
	Checked     []string `json:"checked,omitempty"`
}

func (s *Server) apiDecide(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var req DecideRequest
	if err := readJSON(r, &req); err != nil {
		s.fail(w, r, 400, err.Error())
		return
	}
	if req.Decision != "approve" && req.Decision != "reject" {
		s.fail(w, r, 400, `decision: want "approve" or "reject"`)
		return
	}
	list, err := s.st.Approvals(r.Context(), id, store.ApprovalWaiting)
	if err != nil {
		s.fail(w, r, 500, err.Error())
		return
	}
	var decided []*store.Approval
	for _, a := range list {
		if a.Environment != req.Environment || (req.Job != "" && a.Job != req.Job) {
			continue
		}
		got, err := s.decide(r.Context(), who(r).user, a.ID, Decision{Approve: req.Decision == "approve", Comment: req.Comment, Checked: req.Checked})
		if err != nil {
			var de *DecisionError
			if errors.As(err, &de) {
				s.fail(w, r, de.Code, de.Msg)
				return
			}
			s.fail(w, r, 500, err.Error())
			return
		}
		decided = append(decided, got)
	}
	if len(decided) == 0 {
		s.fail(w, r, 404, fmt.Sprintf("run %d has no job waiting for %q", id, req.Environment))
		return
	}
	writeJSON(w, 200, decided)
}

// DispatchRequest is POST /api/dispatch (workflow_dispatch).
type DispatchRequest struct {
	Repo     string            `json:"repo"`
	Workflow string            `json:"workflow"`
	Ref      string            `json:"ref"`
	Inputs   map[string]string `json:"inputs,omitempty"`
}

func (s *Server) apiDispatch(w http.ResponseWriter, r *http.Request) {
	var req DispatchRequest
	if err := readJSON(r, &req); err != nil {
		s.fail(w, r, 400, err.Error())
		return
	}
	items, err := s.dispatch(r, req)
	if err != nil {
		s.fail(w, r, 422, err.Error())
		return
	}
	writeJSON(w, 202, map[string]any{"runs": ids(items)})
}

func (s *Server) dispatch(r *http.Request, req DispatchRequest) ([]*store.QueueItem, error) {
	repo := s.cfg.Repo(req.Repo)
	if repo == nil && req.Repo == "" && len(s.cfg.Repositories) == 1 {
		repo = s.cfg.Repositories[0]
	}
	if repo == nil {
		return nil, fmt.Errorf("no repository %q is configured", req.Repo)
	}
	if req.Ref == "" {
		req.Ref = "refs/heads/main"
	}
	if !strings.HasPrefix(req.Ref, "refs/") {
		req.Ref = "refs/heads/" + req.Ref
	}
	user := who(r).user.Name
	payload := map[string]any{"ref": req.Ref, "workflow": req.Workflow, "inputs": anyMap(req.Inputs),
		"sender": map[string]any{"login": user}, "repository": map[string]any{"full_name": repo.Name}}
	items, err := s.items(&trigger{repo: repo, name: "workflow_dispatch", payload: payload, inputs: req.Inputs, ref: req.Ref, only: req.Workflow})
	if err != nil {
		return nil, err
	}
	if err := s.st.Enqueue(r.Context(), items); err != nil {
		return nil, err
	}
	s.audit(r.Context(), user, "dispatch", repo.Name, fmt.Sprintf("%s at %s, runs %v", req.Workflow, req.Ref, ids(items)))
	s.kick()
	return items, nil
}

func (s *Server) apiApprovals(w http.ResponseWriter, r *http.Request) {
	list, err := s.st.Approvals(r.Context(), 0, r.URL.Query().Get("status"))
	if err != nil {
		s.fail(w, r, 500, err.Error())
		return
	}
	if list == nil {
		list = []*store.Approval{}
	}
	writeJSON(w, 200, list)
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	list, err := s.st.AuditLog(r.Context(), n)
	if err != nil {
		s.fail(w, r, 500, err.Error())
		return
	}
	if list == nil {
		list = []*store.AuditEntry{}
	}
	writeJSON(w, 200, list)
}

// UserRequest is POST /api/users.
type UserRequest struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password,omitempty"`
}

func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request) {
	var req UserRequest
	if err := readJSON(r, &req); err != nil {
		s.fail(w, r, 400, err.Error())
		return
	}
	u, err := CreateUser(r.Context(), s.st, req.Name, req.Role, req.Password)
	if err != nil {
		code := 422
		if errors.Is(err, store.ErrDuplicate) {
			code = 409
		}
		s.fail(w, r, code, err.Error())
		return
	}
	s.audit(r.Context(), who(r).user.Name, "user.create", u.Name, u.Role)
	writeJSON(w, 201, u)
}

// apiCreateToken makes a token for a user: admins for anyone, others for
// themselves. The token is in the answer and nowhere else.
func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	me := who(r).user
	name := r.PathValue("name")
	if name != me.Name && !atLeast(me.Role, RoleAdmin) {
		s.fail(w, r, 403, "only an admin makes tokens for another user")
		return
	}
	u, err := s.st.UserByName(r.Context(), name)
	if err != nil {
		s.fail(w, r, 404, "no user "+name)
		return
	}
	var req struct {
		Name string `json:"name"`
	}
	if r.ContentLength > 0 {
		if err := readJSON(r, &req); err != nil {
			s.fail(w, r, 400, err.Error())
			return
		}
	}
	tok, err := NewToken(r.Context(), s.st, u, req.Name)
	if err != nil {
		s.fail(w, r, 500, err.Error())
		return
	}
	s.audit(r.Context(), me.Name, "token.create", u.Name, req.Name)
	writeJSON(w, 201, map[string]string{"user": u.Name, "token": tok})
}
