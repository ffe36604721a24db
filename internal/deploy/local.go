package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Local is the local provider: each environment is a detached supervisor
// process (`shipgate deploy supervise`) that runs the replicas and the
// proxy and keeps serving after the command that started it exits. Local
// talks to it over its control API and reads its state file, so status
// works after shipgate restarts, and even when the supervisor is gone
// (it then says so).
type Local struct {
	// Dir holds one folder per environment (.shipgate/deploy).
	Dir string
	// Listen is the proxy address for a new environment (default
	// 127.0.0.1:0: a free port, kept from then on).
	Listen string
	// Spawn starts a supervisor for env; the default runs
	// `<this executable> deploy supervise --env ENV --dir DIR --listen L`
	// detached from this process. Tests replace it.
	Spawn func(env, dir, listen string) error
	// Client talks to the control API.
	Client *http.Client
}

// Name is "local".
func (l *Local) Name() string { return "local" }

func (l *Local) envDir(env string) string { return filepath.Join(l.Dir, env) }

func (l *Local) client() *http.Client {
	if l.Client != nil {
		return l.Client
	}
	return &http.Client{Timeout: 5 * time.Minute}
}

// Alive reports whether a process exists.
func alive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func (l *Local) ping(st *LocalState) bool {
	if st == nil || !alive(st.PID) || st.Admin == "" {
		return false
	}
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + st.Admin + "/-/ping")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// SpawnDetached is the default Spawn: the supervisor runs in its own
// session, its output in <dir>/supervisor.log.
func SpawnDetached(exe string) func(env, dir, listen string) error {
	return func(env, dir, listen string) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		logf, err := os.OpenFile(filepath.Join(dir, "supervisor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer logf.Close()
		args := []string{"deploy", "supervise", "--env", env, "--dir", dir}
		if listen != "" {
			args = append(args, "--listen", listen)
		}
		cmd := exec.Command(exe, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return err
		}
		pid := cmd.Process.Pid
		go cmd.Wait() // reap it if it exits while we still run
		_ = pid
		return nil
	}
}

// ensure returns the running supervisor's state, starting one if needed.
func (l *Local) ensure(ctx context.Context, env string) (*LocalState, error) {
	dir := l.envDir(env)
	st, _ := ReadLocalState(dir)
	if l.ping(st) {
		return st, nil
	}
	if l.Spawn == nil {
		return nil, errors.New("local provider: no way to start a supervisor")
	}
	startedAt := time.Now()
	logSize := int64(0)
	if fi, err := os.Stat(filepath.Join(dir, "supervisor.log")); err == nil {
		logSize = fi.Size()
	}
	if err := l.Spawn(env, dir, l.Listen); err != nil {
		return nil, fmt.Errorf("start supervisor: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		st, _ = ReadLocalState(dir)
		if st != nil && st.Updated.After(startedAt.Add(-time.Second)) && l.ping(st) {
			return st, nil
		}
		if st != nil && !st.Updated.After(startedAt.Add(-time.Second)) || st == nil {
			if msg := logTail(filepath.Join(dir, "supervisor.log"), logSize); strings.Contains(msg, "shipgate:") {
				return nil, fmt.Errorf("supervisor for %s did not start: %s", env, msg)
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("supervisor for %s did not start within 15s; see %s", env, filepath.Join(dir, "supervisor.log"))
}

func logTail(path string, from int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	return strings.TrimSpace(string(b))
}

func (l *Local) call(ctx context.Context, env, path string, body any) error {
	st, err := l.ensure(ctx, env)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+st.Admin+path, rd)
	if err != nil {
		return err
	}
	resp, err := l.client().Do(req)
	if err != nil {
		return fmt.Errorf("supervisor %s: %w", env, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return errors.New(strings.TrimSpace(string(msg)))
	}
	return nil
}

// Deploy starts rel beside the stable version (or as the first version).
func (l *Local) Deploy(ctx context.Context, env string, rel Release) error {
	rel.defaults()
	if rel.Command == "" {
		return errors.New("the local provider needs a command to run each replica (--command)")
	}
	return l.call(ctx, env, "/-/deploy", rel)
}

// SetWeight sends percent of the traffic to the canary.
func (l *Local) SetWeight(ctx context.Context, env string, percent int) error {
	return l.call(ctx, env, "/-/weight?percent="+strconv.Itoa(percent), nil)
}

// Promote makes the canary the stable version and stops the old one.
func (l *Local) Promote(ctx context.Context, env string) error {
	return l.call(ctx, env, "/-/promote", nil)
}

// Abort stops the canary; the stable version keeps all the traffic.
func (l *Local) Abort(ctx context.Context, env string) error {
	return l.call(ctx, env, "/-/abort", nil)
}

// Rollback aborts a canary, or returns to the previous stable version.
func (l *Local) Rollback(ctx context.Context, env string) error {
	return l.call(ctx, env, "/-/rollback", nil)
}

// Stop stops the environment's supervisor and its replicas.
func (l *Local) Stop(ctx context.Context, env string) error {
	st, _ := ReadLocalState(l.envDir(env))
	if !l.ping(st) {
		return nil
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+st.Admin+"/-/stop", nil)
	resp, err := l.client().Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for alive(st.PID) && st.PID != os.Getpid() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// Status reads the state file (asking a live supervisor to refresh it).
func (l *Local) Status(ctx context.Context, env string) (*Status, error) {
	dir := l.envDir(env)
	st, err := ReadLocalState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return &Status{Env: env, Provider: "local"}, nil
	}
	if err != nil {
		return nil, err
	}
	running := l.ping(st)
	if running {
		c := &http.Client{Timeout: 2 * time.Second}
		if resp, err := c.Get("http://" + st.Admin + "/-/state"); err == nil {
			var fresh LocalState
			if json.NewDecoder(resp.Body).Decode(&fresh) == nil {
				st = &fresh
			}
			resp.Body.Close()
		}
	}
	out := &Status{Env: env, Provider: "local", URL: "http://" + st.Proxy, Weight: st.Weight, Running: running}
	if st.Stable != nil {
		out.Stable = &Track{Version: st.Stable.Release.Version, Replicas: st.Stable.Replicas}
	}
	if st.Canary != nil {
		out.Canary = &Track{Version: st.Canary.Release.Version, Replicas: st.Canary.Replicas}
	}
	if st.Previous != nil {
		out.Previous = st.Previous.Version
	}
	if running {
		out.Detail = fmt.Sprintf("supervisor pid %d; control http://%s (metrics /metrics, service discovery /sd)", st.PID, st.Admin)
	} else {
		out.Detail = fmt.Sprintf("supervisor (pid %d) is not running: nothing is served; `shipgate deploy %s --version V` starts it again", st.PID, env)
		for _, t := range []*Track{out.Stable, out.Canary} {
			if t != nil {
				for i := range t.Replicas {
					t.Replicas[i].Healthy = false
				}
			}
		}
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var _ Provider = (*Local)(nil)
