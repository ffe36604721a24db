package fake

import (
	"context"
	"fmt"
	"testing"

	"github.com/shipgate/shipgate/internal/executor"
)

type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestFakeFailsOutOfOrderCalls(t *testing.T) {
	ctx := context.Background()
	r := &recorder{}
	e := New(r)
	j := &executor.Job{ID: "build"}
	if _, err := e.Exec(ctx, j, &executor.Step{ID: "s1"}); err == nil {
		t.Error("Exec before Setup succeeded")
	}
	e.Setup(ctx, j)
	if _, err := e.Exec(ctx, j, &executor.Step{ID: "s1"}); err != nil {
		t.Errorf("Exec after Setup: %v", err)
	}
	e.Teardown(ctx, j)
	e.Exec(ctx, j, &executor.Step{ID: "s2"})
	e.Teardown(ctx, j)
	e.Setup(ctx, &executor.Job{ID: "left"})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	e.Setup(ctx, &executor.Job{ID: "c"})
	e.Teardown(cancelled, &executor.Job{ID: "c"})
	e.Verify()
	if len(r.errs) != 5 {
		t.Fatalf("got %d lifecycle errors, want 5 (exec before setup, exec after teardown, double teardown, cancelled teardown ctx, never torn down):\n%q", len(r.errs), r.errs)
	}
}

func TestFakeInOrderIsClean(t *testing.T) {
	ctx := context.Background()
	e := New(t)
	e.Run = func(ctx context.Context, j *executor.Job, s *executor.Step) *executor.Result {
		return &executor.Result{ExitCode: 3}
	}
	j := &executor.Job{ID: "a"}
	e.Setup(ctx, j)
	res, err := e.Exec(ctx, j, &executor.Step{ID: "x"})
	if err != nil || res.ExitCode != 3 {
		t.Fatalf("Exec = %+v, %v", res, err)
	}
	e.Teardown(ctx, j)
	e.Verify()
	want := []string{"setup a", "exec a x", "teardown a"}
	if got := e.Calls(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
}
