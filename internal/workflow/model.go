// Package workflow is shipgate's model of a GitHub Actions workflow file and
// its loader.
//
// Load parses a file through github.com/rhysd/actionlint, runs every one of
// actionlint's checks plus shipgate's own support check (rule "shipgate-support",
// which names each key or feature the engine does not run yet), and builds
// this small, plain model from actionlint's syntax tree. Every value keeps its
// position so later errors (in planning or at run time) say file:line:col.
//
// Values that may hold `${{ }}` are kept as raw text in String; evaluating
// them is internal/expr's job.
//
// See https://docs.github.com/en/actions/reference/workflow-syntax-for-github-actions
package workflow

import "github.com/shipgate/shipgate/internal/diag"

// String is a scalar as written in the file, with its position. Value may
// contain `${{ }}` expressions. Set reports whether the key was present.
type String struct {
	Value string
	Pos   diag.Pos
	Set   bool
}

// KV is one key/value entry (env, with, outputs), in file order.
type KV struct {
	Key   string
	Value String
}

// Workflow is one workflow file.
type Workflow struct {
	File        string
	Name        String
	RunName     String
	On          []*Trigger
	Env         []KV
	EnvExpr     String // `env: ${{ ... }}` as a whole
	Defaults    Defaults
	Concurrency *Concurrency
	// Jobs in file order.
	Jobs []*Job
}

// Job returns the job with the given ID, or nil.
func (w *Workflow) Job(id string) *Job {
	for _, j := range w.Jobs {
		if j.ID == id {
			return j
		}
	}
	return nil
}

// Trigger is one event under `on:` with its filters.
type Trigger struct {
	Event          string
	Pos            diag.Pos
	Types          []String
	Branches       []String
	BranchesIgnore []String
	Tags           []String
	TagsIgnore     []String
	Paths          []String
	PathsIgnore    []String
	Workflows      []String // workflow_run
	Schedules      []String // cron lines
	Inputs         []*Input // workflow_dispatch / workflow_call
}

// Input is a workflow_dispatch (or workflow_call) input.
type Input struct {
	Name        string
	Pos         diag.Pos
	Description string
	Required    bool
	Default     String
	// Type is string, boolean, number, choice or environment.
	Type    string
	Options []string
}

// Defaults are `defaults.run`.
type Defaults struct {
	Shell            String
	WorkingDirectory String
}

// Concurrency is a `concurrency:` group.
type Concurrency struct {
	Group            String
	CancelInProgress String // "true", "false" or an expression
	Pos              diag.Pos
}

// Environment is a job's deployment environment.
type Environment struct {
	Name String
	URL  String
}

// Job is one entry under `jobs:`.
type Job struct {
	ID              string
	Pos             diag.Pos
	Name            String
	Needs           []String
	RunsOn          []String
	RunsOnExpr      String
	If              String
	Env             []KV
	EnvExpr         String
	Defaults        Defaults
	Outputs         []KV
	Strategy        *Strategy
	ContinueOnError String
	TimeoutMinutes  String
	Environment     *Environment
	Concurrency     *Concurrency
	Steps           []*Step
	// Uses is set for a job that calls a reusable workflow (not run yet).
	Uses String
	// Container is `container:`; nil when absent.
	Container *Container
	// Services are `services:` in file order.
	Services []*Service
}

// Container is a job's `container:` or a service's container. A
// `container: image` shorthand sets Image only.
type Container struct {
	Pos     diag.Pos
	Image   String
	Env     []KV
	Ports   []String
	Volumes []String
	Options String
	// Username and Password are `credentials:`; Credentials is set when
	// the key is present at all.
	Credentials        bool
	Username, Password String
}

// Service is one entry under `services:`.
type Service struct {
	// ID is the key as written; it is the service's host name.
	ID        string
	Pos       diag.Pos
	Container *Container
}

// Strategy is `strategy:`.
type Strategy struct {
	Matrix      *Matrix
	FailFast    String
	MaxParallel String
	Pos         diag.Pos
}

// Matrix is `strategy.matrix`. Values are expression values (see
// internal/expr): strings, float64, bool, nil, []any, map[string]any; a
// string may still hold `${{ }}`.
type Matrix struct {
	// Expr is set when the whole matrix is one expression.
	Expr String
	// Rows are the axes in file order.
	Rows []MatrixRow
	// Include and Exclude are the combinations listed, or an expression.
	Include     []map[string]any
	IncludeExpr String
	Exclude     []map[string]any
	ExcludeExpr String
	Pos         diag.Pos
}

// MatrixRow is one axis: a name and its values, or an expression.
type MatrixRow struct {
	Name   string
	Pos    diag.Pos
	Values []any
	Expr   String
}

// Step is one entry under `steps:`.
type Step struct {
	Index           int
	Pos             diag.Pos
	ID              String
	Name            String
	If              String
	Env             []KV
	EnvExpr         String
	ContinueOnError String
	TimeoutMinutes  String
	Run             *Run
	Uses            *Uses
}

// Run is a `run:` step.
type Run struct {
	Script           String
	Shell            String
	WorkingDirectory String
}

// Uses is a `uses:` step.
type Uses struct {
	Ref  String
	With []KV
}

// DisplayName is what a step is called in logs: its name, or what it runs.
func (s *Step) DisplayName() string {
	switch {
	case s.Name.Value != "":
		return s.Name.Value
	case s.Uses != nil:
		return "Run " + s.Uses.Ref.Value
	case s.Run != nil:
		line := s.Run.Script.Value
		for i, c := range line {
			if c == '\n' {
				line = line[:i]
				break
			}
		}
		return "Run " + line
	}
	return "step " + itoa(s.Index+1)
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
