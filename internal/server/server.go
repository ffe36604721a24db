// Package server is `shipgate serve`: one process that takes GitHub-format
// webhooks and API dispatches, queues runs, executes them with the engine,
// holds jobs of protected environments until a reviewer decides, and shows
// it all on a dashboard.
//
// The flow of one run:
//
//  1. in: a webhook (HMAC-verified, deduplicated by delivery ID) or an API
//     dispatch becomes queue items, one per triggered workflow, stored
//     before the request is answered (queue.go, webhook.go).
//  2. schedule: the dispatcher starts queued items within the global and
//     per-repository limits; a workflow concurrency group keeps one run
//     going and one pending, cancelling the running one when
//     cancel-in-progress says so (queue.go).
//  3. run: engine.Run with an EnvironmentGate: a job with `environment:`
//     waits for approval under the environment's rules (approvals.go).
//     Engine events go to live subscribers (Server-Sent Events) and
//     metrics; notifications go out when the run ends (notify).
//  4. restart: runs in flight when the server died are resumed (when they
//     were only waiting for approval: finished jobs are reused, the
//     request stays pending) or marked interrupted with their logs so far.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shipgate/shipgate/internal/executor"
	"github.com/shipgate/shipgate/internal/executor/host"
	"github.com/shipgate/shipgate/internal/notify"
	"github.com/shipgate/shipgate/internal/store"
)

// Options configure a Server.
type Options struct {
	Config *Config
	DB     *store.DB
	// Executor runs steps; nil is the host executor.
	Executor executor.Executor
	// Log receives the server's own log lines; nil is log.Default.
	Log *log.Logger
	// Poll is how often waiting approvals re-read the store (for
	// decisions made by another replica or the CLI); default 1s.
	Poll time.Duration
	// Notifier sends notifications; nil uses a default notify.Sender.
	Notifier *notify.Sender
	// Records overrides where server records live; nil is store.NewServer(DB).
	Records Records
	// Replica names this server among those sharing the database; unique
	// per replica and stable across its restarts (default: the host name).
	Replica string
	// Lease is how long a claimed run stays this replica's without a
	// renewal (default 30s; renewed every third of it). A replica that
	// stops renewing loses its runs to another after this long.
	Lease time.Duration
	// StateDir holds what is not in the database: artifacts, live-log
	// journals, job temp dirs. Default: the SQLite file's folder; a
	// PostgreSQL store needs it set.
	StateDir string
}

// Server is a running shipgate server.
type Server struct {
	cfg      *Config
	db       *store.DB
	st       Records
	runs     *store.Runs
	exec     executor.Executor
	log      *log.Logger
	poll     time.Duration
	notifier *notify.Sender
	stateDir string
	replica  string
	hostname string
	lease    time.Duration
	limit    *limiter
	metrics  *metrics
	hub      *hub
	fanout   chan replicaEvent // events for the other replicas (PostgreSQL)
	handler  http.Handler

	mu      sync.Mutex
	active  map[int64]*active // queue ID -> running item
	waiters map[int64]chan struct{}
	wake    chan struct{}
	repoMu  map[string]*sync.Mutex // url: repositories: one git user at a time
	wfMu    sync.Mutex
	wfCache map[string]*wfEntry
	// ingestWake says a delivery was stored.
	ingestWake chan struct{}
	wg         sync.WaitGroup
	stop       context.CancelFunc
	baseCtx    context.Context
}

// active is a running queue item.
type active struct {
	item   *store.QueueItem
	cancel context.CancelFunc
	since  time.Time // when this replica claimed it
}

// New builds a server over an open store. Call Start to run the queue.
func New(o Options) (*Server, error) {
	if o.Config == nil {
		o.Config = &Config{}
	}
	if err := o.Config.check(); err != nil {
		return nil, err
	}
	s := &Server{cfg: o.Config, db: o.DB, st: store.NewServer(o.DB), runs: store.NewRuns(o.DB), exec: o.Executor,
		log: o.Log, poll: o.Poll, notifier: o.Notifier, stateDir: o.StateDir,
		active: map[int64]*active{}, waiters: map[int64]chan struct{}{}, wake: make(chan struct{}, 1), wfCache: map[string]*wfEntry{}, ingestWake: make(chan struct{}, 1)}
	if s.stateDir == "" {
		if o.DB.Postgres() {
			return nil, errors.New("server: a PostgreSQL store needs a state directory for artifacts and logs")
		}
		s.stateDir = filepath.Dir(o.DB.Path())
	}
	if abs, err := filepath.Abs(s.stateDir); err == nil {
		s.stateDir = abs // steps run in the repository; their files must not be relative
	}
	for _, r := range s.cfg.Repositories {
		if r.URL != "" {
			r.Path = clonePath(s.stateDir, r.Name)
		}
	}
	if o.Records != nil {
		s.st = o.Records
	}
	if s.exec == nil {
		s.exec = &host.Executor{}
	}
	if s.log == nil {
		s.log = log.Default()
	}
	if s.poll <= 0 {
		s.poll = time.Second
	}
	s.hostname, _ = os.Hostname()
	s.replica = o.Replica
	if s.replica == "" {
		s.replica = s.hostname
	}
	s.lease = o.Lease
	if s.lease <= 0 {
		s.lease = 30 * time.Second
	}
	if s.notifier == nil {
		s.notifier = &notify.Sender{}
	}
	s.limit = &limiter{max: s.cfg.LoginAttempts, fails: map[string][]time.Time{}}
	s.metrics = newMetrics(s)
	s.hub = newHub()
	s.handler = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler (API, webhooks, dashboard, metrics).
func (s *Server) Handler() http.Handler { return s.handler }

// Start recovers runs left by a previous process and starts the queue.
func (s *Server) Start(ctx context.Context) error {
	ctx, s.stop = context.WithCancel(ctx)
	s.baseCtx = ctx
	// Runs this replica held before a restart are taken back at once;
	// those of other replicas once their leases run out (leaseLoop).
	if err := s.adoptOrphans(ctx, true); err != nil {
		return err
	}
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		s.dispatchLoop(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.ingestLoop(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.leaseLoop(ctx)
	}()
	if s.db != nil && s.db.Postgres() {
		s.fanout = make(chan replicaEvent, 10000)
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			s.listenReplicas(ctx)
		}()
		go func() {
			defer s.wg.Done()
			s.sendEvents(ctx)
		}()
	}
	return nil
}

// Shutdown cancels running runs and waits for them to record their end.
func (s *Server) Shutdown() {
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
}

func (s *Server) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// fail answers an error as JSON (API) or plain text.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %v", err)
	}
	return nil
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func (s *Server) audit(ctx context.Context, actor, action, target, detail string) {
	if err := s.st.Audit(context.WithoutCancel(ctx), actor, action, target, detail); err != nil {
		s.log.Printf("audit: %v", err)
	}
}

// notify sends m to the repository's targets in the background; failures
// are logged and audited, never returned.
func (s *Server) notify(repo *Repo, m notify.Message) {
	if repo == nil {
		return
	}
	if s.cfg.BaseURL != "" && m.RunID > 0 {
		m.URL = fmt.Sprintf("%s/runs/%d", s.cfg.BaseURL, m.RunID)
	}
	for _, t := range repo.Notify {
		if !t.Wants(m.Event) {
			continue
		}
		s.wg.Add(1)
		go func(t notify.Target) {
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.notifier.Send(ctx, t, m); err != nil {
				s.metrics.notifications.WithLabelValues("failed").Inc()
				s.log.Printf("notification %s for run %d failed: %v", m.Event, m.RunID, err)
				s.audit(ctx, "shipgate", "notify.failed", fmt.Sprintf("run %d", m.RunID), err.Error())
				return
			}
			s.metrics.notifications.WithLabelValues("sent").Inc()
		}(t.Target)
	}
}

func getenvDefault(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
