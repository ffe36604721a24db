// Package notify sends run notifications: Slack incoming webhooks with a
// Block Kit payload, and generic JSON webhooks signed with HMAC-SHA256
// (X-Shipgate-Signature-256: sha256=<hex>, as GitHub signs its webhooks).
//
// Every send retries with exponential backoff; the caller logs a final
// failure and goes on: a notification never fails a run.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Message is what happened: a run finished or a job waits for approval.
type Message struct {
	// Event is run_succeeded, run_failed, run_cancelled or approval_requested.
	Event       string `json:"event"`
	Status      string `json:"status"`
	Repository  string `json:"repository"`
	Workflow    string `json:"workflow"`
	Ref         string `json:"ref"`
	Actor       string `json:"actor"`
	RunID       int64  `json:"run_id"`
	URL         string `json:"url,omitempty"`
	Environment string `json:"environment,omitempty"`
	Job         string `json:"job,omitempty"`
	Text        string `json:"text,omitempty"`
}

// Target is one configured destination.
type Target struct {
	// Kind is "slack" or "webhook".
	Kind string `yaml:"kind" json:"kind"`
	URL  string `yaml:"url" json:"url"`
	// Secret signs generic webhooks (HMAC-SHA256 of the body).
	Secret string `yaml:"secret" json:"-"`
	// On lists the events sent; empty means all.
	On []string `yaml:"on" json:"on,omitempty"`
}

// Wants reports whether the target takes this event.
func (t Target) Wants(event string) bool {
	if len(t.On) == 0 {
		return true
	}
	for _, e := range t.On {
		if e == event {
			return true
		}
	}
	return false
}

// Sender posts payloads with retries.
type Sender struct {
	Client *http.Client
	// Attempts is the most tries (default 4); Backoff the first wait
	// (default 500ms), doubled each retry.
	Attempts int
	Backoff  time.Duration
}

// Send delivers m to t.
func (s *Sender) Send(ctx context.Context, t Target, m Message) error {
	var body []byte
	var err error
	headers := map[string]string{"Content-Type": "application/json", "User-Agent": "shipgate"}
	switch t.Kind {
	case "slack":
		body, err = json.Marshal(SlackPayload(m))
	case "webhook", "":
		body, err = json.Marshal(m)
		if t.Secret != "" {
			headers["X-Shipgate-Signature-256"] = Sign(t.Secret, body)
		}
		headers["X-Shipgate-Event"] = m.Event
	default:
		return fmt.Errorf("notify: unknown kind %q (want slack or webhook)", t.Kind)
	}
	if err != nil {
		return err
	}
	return s.Post(ctx, t.URL, body, headers)
}

// Post sends body to url, retrying on network errors, 429 and 5xx.
func (s *Sender) Post(ctx context.Context, url string, body []byte, headers map[string]string) error {
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	attempts, backoff := s.Attempts, s.Backoff
	if attempts <= 0 {
		attempts = 4
	}
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("notify %s: %w (last error: %v)", url, ctx.Err(), last)
			case <-time.After(backoff << (i - 1)):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return nil
		}
		last = fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			break
		}
	}
	return fmt.Errorf("notify %s: %v", url, last)
}

// Sign is the signature header value for body: sha256=<hex HMAC>.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// SlackPayload is the Block Kit message for m: a header with the status,
// fields for workflow, ref, actor and repository, and a link to the run.
func SlackPayload(m Message) map[string]any {
	icon := map[string]string{"success": ":white_check_mark:", "failure": ":x:", "cancelled": ":no_entry_sign:", "waiting": ":hourglass:"}[m.Status]
	title := fmt.Sprintf("%s %s: %s", icon, m.Workflow, m.Status)
	if m.Event == "approval_requested" {
		title = fmt.Sprintf(":hourglass: %s waits for approval to deploy to %s", m.Job, m.Environment)
	}
	fields := []map[string]any{
		{"type": "mrkdwn", "text": "*Workflow*\n" + m.Workflow},
		{"type": "mrkdwn", "text": "*Ref*\n" + m.Ref},
		{"type": "mrkdwn", "text": "*Actor*\n" + m.Actor},
		{"type": "mrkdwn", "text": "*Repository*\n" + m.Repository},
	}
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": title}},
		{"type": "section", "fields": fields},
	}
	if m.Text != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": m.Text}})
	}
	if m.URL != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []map[string]any{
			{"type": "button", "text": map[string]any{"type": "plain_text", "text": fmt.Sprintf("Run #%d", m.RunID)}, "url": m.URL},
		}})
	}
	return map[string]any{"text": title, "blocks": blocks}
}
