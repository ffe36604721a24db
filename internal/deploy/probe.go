package deploy

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// ProbeResult is one reliability probe's outcome.
type ProbeResult struct {
	Probe   string        `json:"probe"`
	Target  string        `json:"target"`
	OK      bool          `json:"ok"`
	Took    time.Duration `json:"took"`
	Bound   time.Duration `json:"bound"`
	Message string        `json:"message,omitempty"`
}

// ProbeRestart is the restart-resilience probe of the local provider:
// each stable replica in turn is killed (its whole process group), and
// must be restarted by the supervisor and healthy again within bound,
// while the other replicas keep serving.
func (l *Local) ProbeRestart(ctx context.Context, env string, bound time.Duration) ([]ProbeResult, error) {
	st, err := l.Status(ctx, env)
	if err != nil {
		return nil, err
	}
	if !st.Running || st.Stable == nil {
		return nil, fmt.Errorf("%s: %w (or its supervisor is not running)", env, ErrNothingDeployed)
	}
	var out []ProbeResult
	for _, r := range st.Stable.Replicas {
		res := ProbeResult{Probe: "restart", Target: r.Name, Bound: bound}
		if r.PID <= 0 {
			res.Message = "no process id recorded"
			out = append(out, res)
			continue
		}
		start := time.Now()
		_ = syscall.Kill(-r.PID, syscall.SIGKILL)
		_ = syscall.Kill(r.PID, syscall.SIGKILL)
		for {
			cur, err := l.Status(ctx, env)
			if err == nil && cur.Stable != nil {
				if rep := findReplica(cur.Stable, r.Name); rep != nil && rep.PID != r.PID && rep.Healthy {
					res.OK, res.Took = true, time.Since(start)
					res.Message = fmt.Sprintf("pid %d killed, pid %d healthy", r.PID, rep.PID)
					break
				}
			}
			if time.Since(start) > bound {
				res.Took = time.Since(start)
				res.Message = fmt.Sprintf("pid %d killed; not healthy again within %s", r.PID, bound)
				break
			}
			select {
			case <-ctx.Done():
				return out, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		out = append(out, res)
	}
	return out, nil
}

func findReplica(t *Track, name string) *Replica {
	for i := range t.Replicas {
		if t.Replicas[i].Name == name {
			return &t.Replicas[i]
		}
	}
	return nil
}

// ProbeReload is the configuration-reload probe: change (a shell command,
// e.g. one that edits the service's CONFIG_FILE) runs, then check must
// pass within bound, and no stable replica may have restarted meanwhile
// (a reload, not a restart).
func (l *Local) ProbeReload(ctx context.Context, env, change string, check Check, bound time.Duration) (ProbeResult, error) {
	res := ProbeResult{Probe: "reload", Target: check.Name, Bound: bound}
	before, err := l.Status(ctx, env)
	if err != nil {
		return res, err
	}
	if !before.Running || before.Stable == nil {
		return res, fmt.Errorf("%s: %w (or its supervisor is not running)", env, ErrNothingDeployed)
	}
	start := time.Now()
	if out, err := exec.CommandContext(ctx, "sh", "-c", change).CombinedOutput(); err != nil {
		return res, fmt.Errorf("reload probe: change command: %v: %s", err, out)
	}
	zero := 0
	check.Retries = &zero
	for {
		r := check.Run(ctx, before.URL)
		if r.OK {
			res.OK, res.Took = true, time.Since(start)
			break
		}
		if time.Since(start) > bound {
			res.Took, res.Message = time.Since(start), "setting not in effect within "+bound.String()+": "+r.Message
			return res, nil
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	after, err := l.Status(ctx, env)
	if err != nil {
		return res, err
	}
	for _, b := range before.Stable.Replicas {
		if a := findReplica(after.Stable, b.Name); a == nil || a.PID != b.PID {
			res.OK = false
			res.Message = fmt.Sprintf("replica %s restarted (a reload must not restart it)", b.Name)
			return res, nil
		}
	}
	res.Message = fmt.Sprintf("in effect after %s, %d replicas not restarted", res.Took.Round(time.Millisecond), len(before.Stable.Replicas))
	return res, nil
}

// ErrProbeFailed is returned by the CLI when a probe did not pass.
var ErrProbeFailed = errors.New("reliability probe failed")
