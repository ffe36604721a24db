package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/shipgate/shipgate/internal/actions"
	"github.com/shipgate/shipgate/internal/engine/steprun"
	"github.com/shipgate/shipgate/internal/executor"
	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
)

// maxCompositeDepth bounds nested composite actions (GitHub allows 10).
const maxCompositeDepth = 10

// stepOut is what executing a step produced.
type stepOut struct {
	outcome string // success, failure, cancelled
	outputs map[string]string
}

// runStep evaluates a step's condition, runs it and updates the scope.
func (l *leg) runStep(ctx context.Context, s *workflow.Step, sc *scope, idx int) {
	r := l.r
	start := time.Now()
	env := l.mergedEnv(sc)
	ec := l.exprContext(sc, env)
	// The step's own env, evaluated in order with the env so far.
	for _, kv := range s.Env {
		v, err := expr.Interpolate(kv.Value.Value, ec)
		if err != nil {
			l.stepFailed(sc, s, idx, start, fmt.Sprintf("%s: env %s: %v", kv.Value.Pos, kv.Key, err))
			return
		}
		env[kv.Key] = v
	}
	ec.Contexts["env"] = anyMap(env)
	name := s.DisplayName()
	if s.Name.Set && expr.HasExpr(s.Name.Value) {
		if n, err := expr.Interpolate(s.Name.Value, ec); err == nil {
			name = n
		}
	}
	name = r.masker.Mask(name)
	id := s.ID.Value
	if sc.depth == 0 {
		r.emit(Event{Type: "step_started", Job: l.name, JobID: l.job.ID, Step: name})
	}

	cond := s.If.Value
	run, err := expr.Condition(cond, ec)
	if err != nil {
		l.stepFailed(sc, s, idx, start, fmt.Sprintf("%s: if: %v", s.If.Pos, err))
		return
	}
	if !run {
		l.finishStep(sc, s, idx, name, start, &stepOut{outcome: store.StatusSkipped}, store.StatusSkipped)
		return
	}
	l.log(idx, "▶ "+name)

	continueOnError := false
	if s.ContinueOnError.Set {
		continueOnError = boolValue(s.ContinueOnError.Value, ec)
	}
	var stepTimeout time.Duration
	if s.TimeoutMinutes.Set {
		if v, err := expr.Value(s.TimeoutMinutes.Value, ec); err == nil && expr.ToNumber(v) > 0 {
			stepTimeout = time.Duration(expr.ToNumber(v) * float64(time.Minute))
		}
	}
	// After cancellation (Ctrl-C or the job's timeout) a step still runs
	// only because its if: asked for it; it runs under the hard context.
	execCtx := l.jobCtx
	if l.jobCtx.Err() != nil || r.isCancelled() {
		execCtx = r.hardCtx
	}
	var out *stepOut
	switch {
	case r.opts.DryRun:
		l.log(idx, "(dry run: not executed)")
		out = &stepOut{outcome: store.StatusSuccess}
	case s.Run != nil:
		out = l.execRun(execCtx, s, sc, idx, env, ec, stepTimeout)
	case s.Uses != nil:
		out = l.execUses(execCtx, s, sc, idx, env, ec, stepTimeout)
	default:
		out = &stepOut{outcome: store.StatusFailure}
		l.log(idx, "Error: the step has neither run nor uses")
	}
	if out.outcome == store.StatusCancelled && !r.isCancelled() && l.jobCtx.Err() == context.DeadlineExceeded {
		// Killed by the job's timeout, not by the user: a failure.
		out.outcome = store.StatusFailure
	}
	if stepTimeout > 0 && out.outcome == store.StatusFailure && time.Since(start) >= stepTimeout {
		l.log(idx, fmt.Sprintf("Error: the step timed out after %v", stepTimeout))
		r.annotate(l, idx, "error", fmt.Sprintf("The step %q timed out after %v", name, stepTimeout))
	}
	conclusion := out.outcome
	if out.outcome == store.StatusFailure && continueOnError {
		conclusion = store.StatusSuccess
	}
	_ = id
	l.finishStep(sc, s, idx, name, start, out, conclusion)
}

// stepFailed finishes a step that failed before running (a bad expression).
func (l *leg) stepFailed(sc *scope, s *workflow.Step, idx int, start time.Time, msg string) {
	l.log(idx, "Error: "+msg)
	l.r.annotate(l, idx, "error", msg)
	l.finishStep(sc, s, idx, s.DisplayName(), start, &stepOut{outcome: store.StatusFailure}, store.StatusFailure)
}

func (l *leg) finishStep(sc *scope, s *workflow.Step, idx int, name string, start time.Time, out *stepOut, conclusion string) {
	r := l.r
	switch conclusion {
	case store.StatusFailure:
		if sc.status != store.StatusCancelled {
			sc.status = store.StatusFailure
		}
	case store.StatusCancelled:
		sc.status = store.StatusCancelled
	}
	outs := map[string]any{}
	for k, v := range out.outputs {
		outs[k] = v
	}
	if s.ID.Value != "" {
		sc.steps[s.ID.Value] = map[string]any{"outputs": outs, "outcome": out.outcome, "conclusion": conclusion}
	}
	if sc.depth > 0 {
		return
	}
	sr := &StepResult{Name: name, ID: s.ID.Value, Outcome: out.outcome, Conclusion: conclusion}
	l.mu.Lock()
	l.steps = append(l.steps, sr)
	l.mu.Unlock()
	if job := l.rec; job != nil {
		now := time.Now()
		rec := &store.Step{Index: idx, Key: s.ID.Value, Name: name, Outcome: out.outcome, Conclusion: conclusion, FinishedAt: &now}
		if out.outcome != store.StatusSkipped {
			rec.StartedAt = &start
		}
		lines := l.takeLogs()
		r.write(func(ctx context.Context, runs *store.Runs) {
			rec.JobID = job.ID
			runs.FinishStep(ctx, rec, lines)
		})
	}
	r.emit(Event{Type: "step_finished", Job: l.name, JobID: l.job.ID, Step: name, Status: conclusion, Elapsed: time.Since(start).Seconds()})
}

// output returns the writer for a step's process output: workflow
// commands acted on, secrets masked, lines logged.
func (l *leg) output(idx int, env map[string]string, outputs map[string]string) *steprun.Output {
	r := l.r
	return &steprun.Output{
		Masker:        r.masker,
		AllowUnsecure: env["ACTIONS_ALLOW_UNSECURE_COMMANDS"] == "true",
		Handle: func(e steprun.Event) {
			switch e.Kind {
			case steprun.Line:
				l.log(idx, e.Text)
			case steprun.GroupStart:
				l.log(idx, "##[group]"+e.Text)
			case steprun.GroupEnd:
				l.log(idx, "##[endgroup]")
			case steprun.Debug:
				l.mu.Lock()
				l.logs = append(l.logs, store.LogLine{Step: idx, Time: time.Now(), Text: "##[debug]" + e.Text})
				l.mu.Unlock()
				r.emit(Event{Type: "debug", Job: l.name, JobID: l.job.ID, Text: e.Text})
			case steprun.Annotation:
				prefix := map[string]string{"error": "Error", "warning": "Warning", "notice": "Notice"}[e.Level]
				where := ""
				if e.File != "" {
					where = e.File
					if e.Line > 0 {
						where += fmt.Sprintf(":%d", e.Line)
						if e.Col > 0 {
							where += fmt.Sprintf(":%d", e.Col)
						}
					}
					where = " (" + where + ")"
				}
				title := ""
				if e.Title != "" {
					title = e.Title + ": "
				}
				l.log(idx, fmt.Sprintf("%s: %s%s%s", prefix, title, e.Text, where))
				a := &store.Annotation{Step: idx, Level: e.Level, File: e.File, Line: e.Line, Col: e.Col, EndLine: e.EndLine, EndCol: e.EndCol, Title: e.Title, Message: e.Text}
				if job := l.rec; job != nil {
					r.write(func(ctx context.Context, runs *store.Runs) {
						a.JobID = job.ID
						runs.AddAnnotation(ctx, a)
					})
				}
				r.emit(Event{Type: "annotation", Job: l.name, JobID: l.job.ID, Level: e.Level, Text: title + e.Text, File: e.File, Line: e.Line, Col: e.Col})
			case steprun.SetOutput:
				outputs[e.Name] = e.Value
			case steprun.SetEnv:
				l.mu.Lock()
				l.env[e.Name] = e.Value
				l.mu.Unlock()
			case steprun.AddPath:
				l.mu.Lock()
				l.path = append([]string{e.Value}, l.path...)
				l.mu.Unlock()
			}
		},
	}
}

// applyFiles reads the command files after a step and applies them.
func (l *leg) applyFiles(idx int, files *steprun.Files, outputs map[string]string) error {
	res, err := files.Read()
	if err != nil {
		return err
	}
	for _, kv := range res.Outputs {
		outputs[kv.Name] = kv.Value
	}
	l.mu.Lock()
	for _, kv := range res.Env {
		l.env[kv.Name] = kv.Value
	}
	for _, p := range res.Path {
		l.path = append([]string{p}, l.path...)
	}
	l.mu.Unlock()
	if strings.TrimSpace(res.Summary) != "" {
		md := l.r.masker.Mask(res.Summary)
		l.r.mu.Lock()
		l.r.summaries = append(l.r.summaries, store.Summary{Job: l.name, Step: idx, Markdown: md})
		l.r.mu.Unlock()
		if job := l.rec; job != nil {
			l.r.write(func(ctx context.Context, runs *store.Runs) { runs.AddSummary(ctx, job.ID, idx, md) })
		}
	}
	return nil
}

func (l *leg) newFiles() (*steprun.Files, string, error) {
	l.mu.Lock()
	l.seq++
	key := fmt.Sprintf("%d", l.seq)
	l.mu.Unlock()
	f, err := steprun.NewFiles(l.exJob.TempDir, key)
	return f, "__run_" + key, err
}

// execRun runs a `run:` step.
func (l *leg) execRun(ctx context.Context, s *workflow.Step, sc *scope, idx int, env map[string]string, ec *expr.Context, timeout time.Duration) *stepOut {
	r, j := l.r, l.job
	fail := func(msg string) *stepOut {
		l.log(idx, "Error: "+msg)
		r.annotate(l, idx, "error", msg)
		return &stepOut{outcome: store.StatusFailure}
	}
	script, err := expr.Interpolate(s.Run.Script.Value, ec)
	if err != nil {
		return fail(fmt.Sprintf("%s: %v", s.Run.Script.Pos, err))
	}
	shell := s.Run.Shell.Value
	wd := s.Run.WorkingDirectory.Value
	if sc.depth == 0 {
		if shell == "" {
			shell = firstSet(j.Defaults.Shell.Value, r.opts.Workflow.Defaults.Shell.Value)
		}
		if wd == "" {
			wd = firstSet(j.Defaults.WorkingDirectory.Value, r.opts.Workflow.Defaults.WorkingDirectory.Value)
		}
	}
	if shell, err = expr.Interpolate(shell, ec); err != nil {
		return fail(fmt.Sprintf("%s: shell: %v", s.Run.Shell.Pos, err))
	}
	if wd, err = expr.Interpolate(wd, ec); err != nil {
		return fail(fmt.Sprintf("%s: working-directory: %v", s.Run.WorkingDirectory.Pos, err))
	}
	dir := r.opts.Workspace
	if wd != "" {
		dir = wd
		if !filepath.IsAbs(wd) {
			dir = filepath.Join(r.opts.Workspace, wd)
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fail(fmt.Sprintf("working-directory %q does not exist", wd))
		}
	}
	files, key, err := l.newFiles()
	if err != nil {
		return fail(err.Error())
	}
	if s.ID.Value != "" {
		key = s.ID.Value
	}
	if shell == "" && l.exJob.Container != nil {
		// The default shell is bash when the job container has it, else sh.
		if c, ok := r.opts.Executor.(executor.Containers); ok && !c.LookPath(ctx, l.exJob, "bash") {
			shell = "sh"
		}
	}
	scr, err := steprun.Prepare(shell, script, l.exJob.TempDir)
	if err != nil {
		return fail(err.Error())
	}
	outputs := map[string]string{}
	out := l.output(idx, env, outputs)
	res, err := r.opts.Executor.Exec(ctx, l.exJob, &executor.Step{
		ID: key, Argv: scr.Argv, Dir: dir, Env: l.processEnv(env, sc, key, files.Environ(), false),
		Stdout: out, Stderr: out, Timeout: timeout, Grace: r.opts.Grace,
	})
	out.Close()
	if err != nil {
		return fail(err.Error())
	}
	if err := l.applyFiles(idx, files, outputs); err != nil {
		l.log(idx, "Error: "+err.Error())
		return &stepOut{outcome: store.StatusFailure, outputs: outputs}
	}
	switch {
	case res.Cancelled:
		l.log(idx, "The step was cancelled.")
		return &stepOut{outcome: store.StatusCancelled, outputs: outputs}
	case res.TimedOut:
		return &stepOut{outcome: store.StatusFailure, outputs: outputs}
	case res.ExitCode != 0:
		l.log(idx, fmt.Sprintf("Error: Process completed with exit code %d.", res.ExitCode))
		return &stepOut{outcome: store.StatusFailure, outputs: outputs}
	}
	return &stepOut{outcome: store.StatusSuccess, outputs: outputs}
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// execUses runs a `uses:` step: a local composite action or a built-in.
func (l *leg) execUses(ctx context.Context, s *workflow.Step, sc *scope, idx int, env map[string]string, ec *expr.Context, timeout time.Duration) *stepOut {
	r := l.r
	fail := func(msg string) *stepOut {
		l.log(idx, "Error: "+msg)
		r.annotate(l, idx, "error", msg)
		return &stepOut{outcome: store.StatusFailure}
	}
	ref, err := expr.Interpolate(s.Uses.Ref.Value, ec)
	if err != nil {
		return fail(fmt.Sprintf("%s: %v", s.Uses.Ref.Pos, err))
	}
	with := map[string]string{}
	for _, kv := range s.Uses.With {
		v, err := expr.Interpolate(kv.Value.Value, ec)
		if err != nil {
			return fail(fmt.Sprintf("%s: with.%s: %v", kv.Value.Pos, kv.Key, err))
		}
		with[kv.Key] = v
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if actions.IsLocal(ref) {
		return l.runComposite(ctx, s, sc, idx, ref, with, env, ec)
	}
	fn, err := actions.Lookup(ref)
	if err != nil {
		return fail(fmt.Sprintf("%s: %v", s.Uses.Ref.Pos, err))
	}
	files, key, err := l.newFiles()
	if err != nil {
		return fail(err.Error())
	}
	procEnv := l.processEnv(env, sc, key, files.Environ(), true)
	envMap := map[string]string{}
	for _, kv := range procEnv {
		k, v, _ := strings.Cut(kv, "=")
		envMap[k] = v
	}
	outputs := map[string]string{}
	out := l.output(idx, env, outputs)
	ae := &actions.Env{
		Workspace: r.opts.Workspace, StateDir: r.opts.StateDir, TempDir: l.exJob.TempDir,
		RunID: r.id, ArtifactRuns: r.opts.ArtifactRuns, Runs: r.opts.Runs, Inputs: with, Environ: envMap,
		Self: r.opts.Self, HashFiles: r.hashFiles,
		Log: func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) },
		Exec: func(ctx context.Context, argv []string, dir string) (int, error) {
			res, err := r.opts.Executor.Exec(ctx, l.exJob, &executor.Step{ID: key, Argv: argv, Dir: dir, Env: procEnv, Stdout: out, Stderr: out, Grace: r.opts.Grace, OnHost: true})
			if err != nil {
				return -1, err
			}
			if res.Cancelled || res.TimedOut {
				return -1, fmt.Errorf("cancelled")
			}
			return res.ExitCode, nil
		},
	}
	res, err := fn(ctx, ae)
	out.Close()
	if err != nil {
		if ctx.Err() != nil {
			return &stepOut{outcome: store.StatusCancelled}
		}
		return fail(err.Error())
	}
	if ferr := l.applyFiles(idx, files, outputs); ferr != nil {
		return fail(ferr.Error())
	}
	maps.Copy(outputs, res.Outputs)
	l.mu.Lock()
	maps.Copy(l.env, res.Env)
	for _, p := range res.Path {
		l.path = append([]string{p}, l.path...)
	}
	if res.Post != nil {
		l.posts = append(l.posts, res.Post)
	}
	l.mu.Unlock()
	if res.Failed {
		return &stepOut{outcome: store.StatusFailure, outputs: outputs}
	}
	return &stepOut{outcome: store.StatusSuccess, outputs: outputs}
}

// hashFiles is hashFiles(): the SHA-256 over the SHA-256 of every file the
// patterns match under the workspace, in path order; "" when none match.
func (r *run) hashFiles(patterns []string) (string, error) {
	var include, exclude []string
	for _, p := range patterns {
		if n, ok := strings.CutPrefix(p, "!"); ok {
			exclude = append(exclude, n)
		} else {
			include = append(include, p)
		}
	}
	fsys := os.DirFS(r.opts.Workspace)
	seen := map[string]bool{}
	var files []string
	for _, p := range include {
		p = strings.TrimPrefix(filepath.ToSlash(p), "./")
		if filepath.IsAbs(p) {
			if rel, err := filepath.Rel(r.opts.Workspace, p); err == nil {
				p = filepath.ToSlash(rel)
			}
		}
		matches, err := doublestar.Glob(fsys, p, doublestar.WithFilesOnly())
		if err != nil {
			return "", fmt.Errorf("hashFiles(%q): %v", p, err)
		}
		for _, m := range matches {
			if strings.HasPrefix(m, ".git/") || strings.HasPrefix(m, ".shipgate/") {
				continue
			}
			excluded := slices.ContainsFunc(exclude, func(e string) bool { ok, _ := doublestar.Match(e, m); return ok })
			if !excluded && !seen[m] {
				seen[m] = true
				files = append(files, m)
			}
		}
	}
	if len(files) == 0 {
		return "", nil
	}
	slices.Sort(files)
	total := sha256.New()
	for _, f := range files {
		fh, err := os.Open(filepath.Join(r.opts.Workspace, f))
		if err != nil {
			return "", err
		}
		h := sha256.New()
		io.Copy(h, fh)
		fh.Close()
		total.Write(h.Sum(nil))
	}
	return hex.EncodeToString(total.Sum(nil)), nil
}
