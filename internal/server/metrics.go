package server

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/store"
)

// metrics are the server's Prometheus metrics, on their own registry.
type metrics struct {
	reg           *prometheus.Registry
	webhooks      *prometheus.CounterVec
	logins        *prometheus.CounterVec
	started       prometheus.Counter
	finished      *prometheus.CounterVec
	jobs          *prometheus.CounterVec
	waiting       prometheus.Gauge
	notifications *prometheus.CounterVec
	requests      *prometheus.HistogramVec
	accept        prometheus.Histogram
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipgate_webhook_deliveries_total", Help: "Webhook deliveries by result: accepted, duplicate, ignored, rejected at the door; queued or error when expanded into runs."}, []string{"result"})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipgate_logins_total", Help: "Dashboard logins by result (ok, failed, limited)."}, []string{"result"})
	m.started = prometheus.NewCounter(prometheus.CounterOpts{Name: "shipgate_runs_started_total", Help: "Run attempts started."})
	m.finished = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipgate_runs_finished_total", Help: "Runs finished by status."}, []string{"status"})
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipgate_jobs_finished_total", Help: "Jobs finished by status."}, []string{"status"})
	m.waiting = prometheus.NewGauge(prometheus.GaugeOpts{Name: "shipgate_approvals_waiting", Help: "Jobs waiting for an environment approval."})
	m.notifications = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipgate_notifications_total", Help: "Notifications by result (sent, failed)."}, []string{"result"})
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shipgate_http_request_duration_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route", "code"})
	m.accept = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shipgate_webhook_to_queue_seconds", Help: "Time from a delivery's receipt to its runs being queued.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)})
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shipgate_queue_depth", Help: "Runs queued and not started."}, func() float64 {
		items, _ := s.st.QueuedItems(context.Background())
		return float64(len(items))
	})
	running := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shipgate_runs_running", Help: "Runs executing now."}, func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return float64(len(s.active))
	})
	m.reg.MustRegister(m.webhooks, m.logins, m.started, m.finished, m.jobs, m.waiting, m.notifications, m.requests, m.accept, queued, running,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) event(e engine.Event) {
	if e.Type == "job_finished" && e.Status != "" {
		m.jobs.WithLabelValues(e.Status).Inc()
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// hub fans engine events of each run out to live subscribers (SSE), and
// keeps the events of a running attempt so a late subscriber sees them.
type hub struct {
	mu      sync.Mutex
	streams map[int64]*stream
}

type stream struct {
	events []engine.Event
	subs   map[chan engine.Event]struct{}
	closed bool
}

const hubBacklog = 20000

func newHub() *hub { return &hub{streams: map[int64]*stream{}} }

func (h *hub) get(id int64) *stream {
	st := h.streams[id]
	if st == nil || (st.closed && len(st.subs) == 0) {
		st = &stream{subs: map[chan engine.Event]struct{}{}}
		h.streams[id] = st
	}
	return st
}

func (h *hub) publish(id int64, e engine.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.get(id)
	if e.Type == "run_started" {
		st.events = nil // a new attempt
	}
	if len(st.events) < hubBacklog {
		st.events = append(st.events, e)
	}
	for ch := range st.subs {
		select {
		case ch <- e:
		default: // a slow client misses lines rather than stall the run
		}
	}
}

// close ends a run's stream: subscribers get the channel closed.
func (h *hub) close(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.streams[id]
	if st == nil {
		return
	}
	st.closed = true
	for ch := range st.subs {
		close(ch)
	}
	st.subs = map[chan engine.Event]struct{}{}
	delete(h.streams, id)
}

// subscribe returns the backlog and a channel of what follows.
func (h *hub) subscribe(id int64) ([]engine.Event, chan engine.Event, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.get(id)
	ch := make(chan engine.Event, 4096)
	st.subs[ch] = struct{}{}
	backlog := slices.Clone(st.events)
	return backlog, ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := st.subs[ch]; ok {
			delete(st.subs, ch)
			close(ch)
		}
	}
}

// finishedStatus reports whether a queue status is final.
func finishedStatus(s string) bool {
	return s != store.StatusQueued && s != store.StatusRunning
}

func sortStrings(s []string) { slices.Sort(s) }
