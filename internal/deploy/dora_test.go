package deploy

import (
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/store"
)

// history is a scripted month of deployments whose DORA figures were
// computed by hand (below).
func history() []store.Deployment {
	day := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	return []store.Deployment{
		// 1: succeeded, commit 2h before the end.
		{Env: "production", Version: "1.0.0", CommitTime: day(2, 8, 0), Started: day(2, 9, 50), Finished: day(2, 10, 0), Result: store.DeploySucceeded},
		// 2: failed and rolled back automatically after 6 minutes.
		{Env: "production", Version: "1.1.0", CommitTime: day(5, 8, 0), Started: day(5, 12, 0), Finished: day(5, 12, 6), Result: store.DeployFailed, RolledBack: true},
		// 3: succeeded, commit 4h before the end.
		{Env: "production", Version: "1.1.1", CommitTime: day(6, 8, 0), Started: day(6, 11, 30), Finished: day(6, 12, 0), Result: store.DeploySucceeded},
		// 4: failed without a rollback; restored by 5, which ends 2h after 4 began.
		{Env: "production", Version: "1.2.0", CommitTime: day(10, 8, 0), Started: day(10, 9, 0), Finished: day(10, 9, 20), Result: store.DeployFailed},
		// 5: succeeded, commit 3h before the end.
		{Env: "production", Version: "1.2.1", CommitTime: day(10, 8, 0), Started: day(10, 10, 40), Finished: day(10, 11, 0), Result: store.DeploySucceeded},
		// 6: staging and a running deployment count for nothing here.
		{Env: "staging", Version: "1.3.0", Started: day(11, 9, 0), Finished: day(11, 9, 5), Result: store.DeploySucceeded},
		{Env: "production", Version: "1.3.0", Started: day(12, 9, 0), Result: store.DeployRunning},
	}
}

func TestDORAFromScriptedHistory(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	until := since.Add(30 * 24 * time.Hour)
	d := ComputeDORA("production", history(), since, until)
	// By hand: 3 succeeded in 30 days = 0.1/day; lead times 2h, 4h, 3h:
	// median 3h; failures 2 of 5 = 40%; restores 6 min (rollback) and
	// 2 h (9:00 to 11:00 the next success): median 63 min.
	want := DORA{Env: "production", Since: since, Until: until, Deployments: 5, Succeeded: 3, Failed: 2,
		FrequencyPerDay: 0.1, LeadTimeSeconds: 3 * 3600, LeadTimeSamples: 3, ChangeFailureRate: 0.4,
		TimeToRestoreSecond: 63 * 60, Restores: 2}
	if math.Abs(d.FrequencyPerDay-want.FrequencyPerDay) > 1e-12 {
		t.Errorf("frequency %v, want %v", d.FrequencyPerDay, want.FrequencyPerDay)
	}
	d.FrequencyPerDay = want.FrequencyPerDay
	if d != want {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
	var b strings.Builder
	d.WriteText(&b)
	for _, s := range []string{"0.10 per day", "3h0m0s (median of 3)", "40.0% (2 of 5)", "1h3m0s (median of 2)"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, b.String())
		}
	}
}

func TestDORAPushedToPushgatewayIsReadable(t *testing.T) {
	gw := startPushgateway(t)
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	d := ComputeDORA("production", history(), since, since.Add(30*24*time.Hour))
	if err := d.Push(gw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(gw + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{
		`shipgate_dora_change_failure_rate{env="production",instance="",job="shipgate"} 0.4`,
		`shipgate_dora_lead_time_seconds{env="production",instance="",job="shipgate"} 10800`,
		`shipgate_dora_time_to_restore_seconds{env="production",instance="",job="shipgate"} 3780`,
		`shipgate_dora_deployment_frequency_per_day{env="production",instance="",job="shipgate"} 0.1`,
	} {
		if !strings.Contains(string(body), line) {
			t.Errorf("pushgateway lacks %s", line)
		}
	}
}
