package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
)

// actionMeta is the part of action.yml a composite action needs.
type actionMeta struct {
	Name    string                 `yaml:"name"`
	Inputs  map[string]actionInput `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string           `yaml:"using"`
		Steps []map[string]any `yaml:"steps"`
	} `yaml:"runs"`
}

type actionInput struct {
	Default  any  `yaml:"default"`
	Required bool `yaml:"required"`
}

// loadAction reads dir/action.yml (or action.yaml) and converts its
// composite steps to the workflow model.
func loadAction(dir string) (*actionMeta, []*workflow.Step, string, error) {
	var path string
	var src []byte
	for _, name := range []string{"action.yml", "action.yaml"} {
		p := filepath.Join(dir, name)
		if b, err := os.ReadFile(p); err == nil {
			path, src = p, b
			break
		}
	}
	if path == "" {
		return nil, nil, "", fmt.Errorf("no action.yml or action.yaml in %s", dir)
	}
	var m actionMeta
	if err := yaml.Unmarshal(src, &m); err != nil {
		return nil, nil, path, fmt.Errorf("%s: %v", path, err)
	}
	switch m.Runs.Using {
	case "composite":
	case "":
		return nil, nil, path, fmt.Errorf("%s: runs.using is missing", path)
	default:
		return nil, nil, path, fmt.Errorf("%s: runs.using %q: shipgate runs only composite actions (JavaScript and Docker actions need their runtimes and are not run)", path, m.Runs.Using)
	}
	var steps []*workflow.Step
	for i, raw := range m.Runs.Steps {
		st := &workflow.Step{Index: i, Pos: diag.Pos{File: path}}
		s := func(k string) workflow.String {
			v, ok := raw[k]
			if !ok || v == nil {
				return workflow.String{Pos: st.Pos}
			}
			return workflow.String{Value: scalarString(v), Pos: st.Pos, Set: true}
		}
		st.ID, st.Name, st.If = s("id"), s("name"), s("if")
		st.ContinueOnError, st.TimeoutMinutes = s("continue-on-error"), s("timeout-minutes")
		st.Env = kvs(raw["env"], st.Pos)
		if _, ok := raw["run"]; ok {
			st.Run = &workflow.Run{Script: s("run"), Shell: s("shell"), WorkingDirectory: s("working-directory")}
		}
		if _, ok := raw["uses"]; ok {
			st.Uses = &workflow.Uses{Ref: s("uses"), With: kvs(raw["with"], st.Pos)}
		}
		if st.Run == nil && st.Uses == nil {
			return nil, nil, path, fmt.Errorf("%s: step %d has neither run nor uses", path, i+1)
		}
		if st.Run != nil && st.Uses != nil {
			return nil, nil, path, fmt.Errorf("%s: step %d has both run and uses", path, i+1)
		}
		if st.Run != nil && !st.Run.Shell.Set {
			return nil, nil, path, fmt.Errorf("%s: step %d: a composite action's run step needs shell:", path, i+1)
		}
		steps = append(steps, st)
	}
	return &m, steps, path, nil
}

func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	return expr.ToString(expr.FromGo(v))
}

func kvs(v any, pos diag.Pos) []workflow.KV {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]workflow.KV, 0, len(keys))
	for _, k := range keys {
		out = append(out, workflow.KV{Key: k, Value: workflow.String{Value: scalarString(m[k]), Pos: pos, Set: true}})
	}
	return out
}

// runComposite runs a local composite action's steps in a nested scope.
func (l *leg) runComposite(ctx context.Context, s *workflow.Step, sc *scope, idx int, ref string, with, env map[string]string, ec *expr.Context) *stepOut {
	r := l.r
	fail := func(msg string) *stepOut {
		l.log(idx, "Error: "+msg)
		r.annotate(l, idx, "error", msg)
		return &stepOut{outcome: store.StatusFailure}
	}
	if sc.depth >= maxCompositeDepth {
		return fail(fmt.Sprintf("composite actions nested deeper than %d", maxCompositeDepth))
	}
	dir := filepath.Join(r.opts.Workspace, ref)
	meta, steps, _, err := loadAction(dir)
	if err != nil {
		return fail(fmt.Sprintf("%s: uses %s: %v", s.Uses.Ref.Pos, ref, err))
	}
	inputs := map[string]any{}
	var names []string
	for k := range meta.Inputs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		in := meta.Inputs[k]
		if v, ok := with[k]; ok {
			inputs[k] = v
			continue
		}
		if in.Default != nil {
			d, err := expr.Interpolate(scalarString(in.Default), ec)
			if err != nil {
				return fail(fmt.Sprintf("%s: input %s default: %v", ref, k, err))
			}
			inputs[k] = d
			continue
		}
		if in.Required {
			l.log(idx, fmt.Sprintf("Warning: input %q of %s is required and not given", k, ref))
		}
		inputs[k] = ""
	}
	for k, v := range with {
		if _, ok := inputs[k]; !ok {
			l.log(idx, fmt.Sprintf("Warning: unexpected input %q for %s", k, ref))
			inputs[k] = v
		}
	}
	// The composite step's env reaches its steps; the env context inside is
	// the job's env plus that, not the caller's step-only additions.
	inner := &scope{steps: map[string]any{}, status: store.StatusSuccess, inputs: inputs, env: map[string]string{},
		actionPath: dir, depth: sc.depth + 1, index: idx}
	for k, v := range sc.env {
		inner.env[k] = v
	}
	for _, kv := range s.Env {
		inner.env[kv.Key] = env[kv.Key]
	}
	for i, st := range steps {
		_ = i
		l.runStep(ctx, st, inner, idx)
	}
	outputs := map[string]string{}
	oc := l.exprContext(inner, nil)
	for k, o := range meta.Outputs {
		v, err := expr.Interpolate(o.Value, oc)
		if err != nil {
			l.log(idx, fmt.Sprintf("Warning: output %s of %s: %v", k, ref, err))
			continue
		}
		outputs[k] = v
	}
	outcome := inner.status
	if outcome == "" {
		outcome = store.StatusSuccess
	}
	_ = strings.TrimSpace
	return &stepOut{outcome: outcome, outputs: outputs}
}
