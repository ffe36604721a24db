package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/store"
)

// runView shows a run as it happens: one JSON event per line (--json),
// plain "[job] line" output (--plain or not a terminal), or a live board of
// jobs with their state and elapsed time, redrawn in place.
type runView struct {
	w       io.Writer
	json    bool
	plain   bool
	verbose bool

	mu      sync.Mutex
	jobs    []*jobLine
	byName  map[string]*jobLine
	total   int
	drawn   int // lines of the board on screen
	last    time.Time
	started time.Time
	stop    chan struct{}
	done    chan struct{}
	tails   map[string][]string // last lines of each job, for failures
}

type jobLine struct {
	name, status string
	jobID        string
	placeholder  bool // queued under the job's name; the first leg takes it over
	start, end   time.Time
	step         string
}

func newRunView(w io.Writer, asJSON, plain, verbose bool) *runView {
	v := &runView{w: w, json: asJSON, plain: plain, verbose: verbose, byName: map[string]*jobLine{},
		started: time.Now(), tails: map[string][]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	if !asJSON && !plain {
		go v.ticker()
	} else {
		close(v.done)
	}
	return v
}

func (v *runView) ticker() {
	defer close(v.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.mu.Lock()
			v.redraw()
			v.mu.Unlock()
		}
	}
}

func (v *runView) close() {
	select {
	case <-v.stop:
	default:
		close(v.stop)
	}
	<-v.done
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.json && !v.plain {
		v.redraw()
	}
}

var statusMark = map[string]string{
	"queued": "·", "running": "▸", store.StatusSuccess: "✓", store.StatusFailure: "✗",
	store.StatusSkipped: "-", store.StatusCancelled: "⊘",
}

// job finds the line for a job or leg. A leg's first event takes over the
// line its job was queued under, so the board keeps plan order.
func (v *runView) job(jobID, name string) *jobLine {
	if j := v.byName[name]; j != nil {
		return j
	}
	for i, j := range v.jobs {
		if j.placeholder && j.jobID == jobID && jobID != "" {
			delete(v.byName, j.name)
			j.name, j.placeholder = name, false
			v.byName[name] = j
			return j
		}
		// Later legs go right after the job's other lines.
		if j.jobID == jobID && jobID != "" && (i+1 == len(v.jobs) || v.jobs[i+1].jobID != jobID) {
			n := &jobLine{name: name, status: "queued", jobID: jobID}
			v.jobs = append(v.jobs[:i+1], append([]*jobLine{n}, v.jobs[i+1:]...)...)
			v.byName[name] = n
			return n
		}
	}
	j := &jobLine{name: name, status: "queued", jobID: jobID}
	v.byName[name] = j
	v.jobs = append(v.jobs, j)
	return j
}

// event is the engine's Sink.
func (v *runView) event(e engine.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.json {
		b, _ := json.Marshal(e)
		fmt.Fprintf(v.w, "%s\n", b)
		return
	}
	switch e.Type {
	case "run_started":
		v.total = e.Total
		if v.plain {
			fmt.Fprintf(v.w, "run %d: %s (%d job(s))\n", e.RunID, e.Text, e.Total)
		}
	case "job_queued":
		v.job(e.JobID, e.Job).placeholder = true
	case "job_started":
		j := v.job(e.JobID, e.Job)
		j.status, j.start = "running", e.Time
		if v.plain {
			fmt.Fprintf(v.w, "[%s] started\n", e.Job)
		}
	case "step_started":
		v.job(e.JobID, e.Job).step = e.Step
	case "log":
		t := append(v.tails[e.Job], e.Text)
		if len(t) > 30 {
			t = t[len(t)-30:]
		}
		v.tails[e.Job] = t
		if v.plain {
			fmt.Fprintf(v.w, "[%s] %s\n", e.Job, e.Text)
		}
	case "debug":
		if v.verbose {
			v.print(fmt.Sprintf("[%s] ##[debug]%s", e.Job, e.Text))
		}
	case "annotation":
		if !v.plain {
			where := ""
			if e.File != "" {
				where = fmt.Sprintf(" %s:%d:%d", e.File, e.Line, e.Col)
			}
			v.print(fmt.Sprintf("[%s] %s%s: %s", e.Job, e.Level, where, e.Text))
		}
	case "job_finished":
		j := v.job(e.JobID, e.Job)
		j.status, j.end = e.Status, e.Time
		if j.start.IsZero() {
			j.start = e.Time
		}
		if v.plain {
			extra := ""
			if e.Text != "" {
				extra = " (" + e.Text + ")"
			}
			fmt.Fprintf(v.w, "[%s] %s %s in %s%s\n", e.Job, statusMark[e.Status], e.Status, dur(j.end.Sub(j.start)), extra)
		}
	case "run_finished":
	}
	if !v.plain && time.Since(v.last) > 100*time.Millisecond {
		v.redraw()
	}
}

// print writes a line above the live board.
func (v *runView) print(line string) {
	if v.plain {
		fmt.Fprintln(v.w, line)
		return
	}
	v.clear()
	fmt.Fprintln(v.w, line)
	v.redraw()
}

func (v *runView) clear() {
	if v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\x1b[J", v.drawn)
		v.drawn = 0
	}
}

func (v *runView) redraw() {
	if v.plain || v.json {
		return
	}
	v.clear()
	done := 0
	var b strings.Builder
	for _, j := range v.jobs {
		el := time.Duration(0)
		switch {
		case !j.end.IsZero():
			el = j.end.Sub(j.start)
			done++
		case !j.start.IsZero():
			el = time.Since(j.start)
		}
		step := ""
		if j.status == "running" && j.step != "" {
			step = "  " + truncate(j.step, 50)
		}
		fmt.Fprintf(&b, "%s %-40s %-9s %6s%s\n", statusMark[j.status], truncate(j.name, 40), j.status, dur(el), step)
	}
	fmt.Fprintf(&b, "%d/%d jobs done · %s\n", done, max(v.total, len(v.jobs)), dur(time.Since(v.started)))
	io.WriteString(v.w, b.String())
	v.drawn = strings.Count(b.String(), "\n")
	v.last = time.Now()
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func dur(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// summary prints the table of jobs, the failed jobs' last lines (live view
// only: plain output already showed them) and the step summaries.
func (v *runView) summary(res *engine.Result) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.plain {
		for _, j := range res.Jobs {
			if j.Status == store.StatusFailure && len(v.tails[j.Name]) > 0 {
				fmt.Fprintf(v.w, "\n── %s (last lines) ──\n%s\n", j.Name, strings.Join(v.tails[j.Name], "\n"))
			}
		}
	}
	fmt.Fprintln(v.w)
	tw := tabwriter.NewWriter(v.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSTATUS\tTIME")
	for _, j := range res.Jobs {
		status := j.Status
		if j.Reused {
			status += " (reused)"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\n", j.Name, statusMark[j.Status], status, dur(j.Elapsed))
	}
	tw.Flush()
	for _, s := range res.Summaries {
		fmt.Fprintf(v.w, "\n── summary: %s ──\n%s", s.Job, s.Markdown)
		if !strings.HasSuffix(s.Markdown, "\n") {
			fmt.Fprintln(v.w)
		}
	}
	fmt.Fprintf(v.w, "\nrun %d: %s in %s · logs: shipgate logs %d\n", res.RunID, res.Status, dur(res.Elapsed), res.RunID)
}
