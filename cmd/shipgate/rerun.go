package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
	"github.com/spf13/cobra"
)

func (a *app) rerunCmd() *cobra.Command {
	var f runFlags
	var onlyFailed bool
	c := &cobra.Command{
		Use:   "rerun ID",
		Short: "Run a recorded run again; with --failed only its failed jobs and their dependants",
		Long: `Rerun runs a recorded run again with the same workflow file, event, inputs,
variables, job and matrix filters. Secrets are never stored: give them
again (--secret, --secret-file).

With --failed, jobs that succeeded are not run: their recorded results and
outputs are reused (needs.<id>.outputs works) and their artifacts stay
downloadable; failed, cancelled and interrupted jobs run again, with every
job that depends on them.`,
		Example: `  shipgate rerun 12 --failed --secret-file .secrets
  shipgate rerun 12 --plain`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := context.Background()
			f.gates = commandNames(c.Root())
			id, err := parseRunID(args[0])
			if err != nil {
				return err
			}
			db, runs, err := a.openRunStore(ctx, f.stateDir)
			if err != nil {
				return err
			}
			orig, err := getRun(ctx, runs, id)
			if err != nil {
				db.Close()
				return err
			}
			var p runParams
			if err := json.Unmarshal(orig.Params, &p); err != nil || p.Workflow == "" {
				db.Close()
				return usageError("run %d did not record how it was started; run it again with 'shipgate run'", id)
			}
			jobs, err := runs.Jobs(ctx, id)
			db.Close()
			if err != nil {
				return err
			}
			f.wf.file, f.wf.event, f.wf.eventPath, f.wf.ref = p.Workflow, p.Event, p.EventPath, p.Ref
			f.wf.inputs = nil
			for k, v := range p.Inputs {
				f.wf.inputs = append(f.wf.inputs, k+"="+v)
			}
			for k, v := range p.Vars {
				f.vars = append(f.vars, k+"="+v)
			}
			f.jobs = p.Jobs
			for k, v := range p.Matrix {
				f.matrix = append(f.matrix, k+":"+v)
			}
			f.envFiles = p.EnvFiles
			var reuse map[string]*engine.ReusedJob
			if onlyFailed {
				wf, _, err := workflow.Load(p.Workflow, workflow.Options{NoScriptCheck: true})
				if err != nil {
					return asUsage(err)
				}
				reuse = reusable(wf, jobs)
				if len(reuse) == len(wf.Jobs) {
					fmt.Fprintf(a.stderr, "run %d has no failed jobs; nothing to rerun\n", id)
					return nil
				}
			}
			return a.run(ctx, &f, id, reuse, []int64{id})
		},
	}
	f.register(c)
	c.Flags().BoolVar(&onlyFailed, "failed", false, "re-run only failed jobs and what depends on them")
	return c
}

// reusable picks the jobs a --failed rerun takes as they were: every job
// whose legs all succeeded (or were skipped) and that does not depend on a
// job that runs again.
func reusable(wf *workflow.Workflow, jobs []*store.Job) map[string]*engine.ReusedJob {
	result := map[string]string{}
	outputs := map[string]map[string]string{}
	for _, j := range jobs {
		r, seen := result[j.Key]
		switch {
		case !seen:
			result[j.Key] = j.Status
		case r == store.StatusSuccess && j.Status != store.StatusSuccess:
			result[j.Key] = j.Status
		}
		if outputs[j.Key] == nil {
			outputs[j.Key] = map[string]string{}
		}
		maps.Copy(outputs[j.Key], j.Outputs)
	}
	rerun := map[string]bool{}
	var mark func(id string) bool
	mark = func(id string) bool {
		if v, ok := rerun[id]; ok {
			return v
		}
		r, ran := result[id]
		again := !ran || (r != store.StatusSuccess && r != store.StatusSkipped)
		rerun[id] = again
		if j := wf.Job(id); j != nil {
			for _, n := range j.Needs {
				if mark(n.Value) {
					again = true
				}
			}
		}
		rerun[id] = again
		return again
	}
	reuse := map[string]*engine.ReusedJob{}
	for _, j := range wf.Jobs {
		if !mark(j.ID) {
			reuse[j.ID] = &engine.ReusedJob{Result: result[j.ID], Outputs: outputs[j.ID]}
		}
	}
	return reuse
}
