package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/notify"
	"github.com/shipgate/shipgate/internal/store"
)

// defaultApprovalTimeout is how long a job waits for a decision when the
// environment sets no timeout.
const defaultApprovalTimeout = 24 * time.Hour

// gate is engine.Options.EnvironmentGate: a job deploying to a protected
// environment checks the allowed refs, then waits for a reviewer's
// approval (when the environment names reviewers) and the wait timer.
func (s *Server) gate(ctx context.Context, repo *Repo, it *store.QueueItem, jobID, envName string) error {
	env := s.cfg.Environments[envName]
	if env == nil {
		return nil // not a protected environment
	}
	if !env.RefAllowed(it.Ref) {
		return fmt.Errorf("%s may not deploy to %s (allowed: %v)", it.Ref, envName, env.Branches)
	}
	if len(env.Reviewers) == 0 && len(env.Checklist) == 0 {
		return sleepCtx(ctx, env.WaitTimer)
	}
	timeout := env.Timeout
	if timeout <= 0 {
		timeout = defaultApprovalTimeout
	}
	now := time.Now().UTC()
	a, err := s.st.RequestApproval(context.WithoutCancel(ctx), &store.Approval{QueueID: it.ID, Job: jobID, Environment: envName,
		RequestedBy: it.Actor, Checklist: env.Checklist, WaitUntil: now.Add(env.WaitTimer), Deadline: now.Add(timeout)})
	if err != nil {
		return err
	}
	if a.CreatedAt.Equal(now) || a.CreatedAt.After(now) {
		s.audit(ctx, it.Actor, "approval.requested", fmt.Sprintf("run %d", it.ID), fmt.Sprintf("job %s, environment %s", jobID, envName))
		s.notify(repo, notify.Message{Event: "approval_requested", Status: "waiting", Repository: it.Repo, Workflow: it.Workflow, Ref: it.Ref,
			Actor: it.Actor, RunID: it.ID, Environment: envName, Job: jobID, Text: fmt.Sprintf("Checklist: %v", env.Checklist)})
	}
	s.publish(it.ID, engine.Event{Type: "approval_waiting", JobID: jobID, Text: envName})
	wake := s.waiter(a.ID)
	defer s.dropWaiter(a.ID)
	s.metrics.waiting.Inc()
	defer s.metrics.waiting.Dec()
	for {
		a, err = s.st.GetApproval(context.WithoutCancel(ctx), a.ID)
		if err != nil {
			return err
		}
		switch a.Status {
		case store.ApprovalApproved:
			s.publish(it.ID, engine.Event{Type: "approval_decided", JobID: jobID, Status: a.Status, Text: a.DecidedBy})
			return sleepCtx(ctx, time.Until(a.WaitUntil))
		case store.ApprovalRejected:
			s.publish(it.ID, engine.Event{Type: "approval_decided", JobID: jobID, Status: a.Status, Text: a.DecidedBy})
			return fmt.Errorf("rejected by %s: %s", a.DecidedBy, a.Comment)
		case store.ApprovalTimedOut:
			return fmt.Errorf("no decision within %v", timeout)
		case store.ApprovalCancelled:
			return errors.New("the approval request was cancelled")
		}
		if time.Now().After(a.Deadline) {
			s.st.DecideApproval(context.WithoutCancel(ctx), a.ID, store.ApprovalTimedOut, "shipgate", "timed out", nil)
			s.audit(ctx, "shipgate", "approval.timed_out", fmt.Sprintf("run %d", it.ID), envName)
			continue
		}
		wait := min(s.poll, time.Until(a.Deadline)+time.Millisecond)
		select {
		case <-ctx.Done():
			if s.baseCtx.Err() == nil {
				// The run was cancelled (not the server stopping): the
				// request is moot. A stopping server leaves it waiting for
				// the resumed run.
				s.st.DecideApproval(context.WithoutCancel(ctx), a.ID, store.ApprovalCancelled, "shipgate", "the run was cancelled", nil)
			}
			return ctx.Err()
		case <-wake:
		case <-time.After(wait):
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (s *Server) waiter(id int64) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{}, 1)
	s.waiters[id] = ch
	return ch
}

func (s *Server) dropWaiter(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.waiters, id)
}

// DecisionError is a refused decision, with the HTTP status that says why.
type DecisionError struct {
	Code int
	Msg  string
}

func (e *DecisionError) Error() string { return e.Msg }

// Decision is a reviewer's answer to a waiting approval.
type Decision struct {
	Approve bool
	Comment string
	// Checked are the checklist items the reviewer confirms; approving
	// needs every item of the environment's checklist.
	Checked []string
}

// decide applies a reviewer's decision after checking the role, the
// environment's reviewers, prevent-self-review and the checklist.
func (s *Server) decide(ctx context.Context, user *store.User, approvalID int64, d Decision) (*store.Approval, error) {
	a, err := s.st.GetApproval(ctx, approvalID)
	if err != nil {
		return nil, &DecisionError{404, fmt.Sprintf("no approval %d", approvalID)}
	}
	deny := func(msg string) (*store.Approval, error) {
		s.audit(ctx, user.Name, "approval.denied", fmt.Sprintf("run %d", a.QueueID), fmt.Sprintf("%s: %s", a.Environment, msg))
		return nil, &DecisionError{403, msg}
	}
	if !atLeast(user.Role, RoleApprover) {
		return deny(fmt.Sprintf("%s is a %s; deciding needs the approver role", user.Name, user.Role))
	}
	env := s.cfg.Environments[a.Environment]
	if env == nil {
		env = &Environment{}
	}
	if !s.cfg.CanReview(env, user.Name) {
		return deny(fmt.Sprintf("%s is not a required reviewer of %s (reviewers: %v)", user.Name, a.Environment, env.Reviewers))
	}
	if env.PreventSelfReview && user.Name == a.RequestedBy {
		return deny(fmt.Sprintf("prevent-self-review: %s triggered this run and cannot review it", user.Name))
	}
	if a.Status != store.ApprovalWaiting {
		return nil, &DecisionError{409, fmt.Sprintf("approval %d is already %s", a.ID, a.Status)}
	}
	status, action := store.ApprovalRejected, "reject"
	if d.Approve {
		status, action = store.ApprovalApproved, "approve"
		var missing []string
		for _, item := range a.Checklist {
			if !slices.Contains(d.Checked, item) {
				missing = append(missing, item)
			}
		}
		if len(missing) > 0 {
			return nil, &DecisionError{422, fmt.Sprintf("checklist items not confirmed: %v", missing)}
		}
	}
	if err := s.st.DecideApproval(ctx, a.ID, status, user.Name, d.Comment, d.Checked); err != nil {
		return nil, &DecisionError{409, err.Error()}
	}
	s.audit(ctx, user.Name, action, fmt.Sprintf("run %d", a.QueueID), fmt.Sprintf("environment %s, job %s: %s", a.Environment, a.Job, d.Comment))
	s.mu.Lock()
	if ch := s.waiters[a.ID]; ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
	return s.st.GetApproval(ctx, a.ID)
}
