package deploy

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/shipgate/shipgate/internal/store"
)

// DORA holds the four DORA metrics of an environment over a window,
// computed from deployment records:
//
//   - deployment frequency: succeeded deployments per day of the window;
//   - lead time for changes: the median time from a deployed commit's time
//     to the end of its successful deployment;
//   - change failure rate: failed deployments over finished ones;
//   - time to restore: the median time from a failed deployment's start
//     (when the bad version got traffic) to the service being restored:
//     the end of its rollback when one ran, else the end of the next
//     successful deployment in the environment.
//
// Running deployments count in none of them.
type DORA struct {
	Env                 string    `json:"env"`
	Since               time.Time `json:"since"`
	Until               time.Time `json:"until"`
	Deployments         int       `json:"deployments"`
	Succeeded           int       `json:"succeeded"`
	Failed              int       `json:"failed"`
	FrequencyPerDay     float64   `json:"deploymentFrequencyPerDay"`
	LeadTimeSeconds     float64   `json:"leadTimeSeconds"` // median; 0 when no commit times
	LeadTimeSamples     int       `json:"leadTimeSamples"`
	ChangeFailureRate   float64   `json:"changeFailureRate"`
	TimeToRestoreSecond float64   `json:"timeToRestoreSeconds"` // median; 0 when nothing failed
	Restores            int       `json:"restores"`
	Unrestored          int       `json:"unrestored"` // failures not yet restored
}

// ComputeDORA computes the metrics for env ("" for all) from records,
// over [since, until].
func ComputeDORA(env string, recs []store.Deployment, since, until time.Time) DORA {
	d := DORA{Env: env, Since: since, Until: until}
	var lead, restore []float64
	sorted := slices.Clone(recs)
	slices.SortStableFunc(sorted, func(a, b store.Deployment) int { return a.Started.Compare(b.Started) })
	for i, r := range sorted {
		if (env != "" && r.Env != env) || r.Started.Before(since) || r.Started.After(until) {
			continue
		}
		switch r.Result {
		case store.DeploySucceeded:
			d.Deployments++
			d.Succeeded++
			if !r.CommitTime.IsZero() && !r.Finished.IsZero() {
				lead = append(lead, r.Finished.Sub(r.CommitTime).Seconds())
			}
		case store.DeployFailed:
			d.Deployments++
			d.Failed++
			if r.RolledBack && !r.Finished.IsZero() {
				restore = append(restore, r.Finished.Sub(r.Started).Seconds())
				continue
			}
			restored := false
			for _, n := range sorted[i+1:] {
				if n.Env == r.Env && n.Result == store.DeploySucceeded && !n.Finished.IsZero() {
					restore = append(restore, n.Finished.Sub(r.Started).Seconds())
					restored = true
					break
				}
			}
			if !restored {
				d.Unrestored++
			}
		}
	}
	days := until.Sub(since).Hours() / 24
	if days > 0 {
		d.FrequencyPerDay = float64(d.Succeeded) / days
	}
	if d.Deployments > 0 {
		d.ChangeFailureRate = float64(d.Failed) / float64(d.Deployments)
	}
	d.LeadTimeSeconds, d.LeadTimeSamples = medianOf(lead), len(lead)
	d.TimeToRestoreSecond, d.Restores = medianOf(restore), len(restore)
	return d
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// WriteText prints the metrics for people.
func (d DORA) WriteText(w io.Writer) {
	env := d.Env
	if env == "" {
		env = "all environments"
	}
	fmt.Fprintf(w, "DORA metrics for %s, %s to %s\n", env, d.Since.UTC().Format("2006-01-02 15:04"), d.Until.UTC().Format("2006-01-02 15:04"))
	fmt.Fprintf(w, "  deployment frequency   %.2f per day (%d succeeded)\n", d.FrequencyPerDay, d.Succeeded)
	if d.LeadTimeSamples > 0 {
		fmt.Fprintf(w, "  lead time for changes  %s (median of %d)\n", fmtDur(d.LeadTimeSeconds), d.LeadTimeSamples)
	} else {
		fmt.Fprintf(w, "  lead time for changes  no data (no commit times recorded)\n")
	}
	fmt.Fprintf(w, "  change failure rate    %.1f%% (%d of %d)\n", 100*d.ChangeFailureRate, d.Failed, d.Deployments)
	if d.Restores > 0 {
		fmt.Fprintf(w, "  time to restore        %s (median of %d)", fmtDur(d.TimeToRestoreSecond), d.Restores)
	} else {
		fmt.Fprintf(w, "  time to restore        no failures")
	}
	if d.Unrestored > 0 {
		fmt.Fprintf(w, ", %d not restored yet", d.Unrestored)
	}
	fmt.Fprintln(w)
}

func fmtDur(sec float64) string {
	return (time.Duration(sec * float64(time.Second))).Round(time.Second).String()
}

// Collectors returns the metrics as Prometheus gauges, labelled by env
// when envLabel is set (a Pushgateway adds it from the grouping key).
func (d DORA) Collectors(envLabel bool) []prometheus.Collector {
	env := d.Env
	if env == "" {
		env = "all"
	}
	labels := prometheus.Labels{"env": env}
	if !envLabel {
		labels = nil
	}
	g := func(name, help string, v float64) prometheus.Collector {
		c := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
		c.Set(v)
		return c
	}
	return []prometheus.Collector{
		g("shipgate_dora_deployment_frequency_per_day", "Successful deployments per day over the window.", d.FrequencyPerDay),
		g("shipgate_dora_lead_time_seconds", "Median time from commit to successful deployment.", d.LeadTimeSeconds),
		g("shipgate_dora_change_failure_rate", "Failed deployments over finished deployments.", d.ChangeFailureRate),
		g("shipgate_dora_time_to_restore_seconds", "Median time from a failed deployment to restored service.", d.TimeToRestoreSecond),
		g("shipgate_deployments_succeeded", "Successful deployments in the window.", float64(d.Succeeded)),
		g("shipgate_deployments_failed", "Failed deployments in the window.", float64(d.Failed)),
	}
}

// Push sends the metrics to a Prometheus Pushgateway under job "shipgate"
// and the env grouping key (replacing what was pushed there before).
func (d DORA) Push(url string) error {
	env := d.Env
	if env == "" {
		env = "all"
	}
	p := push.New(url, "shipgate").Grouping("env", env)
	for _, c := range d.Collectors(false) {
		p = p.Collector(c)
	}
	if err := p.Push(); err != nil {
		return fmt.Errorf("pushgateway %s: %w", url, err)
	}
	return nil
}
