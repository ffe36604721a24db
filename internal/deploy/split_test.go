package deploy

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"
)

// The proxy's traffic split over 10,000 requests at each canary step is
// within 3 percentage points of the step's weight.
func TestTrafficSplitMatchesWeights(t *testing.T) {
	svc := buildSvc(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	local := inProcess(t, filepath.Join(t.TempDir(), "deploy"))
	if err := local.Deploy(ctx, "split", Release{Version: "1.0.0", Command: svc}); err != nil {
		t.Fatal(err)
	}
	if err := local.Deploy(ctx, "split", Release{Version: "2.0.0", Command: svc}); err != nil {
		t.Fatal(err)
	}
	st, _ := local.Status(ctx, "split")
	for _, w := range []int{10, 50, 100} {
		if err := local.SetWeight(ctx, "split", w); err != nil {
			t.Fatal(err)
		}
		got := versionsServed(t, st.URL, 10000)
		share := 100 * float64(got["200 2.0.0"]) / 10000
		t.Logf("weight %3d%%: canary served %.2f%% of 10000 (%v)", w, share, got)
		if math.Abs(share-float64(w)) > 3 {
			t.Errorf("weight %d%%: canary share %.2f%%", w, share)
		}
	}
}

func TestRollingStepsFollowReplicas(t *testing.T) {
	if got := RollingSteps(4); len(got) != 4 || got[0] != 25 || got[3] != 100 {
		t.Errorf("RollingSteps(4) = %v", got)
	}
	if got := RollingSteps(3); got[0] != 33 || got[1] != 66 || got[2] != 100 {
		t.Errorf("RollingSteps(3) = %v", got)
	}
	for _, bad := range []string{"", "0", "50,10", "abc", "10,101"} {
		if _, err := ParseSteps(bad); err == nil {
			t.Errorf("ParseSteps(%q) accepted", bad)
		}
	}
	if got, _ := ParseSteps("10, 50%"); len(got) != 3 || got[2] != 100 {
		t.Errorf("ParseSteps adds the final 100: %v", got)
	}
}
