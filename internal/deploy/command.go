package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/atomicfile"
)

// Command is the command provider: the user's own scripts do the work.
// Each runs with sh -c and the environment SHIPGATE_ACTION (deploy,
// weight, promote, abort, rollback, status), SHIPGATE_ENV,
// SHIPGATE_VERSION, SHIPGATE_IMAGE, SHIPGATE_WEIGHT and SHIPGATE_STABLE.
// A script that exits non-zero fails the action with its output.
//
// WeightScript falls back to DeployScript (with SHIPGATE_ACTION=weight)
// and AbortScript to RollbackScript (with SHIPGATE_ACTION=abort). Status may print a JSON Status;
// otherwise its output is the status' detail. What the provider asked for
// is kept in <Dir>/<env>/command.json so that status and history know the
// versions even when the scripts cannot tell.
type Command struct {
	DeployScript, WeightScript, PromoteScript, AbortScript, RollbackScript, StatusScript string
	// Dir keeps the provider's state (.shipgate/deploy).
	Dir string
	// Timeout bounds each script (default 10 minutes).
	Timeout time.Duration
	// Output receives the scripts' output (nil: discarded).
	Output io.Writer
}

type commandState struct {
	Stable   string `json:"stable,omitempty"`
	Canary   string `json:"canary,omitempty"`
	Weight   int    `json:"weight"`
	Previous string `json:"previous,omitempty"`
	Image    string `json:"image,omitempty"`
}

// Name is "command".
func (c *Command) Name() string { return "command" }

func (c *Command) statePath(env string) string { return filepath.Join(c.Dir, env, "command.json") }

func (c *Command) load(env string) commandState {
	var st commandState
	if b, err := os.ReadFile(c.statePath(env)); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	return st
}

func (c *Command) save(env string, st commandState) error {
	if err := os.MkdirAll(filepath.Dir(c.statePath(env)), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(c.statePath(env), 0o644, func(w io.Writer) error {
		return json.NewEncoder(w).Encode(st)
	})
}

func (c *Command) run(ctx context.Context, script, action, env string, st commandState, extra ...string) (string, error) {
	if script == "" {
		return "", fmt.Errorf("command provider: no script for %s", action)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	version := st.Canary
	if version == "" {
		version = st.Stable
	}
	cmd.Env = append(os.Environ(), "SHIPGATE_ACTION="+action, "SHIPGATE_ENV="+env, "SHIPGATE_VERSION="+version,
		"SHIPGATE_IMAGE="+st.Image, "SHIPGATE_WEIGHT="+strconv.Itoa(st.Weight), "SHIPGATE_STABLE="+st.Stable,
		"SHIPGATE_PREVIOUS="+st.Previous)
	cmd.Env = append(cmd.Env, extra...)
	var out bytes.Buffer
	w := io.Writer(&out)
	if c.Output != nil {
		w = io.MultiWriter(&out, c.Output)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return out.String(), fmt.Errorf("%s script: %v: %s", action, err, msg)
	}
	return out.String(), nil
}

// Deploy runs the deploy script for rel with weight 0.
func (c *Command) Deploy(ctx context.Context, env string, rel Release) error {
	st := c.load(env)
	st.Image = rel.Image
	extra := []string{}
	for _, k := range sortedKeys(rel.Env) {
		extra = append(extra, k+"="+rel.Env[k])
	}
	if st.Stable == "" {
		st.Stable, st.Weight = rel.Version, 100
		if _, err := c.run(ctx, c.DeployScript, "deploy", env, st, extra...); err != nil {
			return err
		}
		return c.save(env, st)
	}
	st.Canary, st.Weight = rel.Version, 0
	if _, err := c.run(ctx, c.DeployScript, "deploy", env, st, extra...); err != nil {
		return err
	}
	return c.save(env, st)
}

// SetWeight runs the weight script (or deploy with SHIPGATE_ACTION=weight).
func (c *Command) SetWeight(ctx context.Context, env string, percent int) error {
	st := c.load(env)
	if st.Canary == "" {
		return errors.New("no canary to send traffic to")
	}
	st.Weight = percent
	script := c.WeightScript
	if script == "" {
		script = c.DeployScript
	}
	if _, err := c.run(ctx, script, "weight", env, st); err != nil {
		return err
	}
	return c.save(env, st)
}

// Promote runs the promote script.
func (c *Command) Promote(ctx context.Context, env string) error {
	st := c.load(env)
	if st.Canary == "" {
		return nil // a first deployment is already the stable one
	}
	if _, err := c.run(ctx, c.PromoteScript, "promote", env, st); err != nil {
		return err
	}
	st.Previous, st.Stable, st.Canary, st.Weight = st.Stable, st.Canary, "", 0
	return c.save(env, st)
}

// Abort runs the abort script (or rollback with SHIPGATE_ACTION=abort).
func (c *Command) Abort(ctx context.Context, env string) error {
	st := c.load(env)
	script := c.AbortScript
	if script == "" {
		script = c.RollbackScript
	}
	if _, err := c.run(ctx, script, "abort", env, st); err != nil {
		return err
	}
	st.Canary, st.Weight = "", 0
	return c.save(env, st)
}

// Rollback runs the rollback script: back to the previous version.
func (c *Command) Rollback(ctx context.Context, env string) error {
	st := c.load(env)
	if st.Canary != "" {
		return c.Abort(ctx, env)
	}
	if st.Previous == "" {
		return errors.New("no previous version to roll back to")
	}
	if _, err := c.run(ctx, c.RollbackScript, "rollback", env, st); err != nil {
		return err
	}
	st.Stable, st.Previous = st.Previous, ""
	return c.save(env, st)
}

// Status runs the status script when there is one.
func (c *Command) Status(ctx context.Context, env string) (*Status, error) {
	st := c.load(env)
	out := &Status{Env: env, Provider: "command", Weight: st.Weight, Previous: st.Previous, Running: true}
	if st.Stable != "" {
		out.Stable = &Track{Version: st.Stable}
	}
	if st.Canary != "" {
		out.Canary = &Track{Version: st.Canary}
	}
	if c.StatusScript == "" {
		return out, nil
	}
	text, err := c.run(ctx, c.StatusScript, "status", env, st)
	if err != nil {
		out.Running = false
		out.Detail = err.Error()
		return out, nil
	}
	var reported Status
	if json.Unmarshal([]byte(text), &reported) == nil && (reported.Stable != nil || reported.URL != "") {
		reported.Env, reported.Provider = env, "command"
		return &reported, nil
	}
	out.Detail = strings.TrimSpace(text)
	return out, nil
}

var _ Provider = (*Command)(nil)
