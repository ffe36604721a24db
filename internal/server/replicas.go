package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/store"
)

// Several replicas share one PostgreSQL store: runs are claimed under
// leases (store/lease.go), and the events of a run (log lines, job states)
// reach the dashboards of every replica through PostgreSQL's NOTIFY, so a
// live log follows a job whichever replica runs it.

// eventsChannel is the NOTIFY channel run events travel on.
const eventsChannel = "shipgate_run_events"

// replicaEvent is one run event as sent to the other replicas.
type replicaEvent struct {
	Replica string       `json:"r"`
	Item    int64        `json:"i"`
	Event   engine.Event `json:"e"`
}

// publish hands a run's event to this replica's live subscribers and, on
// PostgreSQL, to the other replicas'.
func (s *Server) publish(id int64, e engine.Event) {
	s.deliver(id, e)
	if s.fanout != nil {
		select {
		case s.fanout <- replicaEvent{Replica: s.replica, Item: id, Event: e}:
		default: // a live view may miss lines under overload; the store has them all
		}
	}
}

// deliver is publish on this replica only.
func (s *Server) deliver(id int64, e engine.Event) {
	s.hub.publish(id, e)
	if e.Type == "item_finished" {
		s.hub.close(id)
	}
}

// sendEvents forwards published events to the other replicas.
func (s *Server) sendEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-s.fanout:
			b, _ := json.Marshal(ev)
			if len(b) > store.NotifyLimit {
				ev.Event.Text = ev.Event.Text[:max(0, len(ev.Event.Text)-(len(b)-store.NotifyLimit)-16)] + " [cut]"
				b, _ = json.Marshal(ev)
			}
			if err := s.db.Notify(ctx, eventsChannel, string(b)); err != nil && ctx.Err() == nil {
				s.log.Printf("replicas: notify: %v", err)
			}
		}
	}
}

// listenReplicas delivers the other replicas' events here, and wakes the
// dispatcher when one of their runs ends (a repository or group may have
// room now).
func (s *Server) listenReplicas(ctx context.Context) {
	s.db.Listen(ctx, eventsChannel, func(payload string) {
		var ev replicaEvent
		if json.Unmarshal([]byte(payload), &ev) != nil || ev.Replica == s.replica {
			return
		}
		s.deliver(ev.Item, ev.Event)
		if ev.Event.Type == "item_finished" {
			s.kick()
		}
	})
}

// leaseLoop renews this replica's leases, cancels what was asked to be
// cancelled (from any replica) or lost (taken over while this replica was
// cut off), and takes over the runs of replicas whose leases ran out.
func (s *Server) leaseLoop(ctx context.Context) {
	every := s.lease / 3
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		asked := time.Now()
		owned, err := s.st.RenewLeases(ctx, s.replica, asked.Add(s.lease))
		if err != nil {
			if ctx.Err() == nil {
				s.log.Printf("replicas: renewing leases: %v", err)
			}
			continue
		}
		s.mu.Lock()
		for id, a := range s.active {
			cancel, held := owned[id]
			switch {
			case !held && a.since.Before(asked):
				s.log.Printf("run %d: lease lost (another replica took it over); stopping it here", id)
				a.cancel()
			case cancel:
				a.cancel()
			}
		}
		s.mu.Unlock()
		if err := s.adoptOrphans(ctx, false); err != nil && ctx.Err() == nil {
			s.log.Printf("replicas: taking over: %v", err)
		}
	}
}
