package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetriesWithBackoff(t *testing.T) {
	var n atomic.Int32
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		times = append(times, time.Now())
		if n.Add(1) < 3 {
			http.Error(w, "busy", 503)
			return
		}
	}))
	defer srv.Close()
	s := &Sender{Attempts: 4, Backoff: 40 * time.Millisecond}
	if err := s.Post(context.Background(), srv.URL, []byte(`{}`), nil); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 {
		t.Fatalf("%d attempts, want 3", n.Load())
	}
	// Backoff doubles: ~40ms then ~80ms.
	if d1, d2 := times[1].Sub(times[0]), times[2].Sub(times[1]); d1 < 40*time.Millisecond || d2 < 80*time.Millisecond {
		t.Fatalf("waits %v, %v", d1, d2)
	}
	// A 4xx other than 429 is not retried; the error names the status.
	n.Store(0)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "invalid_payload", 400)
	}))
	defer bad.Close()
	err := s.Post(context.Background(), bad.URL, []byte(`{}`), nil)
	if err == nil || n.Load() != 1 || !strings.Contains(err.Error(), "HTTP 400: invalid_payload") {
		t.Fatalf("400: %v after %d attempts", err, n.Load())
	}
	// Nothing listening: every attempt fails, the error says so.
	srvURL := srv.URL
	srv.Close()
	if err := (&Sender{Attempts: 2, Backoff: time.Millisecond}).Post(context.Background(), srvURL, nil, nil); err == nil {
		t.Fatal("a closed server accepted a notification")
	}
}

func TestSignedWebhookAndSlack(t *testing.T) {
	var got []byte
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		hdr = r.Header.Clone()
	}))
	defer srv.Close()
	m := Message{Event: "run_failed", Status: "failure", Repository: "acme/app", Workflow: "ci", Ref: "refs/heads/main", Actor: "bob", RunID: 7, URL: "http://x/runs/7"}
	s := &Sender{}
	if err := s.Send(context.Background(), Target{Kind: "webhook", URL: srv.URL, Secret: "k"}, m); err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte("k"))
	mac.Write(got)
	if hdr.Get("X-Shipgate-Signature-256") != "sha256="+hex.EncodeToString(mac.Sum(nil)) || hdr.Get("X-Shipgate-Event") != "run_failed" {
		t.Fatalf("headers %v", hdr)
	}
	var back Message
	if json.Unmarshal(got, &back) != nil || back != m {
		t.Fatalf("body %s", got)
	}
	if err := s.Send(context.Background(), Target{Kind: "slack", URL: srv.URL}, m); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Text   string           `json:"text"`
		Blocks []map[string]any `json:"blocks"`
	}
	json.Unmarshal(got, &p)
	if len(p.Blocks) != 3 || p.Blocks[0]["type"] != "header" || p.Blocks[2]["type"] != "actions" || !strings.Contains(p.Text, "ci: failure") {
		t.Fatalf("slack payload %s", got)
	}
	if err := s.Send(context.Background(), Target{Kind: "pager", URL: srv.URL}, m); err == nil {
		t.Fatal("unknown kind accepted")
	}
	if !(Target{On: []string{"run_failed"}}).Wants("run_failed") || (Target{On: []string{"run_failed"}}).Wants("run_succeeded") || !(Target{}).Wants("x") {
		t.Fatal("Wants")
	}
}
