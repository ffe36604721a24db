package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shipgate/shipgate/internal/actions"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/event"
	"github.com/shipgate/shipgate/internal/executor/host"
	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/notify"
	"github.com/shipgate/shipgate/internal/plan"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
)

// trigger is one event for one repository, before it becomes queue items.
type trigger struct {
	repo    *Repo
	name    string // push, pull_request, workflow_dispatch, ...
	payload map[string]any
	inputs  map[string]string
	ref     string
	// only is a workflow file (workflow_dispatch); empty: every workflow
	// the event triggers.
	only string
}

// loadEvent builds the engine's event and github context for a trigger.
func loadEvent(repo *Repo, name string, payload json.RawMessage, inputs map[string]string, ref string) (*event.Event, error) {
	f, err := os.CreateTemp("", "shipgate-event-*.json")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if len(payload) == 0 {
		payload = json.RawMessage("{}")
	}
	f.Write(payload)
	f.Close()
	return event.Load(event.Options{Name: name, EventPath: f.Name(), Inputs: inputs, Ref: ref, Workspace: repo.Path})
}

// loadWorkflow parses a workflow of a repository; rel is relative to it.
func loadWorkflow(repo *Repo, rel string) (*workflow.Workflow, error) {
	path := filepath.Join(repo.Path, rel)
	wf, ds, err := workflow.Load(path, workflow.Options{Strict: true, KnownAction: actions.Known, NoScriptCheck: true})
	if err != nil {
		return nil, err
	}
	if block, _ := engine.Blocking(ds); len(block) > 0 || wf == nil {
		msg := "the workflow cannot run"
		if len(block) > 0 {
			msg = fmt.Sprintf("%s: %s", block[0].Pos, block[0].Message)
		}
		return nil, fmt.Errorf("%s: %s", rel, msg)
	}
	return wf, nil
}

// workflowFiles lists a repository's workflows, relative to it, sorted.
func workflowFiles(repo *Repo) []string {
	var out []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, _ := filepath.Glob(filepath.Join(repo.Path, ".github", "workflows", pat))
		for _, p := range m {
			rel, _ := filepath.Rel(repo.Path, p)
			out = append(out, rel)
		}
	}
	sortStrings(out)
	return out
}

// items turns a trigger into queue items: one per workflow it triggers,
// with the workflow's concurrency group evaluated.
func (s *Server) items(t *trigger) ([]*store.QueueItem, error) {
	if t.repo.URL != "" {
		mu := s.repoLock(t.repo)
		mu.Lock()
		defer mu.Unlock()
		if err := s.syncClone(s.baseCtxOr(), t); err != nil {
			return nil, err
		}
	}
	payload, _ := json.Marshal(t.payload)
	ev, err := loadEvent(t.repo, t.name, payload, t.inputs, t.ref)
	if err != nil {
		return nil, err
	}
	files := workflowFiles(t.repo)
	if t.only != "" {
		files = nil
		for _, f := range workflowFiles(t.repo) {
			if f == t.only || filepath.Base(f) == t.only || strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)) == t.only {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no workflow %q in %s (.github/workflows)", t.only, t.repo.Name)
		}
	}
	var out []*store.QueueItem
	for _, f := range files {
		wf, err := s.cachedWorkflow(t.repo, f)
		if err != nil {
			if t.only != "" {
				return nil, err
			}
			s.log.Printf("%s: skipping %v", t.repo.Name, err)
			continue
		}
		if ok, _ := plan.Triggered(wf, ev.Plan); !ok {
			if t.only != "" {
				return nil, fmt.Errorf("%s has no on: %s trigger for ref %s", f, t.name, ev.Plan.Ref)
			}
			continue
		}
		if _, ds := plan.Inputs(wf, ev.Plan); diag.HasErrors(ds) {
			if t.only != "" {
				return nil, fmt.Errorf("%s: %s", f, (&engine.InputError{Diags: ds}).Error())
			}
			continue
		}
		it := &store.QueueItem{Repo: t.repo.Name, Workflow: f, Event: t.name, Ref: str(ev.GitHub["ref"]), SHA: str(ev.GitHub["sha"]),
			Actor: str(ev.GitHub["actor"]), Inputs: t.inputs, Payload: payload}
		if c := wf.Concurrency; c != nil && c.Group.Value != "" {
			ec := &expr.Context{Contexts: map[string]any{"github": expr.FromGo(ev.GitHub), "inputs": expr.FromGo(anyMap(t.inputs)), "vars": map[string]any{}}}
			if g, err := expr.Interpolate(c.Group.Value, ec); err == nil {
				it.Group = t.repo.Name + ":" + g
			}
			cip := strings.TrimSpace(c.CancelInProgress.Value)
			if strings.Contains(cip, "${{") {
				cip, _ = expr.Interpolate(cip, ec)
			}
			it.CancelInProgress = cip == "true"
		}
		out = append(out, it)
	}
	return out, nil
}

// wfEntry is a parsed workflow and the file facts it was parsed from.
type wfEntry struct {
	mod  time.Time
	size int64
	wf   *workflow.Workflow
	err  error
}

// cachedWorkflow parses a workflow once per version of its file (by
// modification time and size): turning a delivery into runs reads every
// workflow of the repository, and parsing dominates that. Only the
// trigger and concurrency are read from a cached model; a run parses its
// workflow afresh.
func (s *Server) cachedWorkflow(repo *Repo, rel string) (*workflow.Workflow, error) {
	st, err := os.Stat(filepath.Join(repo.Path, rel))
	if err != nil {
		return nil, err
	}
	key := repo.Name + "\x00" + rel
	s.wfMu.Lock()
	e, ok := s.wfCache[key]
	s.wfMu.Unlock()
	if ok && e.mod.Equal(st.ModTime()) && e.size == st.Size() {
		return e.wf, e.err
	}
	wf, err := loadWorkflow(repo, rel)
	s.wfMu.Lock()
	s.wfCache[key] = &wfEntry{mod: st.ModTime(), size: st.Size(), wf: wf, err: err}
	s.wfMu.Unlock()
	return wf, err
}

func anyMap(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return expr.ToString(v)
}

// dispatchLoop starts queued items whenever something changes.
func (s *Server) dispatchLoop(ctx context.Context) {
	for {
		s.schedule(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-time.After(s.poll): // other replicas' runs and enqueues
		}
	}
}

// schedule starts what may start now: oldest first, within this
// replica's limit, the repository's limit and one run per concurrency
// group, the last two counted over every replica (ClaimItem checks them
// again atomically, so replicas racing for an item cannot break them).
func (s *Server) schedule(ctx context.Context) {
	queued, err := s.st.QueuedItems(ctx)
	if err == nil && len(queued) > 0 {
		var running []*store.QueueItem
		if running, err = s.st.RunningItems(ctx); err == nil {
			s.startQueued(ctx, queued, running)
		}
	}
	if err != nil && ctx.Err() == nil {
		s.log.Printf("queue: %v", err)
	}
}

func (s *Server) startQueued(ctx context.Context, queued, running []*store.QueueItem) {
	// A newer pending run in a group supersedes an older pending one.
	newest := map[string]int64{}
	for _, it := range queued {
		if it.Group != "" {
			newest[it.Group] = it.ID
		}
	}
	perRepo := map[string]int{}
	groupRuns := map[string][]int64{}
	for _, it := range running {
		perRepo[it.Repo]++
		if it.Group != "" {
			groupRuns[it.Group] = append(groupRuns[it.Group], it.ID)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range queued {
		if it.Group != "" && newest[it.Group] != it.ID {
			s.endQueued(ctx, it.ID, store.StatusCancelled, fmt.Sprintf("superseded by run %d in concurrency group %s", newest[it.Group], it.Group))
			continue
		}
		if len(s.active) >= s.cfg.MaxConcurrent {
			return
		}
		repo := s.cfg.Repo(it.Repo)
		if repo == nil {
			s.endQueued(ctx, it.ID, store.StatusFailure, "repository "+it.Repo+" is no longer configured")
			continue
		}
		if it.Group != "" && len(groupRuns[it.Group]) > 0 {
			if it.CancelInProgress {
				for _, id := range groupRuns[it.Group] {
					s.cancelRunning(ctx, id)
				}
			}
			continue
		}
		if perRepo[it.Repo] >= repo.MaxConcurrent {
			continue
		}
		res, err := s.st.ClaimItem(ctx, it.ID, s.newLease(), repo.MaxConcurrent)
		if err != nil {
			s.log.Printf("queue: claim %d: %v", it.ID, err)
			continue
		}
		if res != store.Claimed {
			continue // another replica was faster; the next round sees why
		}
		perRepo[it.Repo]++
		if it.Group != "" {
			groupRuns[it.Group] = append(groupRuns[it.Group], it.ID)
		}
		it.Attempts++
		runCtx, cancel := context.WithCancel(ctx)
		s.active[it.ID] = &active{item: it, cancel: cancel, since: time.Now()}
		s.metrics.started.Inc()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer cancel()
			s.execute(runCtx, repo, it)
			s.mu.Lock()
			delete(s.active, it.ID)
			s.mu.Unlock()
			s.kick()
		}()
	}
}

// newLease is a claim by this replica from now.
func (s *Server) newLease() store.Lease {
	return store.Lease{Owner: s.replica, Host: s.hostname, Until: time.Now().Add(s.lease)}
}

// endQueued ends an item that has not started, unless a replica claimed
// it meanwhile.
func (s *Server) endQueued(ctx context.Context, id int64, status, msg string) bool {
	ok, err := s.st.FinishQueued(ctx, id, status, msg)
	if err != nil || !ok {
		return false
	}
	s.metrics.finished.WithLabelValues(status).Inc()
	s.publish(id, engine.Event{Type: "item_finished", Status: status, Text: msg})
	return true
}

// cancelRunning cancels a running item: here when this replica runs it,
// else through the store, which its replica reads at its next renewal.
// Callers hold s.mu.
func (s *Server) cancelRunning(ctx context.Context, id int64) {
	if a := s.active[id]; a != nil {
		a.cancel()
		return
	}
	if err := s.st.RequestCancel(ctx, id); err != nil {
		s.log.Printf("queue: cancel %d: %v", id, err)
	}
}

// cancelItem cancels a queued or running item.
func (s *Server) cancelItem(ctx context.Context, id int64, by string) error {
	it, err := s.st.Item(ctx, id)
	if err != nil {
		return err
	}
	switch it.Status {
	case store.StatusQueued:
		if !s.endQueued(ctx, id, store.StatusCancelled, "cancelled by "+by) {
			// Claimed meanwhile: cancel it where it runs.
			s.mu.Lock()
			s.cancelRunning(ctx, id)
			s.mu.Unlock()
		}
	case store.StatusRunning:
		s.mu.Lock()
		s.cancelRunning(ctx, id)
		s.mu.Unlock()
	default:
		return fmt.Errorf("run %d is already %s", id, it.Status)
	}
	s.audit(ctx, by, "cancel", fmt.Sprintf("run %d", id), "")
	return nil
}

// execute runs one queue item with the engine and records how it ended.
func (s *Server) execute(ctx context.Context, repo *Repo, it *store.QueueItem) {
	status, msg := store.StatusFailure, ""
	var running sync.Map // job ID -> legs executing now
	defer func() {
		if ctx.Err() != nil && status != store.StatusSuccess && s.baseCtx.Err() != nil {
			busy := false
			running.Range(func(_, v any) bool {
				busy = busy || v.(int) > 0
				return !busy
			})
			if !busy {
				// The server is stopping while the run only waits for
				// approval: leave it running so the next start resumes it.
				return
			}
			status, msg = store.StatusInterrupted, "the server stopped while a job was running"
		}
		ok, err := s.st.FinishOwned(context.WithoutCancel(ctx), it.ID, s.replica, status, msg)
		if err != nil || !ok {
			// The lease was lost: another replica took the run over and
			// records its end.
			s.log.Printf("run %d: not recording %s: this replica no longer holds it (%v)", it.ID, status, err)
			return
		}
		s.metrics.finished.WithLabelValues(status).Inc()
		s.publish(it.ID, engine.Event{Type: "item_finished", Status: status, Text: msg})
		ev := map[string]string{store.StatusSuccess: "run_succeeded", store.StatusFailure: "run_failed", store.StatusCancelled: "run_cancelled"}[status]
		if ev != "" {
			s.notify(repo, notify.Message{Event: ev, Status: status, Repository: it.Repo, Workflow: it.Workflow, Ref: it.Ref, Actor: it.Actor, RunID: it.ID, Text: msg})
		}
	}()
	if repo.URL != "" {
		run, remove, err := s.worktree(ctx, repo, it)
		if err != nil {
			msg = err.Error()
			return
		}
		defer remove()
		repo = run
	}
	wf, err := loadWorkflow(repo, it.Workflow)
	if err != nil {
		msg = err.Error()
		return
	}
	ev, err := loadEvent(repo, it.Event, it.Payload, it.Inputs, it.Ref)
	if err != nil {
		msg = err.Error()
		return
	}
	secrets := map[string]string{}
	if repo.SecretsFile != "" {
		b, err := os.ReadFile(repo.SecretsFile)
		if err == nil {
			secrets, err = engine.ParseDotenv(string(b))
		}
		if err != nil {
			msg = "secrets_file: " + err.Error()
			return
		}
	}
	var reuse map[string]*engine.ReusedJob
	var rerunOf int64
	if it.RunID != 0 {
		// A resumed attempt: take the jobs that finished before as they were.
		if jobs, err := s.runs.Jobs(ctx, it.RunID); err == nil {
			reuse = reusable(wf, jobs)
			rerunOf = it.RunID
		}
	}
	params, _ := json.Marshal(map[string]any{"server_run": it.ID, "repo": it.Repo, "workflow": it.Workflow, "event": it.Event, "ref": it.Ref, "inputs": it.Inputs})
	self, _ := os.Executable()
	var jr *journal
	res, err := engine.Run(ctx, engine.Options{
		Workflow: wf, WorkflowPath: filepath.Join(repo.Path, it.Workflow), Event: ev.Plan, EventPayload: ev.Payload, GitHub: ev.GitHub,
		Secrets: secrets, Workspace: repo.Path, StateDir: s.stateDir, Executor: s.exec, Runs: s.runs, Params: params,
		Reuse: reuse, RerunOf: rerunOf, Self: self,
		Sink: func(e engine.Event) {
			if e.Type == "run_started" {
				s.st.SetItemRun(context.WithoutCancel(ctx), it.ID, e.RunID)
				it.RunID = e.RunID
				if j, err := openJournal(s.stateDir, e.RunID); err == nil {
					jr = j
				} else {
					s.log.Printf("run %d: log journal: %v", it.ID, err)
				}
			}
			switch e.Type {
			case "log":
				jr.add(e)
			case "job_started":
				v, _ := running.LoadOrStore(e.Job, 0)
				running.Store(e.Job, v.(int)+1)
			case "job_finished":
				if v, ok := running.Load(e.Job); ok {
					running.Store(e.Job, v.(int)-1)
				}
			}
			s.metrics.event(e)
			s.publish(it.ID, e)
		},
		EnvironmentGate: func(ctx context.Context, jobID, env string) error { return s.gate(ctx, repo, it, jobID, env) },
	})
	jr.remove() // the engine returned: it stored every line
	if err != nil {
		var ie *engine.InputError
		if errors.As(err, &ie) {
			msg = ie.Error()
		} else {
			msg = err.Error()
		}
		if res == nil {
			return
		}
	}
	status = res.Status
}

// reusable picks the jobs of an interrupted attempt a resumed one takes as
// they were: every job whose legs all succeeded or were skipped and whose
// needs are reused too.
func reusable(wf *workflow.Workflow, jobs []*store.Job) map[string]*engine.ReusedJob {
	result := map[string]string{}
	outputs := map[string]map[string]string{}
	for _, j := range jobs {
		r, seen := result[j.Key]
		if !seen || (r != store.StatusFailure && j.Status != store.StatusSuccess && j.Status != store.StatusSkipped) {
			result[j.Key] = j.Status
		}
		if outputs[j.Key] == nil {
			outputs[j.Key] = map[string]string{}
		}
		maps.Copy(outputs[j.Key], j.Outputs)
	}
	memo := map[string]bool{}
	var ok func(id string) bool
	ok = func(id string) bool {
		if v, seen := memo[id]; seen {
			return v
		}
		memo[id] = false
		r := result[id]
		v := r == store.StatusSuccess || r == store.StatusSkipped
		if j := wf.Job(id); v && j != nil {
			for _, n := range j.Needs {
				if !ok(n.Value) {
					v = false
				}
			}
		}
		memo[id] = v
		return v
	}
	out := map[string]*engine.ReusedJob{}
	for _, j := range wf.Jobs {
		if ok(j.ID) {
			out[j.ID] = &engine.ReusedJob{Result: result[j.ID], Outputs: outputs[j.ID]}
		}
	}
	return out
}

// adoptOrphans takes over running items whose replica is gone: those
// whose lease ran out, and at start (self) those this replica held before
// it restarted.
func (s *Server) adoptOrphans(ctx context.Context, atStart bool) error {
	self := ""
	if atStart {
		self = s.replica
	}
	orphans, err := s.st.OrphanedItems(ctx, time.Now(), self)
	if err != nil {
		return err
	}
	for _, o := range orphans {
		s.mu.Lock()
		mine := s.active[o.ID] != nil
		s.mu.Unlock()
		if mine {
			continue // running here: a late renewal, not an orphan
		}
		ok, err := s.st.TakeOver(ctx, o, s.newLease())
		if err != nil {
			return err
		}
		if ok {
			if err := s.adopt(ctx, o); err != nil {
				return err
			}
		}
	}
	return nil
}

// adopt settles one orphan this replica now holds. A run that only waited
// for approvals resumes. A run whose job was executing gets its attempt
// marked interrupted (its log kept, its processes reaped when they ran on
// this machine) and runs again, jobs that had finished reused, while
// attempts remain (max_attempts); after that it ends interrupted.
func (s *Server) adopt(ctx context.Context, o *store.Orphan) error {
	it := o.QueueItem
	why := "replica " + o.Owner + " stopped renewing its lease"
	if o.Owner == s.replica {
		why = "the server restarted"
	}
	if it.RunID == 0 {
		_, err := s.st.RequeueOwned(ctx, it.ID, s.replica, "resumed: "+why)
		return err
	}
	jobs, err := s.runs.Jobs(ctx, it.RunID)
	if err != nil {
		return err
	}
	busy := false
	for _, j := range jobs {
		if j.Status == store.StatusRunning || j.Status == store.StatusQueued {
			busy = true
		}
	}
	if busy {
		if err := salvage(ctx, s.runs, s.stateDir, it.RunID); err != nil {
			return err
		}
	}
	tmp := filepath.Join(s.stateDir, "tmp", strconv.FormatInt(it.RunID, 10))
	if o.Host == s.hostname {
		host.Reap(filepath.Join(tmp, engine.ProcDirName))
		os.RemoveAll(tmp)
	}
	if err := s.st.InterruptRun(ctx, it.RunID); err != nil {
		return err
	}
	target := fmt.Sprintf("run %d", it.ID)
	if busy && it.Attempts >= s.cfg.MaxAttempts {
		msg := fmt.Sprintf("interrupted: %s while a job was running (attempt %d of max_attempts %d)", why, it.Attempts, s.cfg.MaxAttempts)
		if ok, err := s.st.FinishOwned(ctx, it.ID, s.replica, store.StatusInterrupted, msg); err != nil || !ok {
			return err
		}
		s.metrics.finished.WithLabelValues(store.StatusInterrupted).Inc()
		s.publish(it.ID, engine.Event{Type: "item_finished", Status: store.StatusInterrupted, Text: msg})
		s.log.Printf("run %d %s", it.ID, msg)
		s.audit(ctx, "shipgate", "run.interrupted", target, msg)
		return nil
	}
	os.Remove(journalPath(s.stateDir, it.RunID))
	msg := "resumed: " + why
	if busy {
		msg += fmt.Sprintf(" while a job was running; attempt %d", it.Attempts+1)
	}
	if _, err := s.st.RequeueOwned(ctx, it.ID, s.replica, msg); err != nil {
		return err
	}
	s.log.Printf("run %d %s", it.ID, msg)
	s.audit(ctx, "shipgate", "run.resumed", target, msg)
	s.kick()
	return nil
}
