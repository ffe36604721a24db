package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/shipgate/shipgate/internal/notify"
)

// The Slack actions seen in real pipelines send through internal/notify
// (retries with backoff). As the issue asks, a failed notification does
// not fail the step unless the workflow says so (slack-github-action's
// `errors: true`); it is logged as a warning.
func init() {
	builtins["slackapi/slack-github-action"] = slackGitHubAction
	builtins["8398a7/action-slack"] = actionSlack
}

// notifySender is the sender the Slack actions use (tests shorten its backoff).
var notifySender = &notify.Sender{Attempts: 3, Backoff: time.Second}

// slackGitHubAction is slackapi/slack-github-action: v1 (env
// SLACK_WEBHOOK_URL, inputs payload / payload-file-path / slack-message)
// and v2 (inputs webhook, webhook-type: incoming-webhook, payload as JSON
// or YAML, errors). Only incoming webhooks: the Slack Web API method
// (`method:` with a bot token) would need the network to slack.com in a
// form we do not implement; it is an error that says so.
func slackGitHubAction(ctx context.Context, e *Env) (*Result, error) {
	if m := e.Input("method", ""); m != "" {
		return nil, fmt.Errorf("slackapi/slack-github-action: method %q (Slack Web API) is not supported; use an incoming webhook (webhook + webhook-type: incoming-webhook)", m)
	}
	url := e.Input("webhook", e.Environ["SLACK_WEBHOOK_URL"])
	if url == "" {
		return nil, fmt.Errorf("slackapi/slack-github-action: no webhook: set the webhook input or SLACK_WEBHOOK_URL")
	}
	var payload any
	raw := e.Input("payload", "")
	if p := e.Input("payload-file-path", ""); p != "" {
		if !filepath.IsAbs(p) {
			p = filepath.Join(e.Workspace, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("slackapi/slack-github-action: payload-file-path: %w", err)
		}
		raw = string(b)
	}
	switch {
	case strings.TrimSpace(raw) != "":
		if err := json.Unmarshal([]byte(raw), &payload); err != nil {
			// v2 accepts YAML too.
			if yerr := yaml.Unmarshal([]byte(raw), &payload); yerr != nil {
				return nil, fmt.Errorf("slackapi/slack-github-action: payload is neither JSON (%v) nor YAML (%v)", err, yerr)
			}
		}
	case e.Input("slack-message", "") != "":
		payload = map[string]any{"text": e.Input("slack-message", "")}
	default:
		return nil, fmt.Errorf("slackapi/slack-github-action: give a payload, payload-file-path or slack-message")
	}
	return postSlack(ctx, e, url, payload, e.Input("errors", "false") == "true")
}

// actionSlack is 8398a7/action-slack: status (success, failure,
// cancelled, custom), text, fields, custom_payload; the webhook from
// SLACK_WEBHOOK_URL. The message is notify's Block Kit layout.
func actionSlack(ctx context.Context, e *Env) (*Result, error) {
	url := e.Environ["SLACK_WEBHOOK_URL"]
	if url == "" {
		url = e.Input("webhook_url", "")
	}
	if url == "" {
		return nil, fmt.Errorf("8398a7/action-slack: SLACK_WEBHOOK_URL is not set")
	}
	status := strings.ToLower(e.Input("status", ""))
	var payload any
	if status == "custom" {
		if err := json.Unmarshal([]byte(e.Input("custom_payload", "")), &payload); err != nil {
			return nil, fmt.Errorf("8398a7/action-slack: custom_payload must be JSON here (the JavaScript object form is not evaluated): %v", err)
		}
	} else {
		if status == "" {
			return nil, fmt.Errorf("8398a7/action-slack: the status input is required (success, failure, cancelled or custom)")
		}
		m := notify.Message{Event: "run_" + status, Status: status, Repository: e.Environ["GITHUB_REPOSITORY"], Workflow: e.Environ["GITHUB_WORKFLOW"],
			Ref: e.Environ["GITHUB_REF"], Actor: e.Environ["GITHUB_ACTOR"], Text: e.Input("text", "")}
		if id := e.Environ["GITHUB_RUN_ID"]; id != "" {
			fmt.Sscan(id, &m.RunID)
		}
		p := notify.SlackPayload(m)
		for k, in := range map[string]string{"channel": "channel", "username": "username", "icon_emoji": "icon_emoji"} {
			if v := e.Input(in, ""); v != "" {
				p[k] = v
			}
		}
		payload = p
	}
	return postSlack(ctx, e, url, payload, false)
}

func postSlack(ctx context.Context, e *Env, url string, payload any, strict bool) (*Result, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	err = notifySender.Post(ctx, url, body, map[string]string{"Content-Type": "application/json"})
	if err != nil {
		if strict {
			return nil, err
		}
		e.Log("::warning::the Slack notification failed (the step goes on): %v", err)
		return &Result{Outputs: map[string]string{"ok": "false"}}, nil
	}
	e.Log("sent the Slack notification")
	return &Result{Outputs: map[string]string{"ok": "true", "time": fmt.Sprint(time.Now().Unix())}}, nil
}
