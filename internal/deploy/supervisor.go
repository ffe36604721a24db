package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shipgate/shipgate/internal/atomicfile"
)

// LocalState is what the local provider's supervisor keeps on disk in
// <dir>/<env>/state.json: enough for `shipgate deploy status` to say what
// runs after shipgate (or the supervisor) restarted.
type LocalState struct {
	Env      string     `json:"env"`
	PID      int        `json:"pid"`   // the supervisor
	Proxy    string     `json:"proxy"` // host:port users reach
	Admin    string     `json:"admin"` // host:port of the control API, /metrics and /sd
	Weight   int        `json:"weight"`
	Stable   *TrackSpec `json:"stable,omitempty"`
	Canary   *TrackSpec `json:"canary,omitempty"`
	Previous *Release   `json:"previous,omitempty"`
	Updated  time.Time  `json:"updated"`
}

// TrackSpec is a release and its replicas as the supervisor runs them.
type TrackSpec struct {
	Release  Release   `json:"release"`
	Replicas []Replica `json:"replicas"`
}

// Supervisor runs an environment's replicas on loopback ports behind a
// weighted reverse proxy, restarts replicas that exit, and serves a small
// control API (used by the local provider) on a second loopback port,
// with the proxy's metrics at /metrics and Prometheus HTTP service
// discovery of the replicas at /sd (labels env, track, version).
type Supervisor struct {
	Env string
	// Dir is the environment's state folder (.shipgate/deploy/<env>).
	Dir string
	// Listen is the proxy's address (default 127.0.0.1:0, then kept in
	// the state so that it stays the same across supervisor restarts).
	Listen string
	// Log receives the supervisor's messages.
	Log io.Writer

	mu       sync.Mutex
	stable   *track
	canary   *track
	previous *Release
	weight   int
	proxy    string
	admin    string
	stopping bool
	stop     context.CancelFunc

	requests *prometheus.CounterVec
	rr       atomic.Uint64
}

type track struct {
	name     string // stable or canary
	rel      Release
	replicas []*replica
}

type replica struct {
	name     string
	port     int
	proxy    *httputil.ReverseProxy
	mu       sync.Mutex
	cmd      *exec.Cmd
	restarts int
	healthy  atomic.Bool
	stopped  atomic.Bool
	exited   chan struct{}
}

func (s *Supervisor) logf(format string, args ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, time.Now().UTC().Format("15:04:05.000")+" "+format+"\n", args...)
	}
}

// ReadLocalState reads an environment's state file.
func ReadLocalState(dir string) (*LocalState, error) {
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	var st LocalState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "state.json"), err)
	}
	return &st, nil
}

// Run serves until ctx ends or a stop request comes, then stops every
// replica. A proxy address already in use is an error.
func (s *Supervisor) Run(ctx context.Context) error {
	ctx, s.stop = context.WithCancel(ctx)
	defer s.stop()
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	old, _ := ReadLocalState(s.Dir)
	listen := s.Listen
	if listen == "" && old != nil && old.Proxy != "" {
		listen = old.Proxy
	}
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	pl, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("deploy %s: proxy cannot listen on %s: %w", s.Env, listen, err)
	}
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pl.Close()
		return fmt.Errorf("deploy %s: control API: %w", s.Env, err)
	}
	s.proxy, s.admin = pl.Addr().String(), al.Addr().String()
	reg := prometheus.NewRegistry()
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shipgate_proxy_requests_total",
		Help: "Requests through shipgate's local deploy proxy, by environment, track, version and status code.",
	}, []string{"env", "track", "version", "code"})
	reg.MustRegister(s.requests)

	// A supervisor that restarts takes its environment back: the
	// replicas it had are started again (their old processes went with
	// it: they ran in its process groups and were killed when it died, or
	// are killed now).
	if old != nil {
		for _, ts := range []*TrackSpec{old.Stable, old.Canary} {
			if ts == nil {
				continue
			}
			for _, r := range ts.Replicas {
				if r.PID > 0 {
					_ = syscall.Kill(-r.PID, syscall.SIGKILL)
				}
			}
		}
		s.previous = old.Previous
		if old.Stable != nil {
			s.logf("recovering %s %s", s.Env, old.Stable.Release.Version)
			t, err := s.startTrack(ctx, "stable", old.Stable.Release)
			if err != nil {
				s.logf("recover stable: %v", err)
			} else {
				s.stable = t
			}
		}
	}
	if err := s.save(); err != nil {
		return err
	}

	ps := &http.Server{Handler: http.HandlerFunc(s.serveProxy), ReadHeaderTimeout: 10 * time.Second}
	as := &http.Server{Handler: s.adminMux(reg), ReadHeaderTimeout: 10 * time.Second}
	go ps.Serve(pl)
	go as.Serve(al)
	go s.healthLoop(ctx)
	s.logf("supervising %s: proxy http://%s, control http://%s", s.Env, s.proxy, s.admin)
	<-ctx.Done()
	s.mu.Lock()
	s.stopping = true
	tracks := []*track{s.stable, s.canary}
	s.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = ps.Shutdown(sctx)
	_ = as.Shutdown(sctx)
	for _, t := range tracks {
		s.stopTrack(t)
	}
	return nil
}

// Addrs returns the proxy's and the control API's addresses once Run has
// started listening.
func (s *Supervisor) Addrs() (proxy, admin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proxy, s.admin
}

func (s *Supervisor) save() error {
	s.mu.Lock()
	st := LocalState{Env: s.Env, PID: os.Getpid(), Proxy: s.proxy, Admin: s.admin, Weight: s.weight,
		Previous: s.previous, Updated: time.Now().UTC()}
	if s.stable != nil {
		st.Stable = s.stable.spec()
	}
	if s.canary != nil {
		st.Canary = s.canary.spec()
	}
	s.mu.Unlock()
	return atomicfile.Write(filepath.Join(s.Dir, "state.json"), 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	})
}

func (t *track) spec() *TrackSpec {
	ts := &TrackSpec{Release: t.rel}
	for _, r := range t.replicas {
		r.mu.Lock()
		pid := 0
		if r.cmd != nil && r.cmd.Process != nil {
			pid = r.cmd.Process.Pid
		}
		ts.Replicas = append(ts.Replicas, Replica{Name: r.name, Addr: "127.0.0.1:" + strconv.Itoa(r.port), PID: pid,
			Healthy: r.healthy.Load(), Restarts: r.restarts})
		r.mu.Unlock()
	}
	return ts
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Supervisor) startTrack(ctx context.Context, name string, rel Release) (*track, error) {
	rel.defaults()
	if rel.Command == "" {
		return nil, errors.New("the local provider needs a command to run (--command)")
	}
	t := &track{name: name, rel: rel}
	for i := 0; i < rel.Replicas; i++ {
		port, err := freePort()
		if err != nil {
			s.stopTrack(t)
			return nil, err
		}
		// Named by version, not track: a canary that is promoted keeps its name.
		r := &replica{name: fmt.Sprintf("%s-%d", rel.Version, i), port: port}
		target, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(port))
		r.proxy = httputil.NewSingleHostReverseProxy(target)
		r.proxy.Transport = proxyTransport
		if err := s.startReplica(t, r); err != nil {
			s.stopTrack(t)
			return nil, err
		}
		t.replicas = append(t.replicas, r)
	}
	// Ready when every replica answers its health check.
	deadline := time.Now().Add(rel.HealthTimeout)
	for _, r := range t.replicas {
		for !r.healthy.Load() {
			if s.probe(r, rel.HealthPath) {
				r.healthy.Store(true)
				break
			}
			if time.Now().After(deadline) {
				s.stopTrack(t)
				return nil, fmt.Errorf("%s %s: replica %s did not become healthy (GET %s) within %s; see %s",
					name, rel.Version, r.name, rel.HealthPath, rel.HealthTimeout, filepath.Join(s.Dir, r.name+".log"))
			}
			select {
			case <-ctx.Done():
				s.stopTrack(t)
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return t, nil
}

var proxyTransport = &http.Transport{
	Proxy:               nil,
	DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
	MaxIdleConns:        256,
	MaxIdleConnsPerHost: 64,
	IdleConnTimeout:     30 * time.Second,
}

var healthClient = &http.Client{Timeout: 2 * time.Second, Transport: proxyTransport}

func (s *Supervisor) probe(r *replica, path string) bool {
	resp, err := healthClient.Get("http://127.0.0.1:" + strconv.Itoa(r.port) + path)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode < 500
}

func (s *Supervisor) startReplica(t *track, r *replica) error {
	logf, err := os.OpenFile(filepath.Join(s.Dir, r.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("sh", "-c", t.rel.Command)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(r.port), "SERVICE_VERSION="+t.rel.Version,
		"SHIPGATE_TRACK="+t.name, "SHIPGATE_ENV="+s.Env, "SHIPGATE_REPLICA="+r.name)
	for _, k := range sortedKeys(t.rel.Env) {
		cmd.Env = append(cmd.Env, k+"="+t.rel.Env[k])
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that the whole replica (sh and what it
	// started) is stopped together; killed if the supervisor dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("replica %s: %w", r.name, err)
	}
	r.mu.Lock()
	r.cmd = cmd
	r.exited = make(chan struct{})
	exited := r.exited
	r.mu.Unlock()
	s.logf("started %s pid %d on 127.0.0.1:%d", r.name, cmd.Process.Pid, r.port)
	go func() {
		err := cmd.Wait()
		// Whatever the replica's shell left behind goes with it, or the
		// port would stay taken for the restart.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		logf.Close()
		close(exited)
		r.healthy.Store(false)
		if r.stopped.Load() {
			return
		}
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			return
		}
		r.mu.Lock()
		r.restarts++
		n := r.restarts
		r.mu.Unlock()
		backoff := min(time.Duration(1<<min(n, 6))*50*time.Millisecond, 5*time.Second)
		s.logf("replica %s exited (%v); restart %d in %s", r.name, err, n, backoff)
		time.Sleep(backoff)
		if r.stopped.Load() {
			return
		}
		if err := s.startReplica(t, r); err != nil {
			s.logf("restart %s: %v", r.name, err)
		}
		_ = s.save()
	}()
	return nil
}

func (s *Supervisor) stopTrack(t *track) {
	if t == nil {
		return
	}
	for _, r := range t.replicas {
		r.stopped.Store(true)
		r.healthy.Store(false)
		r.mu.Lock()
		cmd, exited := r.cmd, r.exited
		r.mu.Unlock()
		if cmd == nil || cmd.Process == nil {
			continue
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
}

// healthLoop probes every replica each second; the proxy skips replicas
// that fail, and the state file shows them.
func (s *Supervisor) healthLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.mu.Lock()
		tracks := []*track{s.stable, s.canary}
		s.mu.Unlock()
		changed := false
		for _, t := range tracks {
			if t == nil {
				continue
			}
			for _, r := range t.replicas {
				if r.stopped.Load() {
					continue
				}
				ok := s.probe(r, t.rel.HealthPath)
				// A replica answering 5xx to a share of requests is still
				// up: one failed probe is not enough to drop it.
				if ok != r.healthy.Load() {
					if !ok && s.probe(r, t.rel.HealthPath) {
						continue
					}
					r.healthy.Store(ok)
					changed = true
				}
			}
		}
		if changed {
			_ = s.save()
		}
	}
}

func (s *Supervisor) serveProxy(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	stable, canary, weight := s.stable, s.canary, s.weight
	s.mu.Unlock()
	t := stable
	if canary != nil && weight > 0 && (weight >= 100 || rand.IntN(100) < weight) {
		t = canary
	}
	r := s.pick(t)
	if r == nil && t == canary {
		t = stable
		r = s.pick(t)
	}
	if r == nil {
		name, version := "none", ""
		if t != nil {
			name, version = t.name, t.rel.Version
		}
		s.requests.WithLabelValues(s.Env, name, version, "503").Inc()
		http.Error(w, "shipgate: no healthy replica", http.StatusServiceUnavailable)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, code: 200}
	r.proxy.ServeHTTP(rec, req)
	s.requests.WithLabelValues(s.Env, t.name, t.rel.Version, strconv.Itoa(rec.code)).Inc()
}

func (s *Supervisor) pick(t *track) *replica {
	if t == nil || len(t.replicas) == 0 {
		return nil
	}
	n := uint64(len(t.replicas))
	start := s.rr.Add(1)
	for i := uint64(0); i < n; i++ {
		r := t.replicas[(start+i)%n]
		if r.healthy.Load() {
			return r
		}
	}
	return nil
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// The control API.
func (s *Supervisor) adminMux(reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /sd", s.serveSD)
	mux.HandleFunc("GET /-/ping", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /-/state", func(w http.ResponseWriter, _ *http.Request) {
		_ = s.save()
		http.ServeFile(w, &http.Request{Method: "GET", URL: &url.URL{}}, filepath.Join(s.Dir, "state.json"))
	})
	op := func(f func(r *http.Request) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			err := f(r)
			_ = s.save()
			if err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			io.WriteString(w, "ok\n")
		}
	}
	mux.HandleFunc("POST /-/deploy", op(func(r *http.Request) error {
		var rel Release
		if err := json.NewDecoder(r.Body).Decode(&rel); err != nil {
			return err
		}
		return s.deploy(r.Context(), rel)
	}))
	mux.HandleFunc("POST /-/weight", op(func(r *http.Request) error {
		w, err := strconv.Atoi(r.URL.Query().Get("percent"))
		if err != nil || w < 0 || w > 100 {
			return fmt.Errorf("weight %q: want 0 to 100", r.URL.Query().Get("percent"))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.canary == nil {
			return errors.New("no canary to send traffic to")
		}
		s.weight = w
		s.logf("weight %d%% to %s", w, s.canary.rel.Version)
		return nil
	}))
	mux.HandleFunc("POST /-/promote", op(func(*http.Request) error { return s.promote() }))
	mux.HandleFunc("POST /-/abort", op(func(*http.Request) error { return s.abort() }))
	mux.HandleFunc("POST /-/rollback", op(func(r *http.Request) error { return s.rollback(r.Context()) }))
	mux.HandleFunc("POST /-/stop", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "stopping\n")
		go func() {
			time.Sleep(50 * time.Millisecond)
			s.stop()
		}()
	})
	return mux
}

func (s *Supervisor) serveSD(w http.ResponseWriter, _ *http.Request) {
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	groups := []group{}
	s.mu.Lock()
	for _, t := range []*track{s.stable, s.canary} {
		if t == nil {
			continue
		}
		g := group{Labels: map[string]string{"env": s.Env, "track": t.name, "version": t.rel.Version}}
		for _, r := range t.replicas {
			g.Targets = append(g.Targets, "127.0.0.1:"+strconv.Itoa(r.port))
		}
		groups = append(groups, g)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(groups)
}

func (s *Supervisor) deploy(ctx context.Context, rel Release) error {
	s.mu.Lock()
	if s.canary != nil {
		v := s.canary.rel.Version
		s.mu.Unlock()
		return fmt.Errorf("a rollout of %s is in progress: promote or abort it first", v)
	}
	first := s.stable == nil
	s.mu.Unlock()
	name := "canary"
	if first {
		name = "stable"
	}
	t, err := s.startTrack(ctx, name, rel)
	if err != nil {
		return err
	}
	// The proxy's counters for the new version exist from now on at zero
	// (Prometheus' advice for known label sets): the first step's rate()
	// then has data as soon as traffic moves, instead of "no data" until
	// two scrapes after the first request.
	for _, code := range []string{"200", "500"} {
		s.requests.WithLabelValues(s.Env, name, rel.Version, code).Add(0)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if first {
		s.stable = t
	} else {
		s.canary, s.weight = t, 0
	}
	s.logf("%s %s ready (%d replicas)", name, rel.Version, len(t.replicas))
	return nil
}

func (s *Supervisor) promote() error {
	s.mu.Lock()
	if s.canary == nil {
		s.mu.Unlock()
		if s.stable != nil {
			return nil // a first deployment is promoted as it starts
		}
		return ErrNothingDeployed
	}
	old := s.stable
	s.stable, s.canary, s.weight = s.canary, nil, 0
	s.stable.name = "stable"
	if old != nil {
		rel := old.rel
		s.previous = &rel
	}
	s.mu.Unlock()
	s.logf("promoted %s", s.stable.rel.Version)
	s.stopTrack(old)
	return nil
}

func (s *Supervisor) abort() error {
	s.mu.Lock()
	c := s.canary
	s.canary, s.weight = nil, 0
	s.mu.Unlock()
	if c != nil {
		s.logf("aborted %s", c.rel.Version)
	}
	s.stopTrack(c)
	return nil
}

func (s *Supervisor) rollback(ctx context.Context) error {
	s.mu.Lock()
	if s.canary != nil {
		s.mu.Unlock()
		return s.abort()
	}
	prev := s.previous
	s.mu.Unlock()
	if prev == nil {
		return errors.New("no previous version to roll back to")
	}
	if err := s.deploy(ctx, *prev); err != nil {
		return err
	}
	s.mu.Lock()
	s.weight = 100
	s.mu.Unlock()
	return s.promote()
}
