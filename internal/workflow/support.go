package workflow

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
)

// supportRule names every key or feature the engine does not run yet. It is
// an actionlint rule so it visits the same syntax tree in the same pass.
type supportRule struct {
	actionlint.RuleBase
	opts Options
}

func newSupportRule(opts Options) *supportRule {
	return &supportRule{
		RuleBase: actionlint.NewRuleBase(RuleSupport, "Keys and features shipgate's engine does not run yet"),
		opts:     opts,
	}
}

func (r *supportRule) notYet(pos *actionlint.Pos, format string, args ...any) {
	r.Errorf(pos, "not supported by shipgate yet: "+format, args...)
}

func (r *supportRule) VisitWorkflowPre(w *actionlint.Workflow) error {
	for _, ev := range w.On {
		switch e := ev.(type) {
		case *actionlint.WorkflowCallEvent:
			// Being callable does not stop a workflow running for its
			// other events; only a workflow nothing else triggers is
			// beyond the engine (nobody can call it yet).
			if len(w.On) == 1 {
				r.notYet(e.Pos, "\"workflow_call\" as the only trigger (reusable workflows are not called yet)")
			}
		case *actionlint.ImageVersionEvent:
			r.notYet(e.Pos, "%q event", e.EventName())
		}
	}
	return nil
}

// hostLabels are runs-on labels that mean "a Linux machine": the host
// executor runs those jobs here.
var foreignOS = []string{"windows", "macos", "mac"}

func (r *supportRule) VisitJobPre(j *actionlint.Job) error {
	id := j.ID.Value
	switch {
	case j.Container != nil && !r.opts.Containers:
		r.notYet(j.Container.Pos, "\"container\" in job %q with the host executor (run it with --executor container)", id)
	case j.Container != nil:
		r.containerSpec(j.Container, fmt.Sprintf("the container of job %q", id))
	}
	switch {
	case j.Services != nil && !r.opts.Containers:
		r.notYet(j.Services.Pos, "\"services\" in job %q with the host executor (service containers need --executor container)", id)
	case j.Services != nil && j.Services.Expression != nil:
		r.notYet(j.Services.Pos, "\"services\" in job %q given as one expression; list the services", id)
	case j.Services != nil:
		for _, s := range j.Services.Value {
			if s.Container != nil && s.Name != nil {
				r.containerSpec(s.Container, fmt.Sprintf("service %q of job %q", s.Name.Value, id))
			}
		}
	}
	if j.WorkflowCall != nil && j.WorkflowCall.Uses != nil {
		r.notYet(j.WorkflowCall.Uses.Pos, "calling a reusable workflow with \"uses\" in job %q", id)
	}
	if j.Snapshot != nil && j.Snapshot.ImageName != nil {
		r.notYet(j.Snapshot.ImageName.Pos, "\"snapshot\" in job %q", id)
	}
	if j.RunsOn != nil {
		for _, l := range j.RunsOn.Labels {
			low := strings.ToLower(l.Value)
			if slices.ContainsFunc(foreignOS, func(os string) bool { return strings.HasPrefix(low, os) }) {
				r.notYet(l.Pos, "runs-on label %q in job %q: shipgate runs jobs on this Linux host", l.Value, id)
			}
		}
	}
	return nil
}

func (r *supportRule) VisitStep(s *actionlint.Step) error {
	a, ok := s.Exec.(*actionlint.ExecAction)
	if !ok || a.Uses == nil {
		return nil
	}
	ref := a.Uses.Value
	switch {
	case strings.HasPrefix(ref, "docker://"):
		r.notYet(a.Uses.Pos, "Docker container actions (%q)", ref)
		return nil
	case a.Entrypoint != nil:
		r.notYet(a.Entrypoint.Pos, "\"entrypoint\" of a Docker action")
	case a.Args != nil:
		r.notYet(a.Args.Pos, "\"args\" of a Docker action")
	}
	if strings.HasPrefix(ref, "./") || strings.Contains(ref, "${{") || r.opts.KnownAction == nil {
		return nil // local actions are resolved at run time
	}
	if ok, builtins := r.opts.KnownAction(ref); !ok {
		r.notYet(a.Uses.Pos, "action %q is not built in (nothing is downloaded); built in: %s", ref, strings.Join(builtins, ", "))
	}
	return nil
}

// containerSpec reports what the container executor cannot do with a
// `container:` or service.
func (r *supportRule) containerSpec(c *actionlint.Container, what string) {
	if c.Credentials != nil {
		r.notYet(c.Credentials.Pos, "\"credentials\" for %s: nothing is pulled, so the image must already be in the Docker Engine", what)
	}
}

// String names the rule in messages.
func (r *supportRule) String() string { return fmt.Sprintf("rule %s", r.Name()) }
