// Package analysis decides whether a rollout step is healthy by measuring
// metrics, with Argo Rollouts' semantics and verdicts.
//
// A Spec (an analysis file) lists metrics. A threshold metric runs a PromQL
// query Count times, Interval apart; each measurement is Successful when its
// successCondition holds (and its failureCondition does not), Failed
// otherwise, Inconclusive when the query returns no data (an empty vector
// or NaN: no data is never a pass) and Error when the query fails. The
// metric fails as soon as more than FailureLimit measurements failed, is
// inconclusive when more than InconclusiveLimit were inconclusive, is an
// error after more than ConsecutiveErrorLimit errors in a row (at once for
// a query Prometheus rejects as invalid), and succeeds when all Count
// measurements are in. A comparison metric (compare:) instead fetches the
// canary's and the baseline's series over a window and runs a Mann–Whitney
// U test on them, as Kayenta does: the canary fails when it is
// significantly worse.
//
// Metrics run concurrently; the run's verdict is the worst of theirs
// (Failed, then Error, then Inconclusive, then Successful), and a failing
// metric stops the others so that a rollback starts at once.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Verdict is the outcome of a measurement, a metric or a run.
type Verdict string

// Verdicts, as Argo Rollouts names them.
const (
	Successful   Verdict = "Successful"
	Failed       Verdict = "Failed"
	Inconclusive Verdict = "Inconclusive"
	Error        Verdict = "Error"
)

// rank orders verdicts from best to worst for combining.
func (v Verdict) rank() int {
	switch v {
	case Successful:
		return 0
	case Inconclusive:
		return 1
	case Error:
		return 2
	case Failed:
		return 3
	}
	return 2
}

// Worst returns the worse of two verdicts.
func Worst(a, b Verdict) Verdict {
	if a == "" {
		return b
	}
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Duration is a time.Duration written as "10s" in an analysis file.
type Duration time.Duration

// UnmarshalYAML reads "1m30s"-style durations.
func (d *Duration) UnmarshalYAML(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"'`)
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 10s, 1m)", s)
	}
	*d = Duration(v)
	return nil
}

// Spec is an analysis file: the metrics measured at each rollout step.
type Spec struct {
	// Metrics are measured concurrently.
	Metrics []Metric `yaml:"metrics"`
	// Path is where the spec was read from (for messages).
	Path string `yaml:"-"`
}

// Metric is one measured metric.
type Metric struct {
	// Name identifies the metric in reports.
	Name string `yaml:"name"`
	// Query is an instant PromQL query. {{canary}}, {{stable}} and {{env}}
	// are replaced by the canary's version, the stable version and the
	// environment before it is sent.
	Query string `yaml:"query"`
	// SuccessCondition must hold for a measurement to succeed, e.g.
	// `result < 0.05`.
	SuccessCondition string `yaml:"successCondition"`
	// FailureCondition fails a measurement when it holds.
	FailureCondition string `yaml:"failureCondition"`
	// Interval is the time between measurements (default 10s).
	Interval Duration `yaml:"interval"`
	// InitialDelay is waited before the first measurement.
	InitialDelay Duration `yaml:"initialDelay"`
	// Count is the number of measurements (default 1).
	Count int `yaml:"count"`
	// FailureLimit is how many failed measurements are tolerated (default 0).
	FailureLimit int `yaml:"failureLimit"`
	// InconclusiveLimit is how many inconclusive measurements are tolerated
	// (default 0).
	InconclusiveLimit int `yaml:"inconclusiveLimit"`
	// ConsecutiveErrorLimit is how many query errors in a row are tolerated
	// (default 4, as in Argo Rollouts).
	ConsecutiveErrorLimit *int `yaml:"consecutiveErrorLimit"`
	// Compare makes this a canary-versus-baseline comparison metric.
	Compare *Compare `yaml:"compare"`

	success, failure *Condition
}

// Compare is a Kayenta-style comparison of the canary's and the baseline's
// values of one metric with a Mann–Whitney U test.
type Compare struct {
	// Canary and Baseline are PromQL range queries (the same expression
	// restricted to each version); every point of every series is a value.
	Canary   string `yaml:"canary"`
	Baseline string `yaml:"baseline"`
	// Window is how far back the series are read (default 30s) and Step
	// their resolution (default 1s).
	Window Duration `yaml:"window"`
	Step   Duration `yaml:"step"`
	// Alpha is the significance level (default 0.05).
	Alpha float64 `yaml:"alpha"`
	// Direction is which change fails the canary: "increase" (default: a
	// higher value is worse, as for error rates and latencies), "decrease"
	// or "either".
	Direction string `yaml:"direction"`
	// MinSamples is the least number of points on each side (default 5);
	// fewer is inconclusive.
	MinSamples int `yaml:"minSamples"`
}

// Load reads and checks an analysis file. Problems are reported as
// file:line:col: message, all of them at once.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse checks an analysis spec read from path.
func Parse(path string, data []byte) (*Spec, error) {
	var s Spec
	if err := yaml.UnmarshalWithOptions(data, &s, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%s:%s", path, strings.TrimPrefix(yamlError(err), " "))
	}
	s.Path = path
	file, _ := parser.ParseBytes(data, 0)
	pos := func(p string) string {
		if file == nil {
			return path
		}
		yp, err := yaml.PathString(p)
		if err != nil {
			return path
		}
		n, err := yp.FilterFile(file)
		if err != nil || n == nil {
			return path
		}
		t := n.GetToken()
		if m, ok := n.(*ast.MappingValueNode); ok {
			t = m.Key.GetToken()
		}
		return fmt.Sprintf("%s:%d:%d", path, t.Position.Line, t.Position.Column)
	}
	var errs []error
	if len(s.Metrics) == 0 {
		errs = append(errs, fmt.Errorf("%s: no metrics: an analysis needs at least one", path))
	}
	names := map[string]bool{}
	for i := range s.Metrics {
		m := &s.Metrics[i]
		at := func(field string) string { return pos(fmt.Sprintf("$.metrics[%d].%s", i, field)) }
		if m.Name == "" {
			m.Name = fmt.Sprintf("metric-%d", i+1)
		}
		if names[m.Name] {
			errs = append(errs, fmt.Errorf("%s: metric name %q used twice", at("name"), m.Name))
		}
		names[m.Name] = true
		if m.Count == 0 {
			m.Count = 1
		}
		if m.Count < 0 || m.FailureLimit < 0 || m.InconclusiveLimit < 0 {
			errs = append(errs, fmt.Errorf("%s: count and limits must not be negative", at("count")))
		}
		if m.Interval == 0 {
			m.Interval = Duration(10 * time.Second)
		}
		if m.ConsecutiveErrorLimit == nil {
			four := 4
			m.ConsecutiveErrorLimit = &four
		}
		if m.Compare != nil {
			c := m.Compare
			if m.Query != "" || m.SuccessCondition != "" || m.FailureCondition != "" {
				errs = append(errs, fmt.Errorf("%s: a compare metric has no query or conditions of its own", at("compare")))
			}
			if c.Canary == "" || c.Baseline == "" {
				errs = append(errs, fmt.Errorf("%s: compare needs both canary and baseline queries", at("compare")))
			}
			if c.Window == 0 {
				c.Window = Duration(30 * time.Second)
			}
			if c.Step == 0 {
				c.Step = Duration(time.Second)
			}
			if c.Alpha == 0 {
				c.Alpha = 0.05
			}
			if c.Alpha <= 0 || c.Alpha >= 1 {
				errs = append(errs, fmt.Errorf("%s: alpha must be between 0 and 1", at("compare.alpha")))
			}
			if c.MinSamples == 0 {
				c.MinSamples = 5
			}
			switch c.Direction {
			case "":
				c.Direction = "increase"
			case "increase", "decrease", "either":
			default:
				errs = append(errs, fmt.Errorf("%s: direction %q: want increase, decrease or either", at("compare.direction"), c.Direction))
			}
			continue
		}
		if strings.TrimSpace(m.Query) == "" {
			errs = append(errs, fmt.Errorf("%s: metric %q has no query", at("name"), m.Name))
		}
		if m.SuccessCondition == "" && m.FailureCondition == "" {
			errs = append(errs, fmt.Errorf("%s: metric %q needs a successCondition or a failureCondition (e.g. result < 0.05)", at("name"), m.Name))
		}
		var err error
		if m.SuccessCondition != "" {
			if m.success, err = ParseCondition(m.SuccessCondition); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", at("successCondition"), err))
			}
		}
		if m.FailureCondition != "" {
			if m.failure, err = ParseCondition(m.FailureCondition); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", at("failureCondition"), err))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &s, nil
}

// yamlError turns goccy's "[3:5] message" into "3:5: message".
func yamlError(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "[") {
		if end := strings.Index(msg, "]"); end > 0 {
			first, _, _ := strings.Cut(msg[end+1:], "\n")
			return msg[1:end] + ":" + first
		}
	}
	first, _, _ := strings.Cut(msg, "\n")
	return " " + first
}

// Vars are substituted into queries: {{canary}}, {{stable}}, {{env}}.
type Vars map[string]string

func (v Vars) expand(q string) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q = strings.ReplaceAll(q, "{{"+k+"}}", v[k])
	}
	return q
}

// Measurement is one query and its verdict.
type Measurement struct {
	At      time.Time `json:"at"`
	Values  []float64 `json:"values,omitempty"`
	Verdict Verdict   `json:"verdict"`
	Message string    `json:"message,omitempty"`
}

// MetricResult is a metric's measurements and verdict.
type MetricResult struct {
	Name         string        `json:"name"`
	Verdict      Verdict       `json:"verdict"`
	Message      string        `json:"message,omitempty"`
	Measurements []Measurement `json:"measurements"`
	// Comparison is set for compare metrics: the last U test.
	Comparison *Comparison `json:"comparison,omitempty"`
}

// Comparison is the outcome of one Mann–Whitney U test.
type Comparison struct {
	P              float64 `json:"p"`
	Alpha          float64 `json:"alpha"`
	CanaryN        int     `json:"canaryN"`
	BaselineN      int     `json:"baselineN"`
	CanaryMedian   float64 `json:"canaryMedian"`
	BaselineMedian float64 `json:"baselineMedian"`
}

// Result is a run's verdict and each metric's.
type Result struct {
	Verdict Verdict        `json:"verdict"`
	Metrics []MetricResult `json:"metrics"`
	Started time.Time      `json:"started"`
	Ended   time.Time      `json:"ended"`
}

// Reason summarises why a run did not succeed ("" when it did).
func (r *Result) Reason() string {
	if r.Verdict == Successful {
		return ""
	}
	var parts []string
	for _, m := range r.Metrics {
		if m.Verdict != Successful {
			parts = append(parts, fmt.Sprintf("metric %s %s: %s", m.Name, strings.ToLower(string(m.Verdict)), m.Message))
		}
	}
	return strings.Join(parts, "; ")
}

// Querier runs PromQL. Query returns the values of an instant query
// (one per sample of a vector, or the scalar); QueryRange every point of
// every series of a range query. A query the server rejects as invalid is
// an error wrapping ErrBadQuery.
type Querier interface {
	Query(ctx context.Context, query string, at time.Time) ([]float64, error)
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]float64, error)
}

// ErrBadQuery marks a query that can never succeed (invalid PromQL).
var ErrBadQuery = errors.New("invalid query")

// Options tune a run.
type Options struct {
	// Vars are substituted into queries.
	Vars Vars
	// Sleep waits between measurements (tests make it instant); nil
	// sleeps for real, returning early when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Progress, when set, is called after every measurement.
	Progress func(metric string, m Measurement)
}

func (o *Options) sleep(ctx context.Context, d time.Duration) error {
	if o.Sleep != nil {
		return o.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Preflight runs every query once, so that an invalid query or an
// unreachable Prometheus is found before any traffic moves. It reports
// only errors; the values do not matter.
func (s *Spec) Preflight(ctx context.Context, q Querier, vars Vars) error {
	var errs []error
	for _, m := range s.Metrics {
		queries := []string{m.Query}
		if m.Compare != nil {
			queries = []string{m.Compare.Canary, m.Compare.Baseline}
		}
		for _, query := range queries {
			if _, err := q.Query(ctx, vars.expand(query), time.Now()); err != nil {
				errs = append(errs, fmt.Errorf("metric %s: %w", m.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Run measures every metric and returns the combined verdict. It never
// returns Successful without data.
func (s *Spec) Run(ctx context.Context, q Querier, opts Options) *Result {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := &Result{Started: opts.now(), Metrics: make([]MetricResult, len(s.Metrics))}
	var wg sync.WaitGroup
	for i := range s.Metrics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.Metrics[i] = s.Metrics[i].run(ctx, q, &opts)
			if res.Metrics[i].Verdict == Failed {
				cancel() // no need to wait for the others: roll back now
			}
		}()
	}
	wg.Wait()
	for _, m := range res.Metrics {
		res.Verdict = Worst(res.Verdict, m.Verdict)
	}
	if res.Verdict == "" {
		res.Verdict = Inconclusive
	}
	res.Ended = opts.now()
	return res
}

func (m *Metric) run(ctx context.Context, q Querier, o *Options) MetricResult {
	r := MetricResult{Name: m.Name}
	var failed, inconclusive, consecutiveErrors int
	if m.InitialDelay > 0 {
		if err := o.sleep(ctx, time.Duration(m.InitialDelay)); err != nil {
			r.Verdict, r.Message = Inconclusive, "stopped before the first measurement"
			return r
		}
	}
	for n := 0; n < m.Count; n++ {
		if n > 0 {
			if err := o.sleep(ctx, time.Duration(m.Interval)); err != nil {
				r.Verdict = Inconclusive
				r.Message = fmt.Sprintf("stopped after %d of %d measurements", n, m.Count)
				return r
			}
		}
		var meas Measurement
		if m.Compare != nil {
			var cmp *Comparison
			meas, cmp = m.compare(ctx, q, o)
			if cmp != nil {
				r.Comparison = cmp
			}
		} else {
			meas = m.measure(ctx, q, o)
		}
		r.Measurements = append(r.Measurements, meas)
		if o.Progress != nil {
			o.Progress(m.Name, meas)
		}
		switch meas.Verdict {
		case Failed:
			failed++
			consecutiveErrors = 0
		case Inconclusive:
			inconclusive++
			consecutiveErrors = 0
		case Error:
			consecutiveErrors++
			if strings.Contains(meas.Message, ErrBadQuery.Error()) {
				r.Verdict, r.Message = Error, meas.Message
				return r
			}
		default:
			consecutiveErrors = 0
		}
		if failed > m.FailureLimit {
			r.Verdict = Failed
			r.Message = fmt.Sprintf("%d of %d measurements failed (failureLimit %d); last: %s", failed, n+1, m.FailureLimit, meas.Message)
			return r
		}
		if inconclusive > m.InconclusiveLimit {
			r.Verdict = Inconclusive
			r.Message = fmt.Sprintf("%d of %d measurements inconclusive (inconclusiveLimit %d); last: %s", inconclusive, n+1, m.InconclusiveLimit, meas.Message)
			return r
		}
		if consecutiveErrors > *m.ConsecutiveErrorLimit {
			r.Verdict = Error
			r.Message = fmt.Sprintf("%d query errors in a row (consecutiveErrorLimit %d); last: %s", consecutiveErrors, *m.ConsecutiveErrorLimit, meas.Message)
			return r
		}
	}
	if consecutiveErrors > 0 && consecutiveErrors == len(r.Measurements) {
		r.Verdict, r.Message = Error, "every query failed: "+r.Measurements[len(r.Measurements)-1].Message
		return r
	}
	r.Verdict = Successful
	r.Message = fmt.Sprintf("%d measurements, %d failed, %d inconclusive", len(r.Measurements), failed, inconclusive)
	return r
}

func (m *Metric) measure(ctx context.Context, q Querier, o *Options) Measurement {
	meas := Measurement{At: o.now()}
	vals, err := q.Query(ctx, o.Vars.expand(m.Query), meas.At)
	if err != nil {
		meas.Verdict, meas.Message = Error, err.Error()
		return meas
	}
	meas.Values = vals
	if len(vals) == 0 {
		meas.Verdict, meas.Message = Inconclusive, "no data: the query returned an empty result"
		return meas
	}
	for _, v := range vals {
		if math.IsNaN(v) {
			meas.Values = nil
			meas.Verdict, meas.Message = Inconclusive, "no data: the query returned NaN"
			return meas
		}
	}
	if m.failure != nil {
		bad, err := m.failure.Eval(vals)
		if err != nil {
			meas.Verdict, meas.Message = Error, err.Error()
			return meas
		}
		if bad {
			meas.Verdict, meas.Message = Failed, fmt.Sprintf("result %s: failureCondition %s holds", fmtVals(vals), m.FailureCondition)
			return meas
		}
	}
	if m.success != nil {
		ok, err := m.success.Eval(vals)
		if err != nil {
			meas.Verdict, meas.Message = Error, err.Error()
			return meas
		}
		if !ok {
			meas.Verdict, meas.Message = Failed, fmt.Sprintf("result %s: successCondition %s does not hold", fmtVals(vals), m.SuccessCondition)
			return meas
		}
	}
	meas.Verdict, meas.Message = Successful, fmt.Sprintf("result %s", fmtVals(vals))
	return meas
}

func fmtVals(vals []float64) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprintf("%.4g", v)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "[" + strings.Join(parts, " ") + "]"
}
