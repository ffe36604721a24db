package workflow

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/rhysd/actionlint"
	"github.com/shipgate/shipgate/internal/diag"
	"go.yaml.in/yaml/v4"
)

// builder turns actionlint's syntax tree into the model.
type builder struct {
	file string
	src  []byte
	// lineStarts caches the byte offset of each line, for scalar typing.
	lineStarts []int
	// yamlRoot is the file as plain YAML nodes, parsed on first use (rawyaml.go).
	yamlRoot *yaml.Node
}

func (b *builder) posAt(line, col int) diag.Pos {
	return diag.Pos{File: b.file, Line: line, Col: col}
}

func (b *builder) pos(p *actionlint.Pos) diag.Pos {
	if p == nil {
		return diag.Pos{File: b.file}
	}
	return diag.Pos{File: b.file, Line: p.Line, Col: p.Col}
}

func (b *builder) str(s *actionlint.String) String {
	if s == nil {
		return String{}
	}
	return String{Value: s.Value, Pos: b.pos(s.Pos), Set: true}
}

func (b *builder) strs(in []*actionlint.String) []String {
	out := make([]String, 0, len(in))
	for _, s := range in {
		out = append(out, b.str(s))
	}
	return out
}

func (b *builder) boolean(v *actionlint.Bool) String {
	switch {
	case v == nil:
		return String{}
	case v.Expression != nil:
		return b.str(v.Expression)
	}
	return String{Value: strconv.FormatBool(v.Value), Pos: b.pos(v.Pos), Set: true}
}

func (b *builder) integer(v *actionlint.Int) String {
	switch {
	case v == nil:
		return String{}
	case v.Expression != nil:
		return b.str(v.Expression)
	}
	return String{Value: strconv.Itoa(v.Value), Pos: b.pos(v.Pos), Set: true}
}

func (b *builder) float(v *actionlint.Float) String {
	switch {
	case v == nil:
		return String{}
	case v.Expression != nil:
		return b.str(v.Expression)
	}
	return String{Value: strconv.FormatFloat(v.Value, 'f', -1, 64), Pos: b.pos(v.Pos), Set: true}
}

// env returns the variables in file order, or the whole-map expression.
func (b *builder) env(e *actionlint.Env) ([]KV, String) {
	if e == nil {
		return nil, String{}
	}
	if e.Expression != nil {
		return nil, b.str(e.Expression)
	}
	vars := make([]*actionlint.EnvVar, 0, len(e.Vars))
	for _, v := range e.Vars {
		vars = append(vars, v)
	}
	slices.SortFunc(vars, func(x, y *actionlint.EnvVar) int { return comparePos(x.Name.Pos, y.Name.Pos) })
	out := make([]KV, 0, len(vars))
	for _, v := range vars {
		out = append(out, KV{Key: v.Name.Value, Value: b.str(v.Value)})
	}
	return out, String{}
}

func comparePos(a, b *actionlint.Pos) int {
	if a == nil || b == nil {
		return 0
	}
	return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
}

func (b *builder) defaults(d *actionlint.Defaults) Defaults {
	if d == nil || d.Run == nil {
		return Defaults{}
	}
	return Defaults{Shell: b.str(d.Run.Shell), WorkingDirectory: b.str(d.Run.WorkingDirectory)}
}

func (b *builder) concurrency(c *actionlint.Concurrency) *Concurrency {
	if c == nil {
		return nil
	}
	return &Concurrency{Group: b.str(c.Group), CancelInProgress: b.boolean(c.CancelInProgress), Pos: b.pos(c.Pos)}
}

func (b *builder) workflow(w *actionlint.Workflow) *Workflow {
	out := &Workflow{
		File:        b.file,
		Name:        b.str(w.Name),
		RunName:     b.str(w.RunName),
		Defaults:    b.defaults(w.Defaults),
		Concurrency: b.concurrency(w.Concurrency),
	}
	out.Env, out.EnvExpr = b.env(w.Env)
	for _, ev := range w.On {
		out.On = append(out.On, b.trigger(ev))
	}
	jobs := make([]*actionlint.Job, 0, len(w.Jobs))
	for _, j := range w.Jobs {
		// A job whose key is not a string (`jobs: {{}}`) has no ID; actionlint
		// has already reported it, and the model leaves it out.
		if j.ID == nil || j.ID.Value == "" {
			continue
		}
		jobs = append(jobs, j)
	}
	slices.SortFunc(jobs, func(x, y *actionlint.Job) int { return comparePos(x.Pos, y.Pos) })
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, b.job(j))
	}
	return out
}

func filterValues(f *actionlint.WebhookEventFilter, b *builder) []String {
	if f == nil {
		return nil
	}
	return b.strs(f.Values)
}

func (b *builder) trigger(ev actionlint.Event) *Trigger {
	t := &Trigger{Event: ev.EventName()}
	switch e := ev.(type) {
	case *actionlint.WebhookEvent:
		t.Pos = b.pos(e.Pos)
		t.Types = b.strs(e.Types)
		t.Branches = filterValues(e.Branches, b)
		t.BranchesIgnore = filterValues(e.BranchesIgnore, b)
		t.Tags = filterValues(e.Tags, b)
		t.TagsIgnore = filterValues(e.TagsIgnore, b)
		t.Paths = filterValues(e.Paths, b)
		t.PathsIgnore = filterValues(e.PathsIgnore, b)
		t.Workflows = b.strs(e.Workflows)
	case *actionlint.ScheduledEvent:
		t.Pos = b.pos(e.Pos)
		for _, s := range e.Schedules {
			t.Schedules = append(t.Schedules, b.str(s.Cron))
		}
	case *actionlint.WorkflowDispatchEvent:
		t.Pos = b.pos(e.Pos)
		for _, in := range e.Inputs {
			t.Inputs = append(t.Inputs, b.dispatchInput(in))
		}
		slices.SortFunc(t.Inputs, func(x, y *Input) int {
			return cmp.Or(cmp.Compare(x.Pos.Line, y.Pos.Line), cmp.Compare(x.Pos.Col, y.Pos.Col))
		})
	case *actionlint.RepositoryDispatchEvent:
		t.Pos = b.pos(e.Pos)
		t.Types = b.strs(e.Types)
	case *actionlint.WorkflowCallEvent:
		t.Pos = b.pos(e.Pos)
		for _, in := range e.Inputs {
			t.Inputs = append(t.Inputs, &Input{
				Name: in.Name.Value, Pos: b.pos(in.Name.Pos), Default: b.str(in.Default),
				Required: in.Required != nil && in.Required.Value,
				Type:     callInputType(in.Type),
			})
		}
	case *actionlint.ImageVersionEvent:
		t.Pos = b.pos(e.Pos)
	}
	return t
}

func (b *builder) dispatchInput(in *actionlint.DispatchInput) *Input {
	out := &Input{
		Name:     in.Name.Value,
		Pos:      b.pos(in.Name.Pos),
		Default:  b.str(in.Default),
		Required: in.Required != nil && in.Required.Value,
		Type:     "string",
	}
	if in.Description != nil {
		out.Description = in.Description.Value
	}
	switch in.Type {
	case actionlint.WorkflowDispatchEventInputTypeBoolean:
		out.Type = "boolean"
	case actionlint.WorkflowDispatchEventInputTypeChoice:
		out.Type = "choice"
	case actionlint.WorkflowDispatchEventInputTypeEnvironment:
		out.Type = "environment"
	case actionlint.WorkflowDispatchEventInputTypeNumber:
		out.Type = "number"
	}
	for _, o := range in.Options {
		out.Options = append(out.Options, o.Value)
	}
	return out
}

func callInputType(t actionlint.WorkflowCallEventInputType) string {
	switch t {
	case actionlint.WorkflowCallEventInputTypeBoolean:
		return "boolean"
	case actionlint.WorkflowCallEventInputTypeNumber:
		return "number"
	}
	return "string"
}

func (b *builder) job(j *actionlint.Job) *Job {
	out := &Job{
		ID:              j.ID.Value,
		Pos:             b.pos(j.ID.Pos),
		Name:            b.str(j.Name),
		Needs:           b.strs(j.Needs),
		If:              b.str(j.If),
		Defaults:        b.defaults(j.Defaults),
		ContinueOnError: b.boolean(j.ContinueOnError),
		TimeoutMinutes:  b.float(j.TimeoutMinutes),
		Concurrency:     b.concurrency(j.Concurrency),
	}
	out.Env, out.EnvExpr = b.env(j.Env)
	if j.RunsOn != nil {
		out.RunsOn = b.strs(j.RunsOn.Labels)
		out.RunsOnExpr = b.str(j.RunsOn.LabelsExpr)
	}
	if j.Environment != nil {
		out.Environment = &Environment{Name: b.str(j.Environment.Name), URL: b.str(j.Environment.URL)}
	}
	if j.WorkflowCall != nil {
		out.Uses = b.str(j.WorkflowCall.Uses)
	}
	outs := make([]*actionlint.Output, 0, len(j.Outputs))
	for _, o := range j.Outputs {
		outs = append(outs, o)
	}
	slices.SortFunc(outs, func(x, y *actionlint.Output) int { return comparePos(x.Name.Pos, y.Name.Pos) })
	for _, o := range outs {
		out.Outputs = append(out.Outputs, KV{Key: o.Name.Value, Value: b.str(o.Value)})
	}
	if s := j.Strategy; s != nil {
		out.Strategy = &Strategy{
			FailFast:    b.boolean(s.FailFast),
			MaxParallel: b.integer(s.MaxParallel),
			Pos:         b.pos(s.Pos),
			Matrix:      b.matrix(s.Matrix),
		}
	}
	for i, s := range j.Steps {
		out.Steps = append(out.Steps, b.step(i, s))
	}
	out.Container = b.container(j.Container, j.ID.Value, "")
	if j.Services != nil {
		for _, s := range j.Services.Value {
			if s.Name == nil || s.Container == nil {
				continue
			}
			out.Services = append(out.Services, &Service{ID: s.Name.Value, Pos: b.pos(s.Name.Pos), Container: b.container(s.Container, j.ID.Value, s.Name.Value)})
		}
		slices.SortFunc(out.Services, func(x, y *Service) int { return cmp.Compare(x.Pos.Line, y.Pos.Line) })
	}
	return out
}

// container builds a `container:` (service "" ) or a service's container.
func (b *builder) container(c *actionlint.Container, job, service string) *Container {
	if c == nil {
		return nil
	}
	out := &Container{Pos: b.pos(c.Pos), Image: b.str(c.Image), Options: b.str(c.Options)}
	out.Env, _ = b.env(c.Env)
	if c.Credentials != nil {
		out.Credentials = true
		out.Username, out.Password = b.str(c.Credentials.Username), b.str(c.Credentials.Password)
	}
	// actionlint stores `volumes:` in Ports (v1.7.12), so both lists are
	// read from the YAML itself.
	out.Ports = b.seqUnder("ports", job, service)
	out.Volumes = b.seqUnder("volumes", job, service)
	return out
}

func (b *builder) step(i int, s *actionlint.Step) *Step {
	out := &Step{
		Index:           i,
		Pos:             b.pos(s.Pos),
		ID:              b.str(s.ID),
		Name:            b.str(s.Name),
		If:              b.str(s.If),
		ContinueOnError: b.boolean(s.ContinueOnError),
		TimeoutMinutes:  b.float(s.TimeoutMinutes),
	}
	out.Env, out.EnvExpr = b.env(s.Env)
	switch e := s.Exec.(type) {
	case *actionlint.ExecRun:
		out.Run = &Run{Script: b.str(e.Run), Shell: b.str(e.Shell), WorkingDirectory: b.str(e.WorkingDirectory)}
	case *actionlint.ExecAction:
		u := &Uses{Ref: b.str(e.Uses)}
		ins := make([]*actionlint.Input, 0, len(e.Inputs))
		for _, in := range e.Inputs {
			ins = append(ins, in)
		}
		slices.SortFunc(ins, func(x, y *actionlint.Input) int { return comparePos(x.Name.Pos, y.Name.Pos) })
		for _, in := range ins {
			u.With = append(u.With, KV{Key: in.Name.Value, Value: b.str(in.Value)})
		}
		out.Uses = u
	}
	return out
}

func (b *builder) matrix(m *actionlint.Matrix) *Matrix {
	if m == nil {
		return nil
	}
	out := &Matrix{Pos: b.pos(m.Pos)}
	if m.Expression != nil {
		out.Expr = b.str(m.Expression)
		return out
	}
	for name, r := range m.Rows {
		row := MatrixRow{Name: name}
		switch {
		case r.Name != nil:
			row.Name, row.Pos = r.Name.Value, b.pos(r.Name.Pos)
		case r.Expression != nil:
			row.Pos = b.pos(r.Expression.Pos)
		}
		if r.Expression != nil {
			row.Expr = b.str(r.Expression)
		}
		for _, v := range r.Values {
			row.Values = append(row.Values, b.raw(v))
		}
		out.Rows = append(out.Rows, row)
	}
	slices.SortFunc(out.Rows, func(x, y MatrixRow) int {
		return cmp.Or(cmp.Compare(x.Pos.Line, y.Pos.Line), cmp.Compare(x.Pos.Col, y.Pos.Col), cmp.Compare(x.Name, y.Name))
	})
	out.Include, out.IncludeExpr = b.combinations(m.Include)
	out.Exclude, out.ExcludeExpr = b.combinations(m.Exclude)
	return out
}

func (b *builder) combinations(c *actionlint.MatrixCombinations) ([]map[string]any, String) {
	if c == nil {
		return nil, String{}
	}
	if c.Expression != nil {
		return nil, b.str(c.Expression)
	}
	var out []map[string]any
	for _, combo := range c.Combinations {
		if combo.Expression != nil {
			// A single entry that is an expression: keep it as a string value.
			out = append(out, map[string]any{"": combo.Expression.Value})
			continue
		}
		m := map[string]any{}
		for _, a := range combo.Assigns {
			m[a.Key.Value] = b.raw(a.Value)
		}
		out = append(out, m)
	}
	return out, String{}
}

// raw converts a raw YAML value to an expression value, typing unquoted
// scalars as YAML's core schema does (so `node: [14, 16]` gives numbers).
func (b *builder) raw(v actionlint.RawYAMLValue) any {
	switch v := v.(type) {
	case *actionlint.RawYAMLObject:
		m := make(map[string]any, len(v.Props))
		for k, p := range v.Props {
			m[k] = b.raw(p)
		}
		return m
	case *actionlint.RawYAMLArray:
		out := make([]any, 0, len(v.Elems))
		for _, e := range v.Elems {
			out = append(out, b.raw(e))
		}
		return out
	case *actionlint.RawYAMLString:
		if b.quotedAt(v.Pos()) {
			return v.Value
		}
		return scalar(v.Value)
	}
	return nil
}

func (b *builder) quotedAt(p *actionlint.Pos) bool {
	if p == nil {
		return false
	}
	if b.lineStarts == nil {
		b.lineStarts = []int{0}
		for i, c := range b.src {
			if c == '\n' {
				b.lineStarts = append(b.lineStarts, i+1)
			}
		}
	}
	if p.Line < 1 || p.Line > len(b.lineStarts) {
		return false
	}
	// Columns count runes; walk the line to the column.
	line := b.src[b.lineStarts[p.Line-1]:]
	col := 1
	for i, r := range string(line) {
		if r == '\n' {
			return false
		}
		if col == p.Col {
			return line[i] == '\'' || line[i] == '"'
		}
		col++
	}
	return false
}

// scalar types an unquoted YAML scalar by the core schema.
func scalar(s string) any {
	switch strings.ToLower(s) {
	case "true":
		return true
	case "false":
		return false
	case "null", "~", "":
		return nil
	}
	if strings.ContainsAny(s, "0123456789") {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "_xXpP") && !strings.EqualFold(s, "inf") {
			return f
		}
		if n, err := strconv.ParseInt(s, 0, 64); err == nil && strings.HasPrefix(strings.ToLower(s), "0x") {
			return float64(n)
		}
	}
	return s
}
