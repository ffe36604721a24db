package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Check is one HTTP smoke check.
type Check struct {
	Name   string `yaml:"name" json:"name"`
	Method string `yaml:"method" json:"method,omitempty"` // default GET
	// URL is absolute, or a path joined to the environment's URL.
	URL     string            `yaml:"url" json:"url"`
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	Body    string            `yaml:"body" json:"body,omitempty"`
	// Status is the expected status (default 200).
	Status int `yaml:"status" json:"status,omitempty"`
	// Contains must appear in the response body.
	Contains string `yaml:"contains" json:"contains,omitempty"`
	// JSONPath (dotted: result.serverInfo.name) must exist in the JSON
	// body, and equal Equals when that is set.
	JSONPath string `yaml:"jsonPath" json:"jsonPath,omitempty"`
	Equals   string `yaml:"equals" json:"equals,omitempty"`
	// Timeout bounds each attempt (default 5s); Retries more attempts are
	// made after a failure, Backoff apart, doubling (default 3 and 200ms).
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
	Retries *int          `yaml:"retries" json:"retries,omitempty"`
	Backoff time.Duration `yaml:"backoff" json:"backoff,omitempty"`
}

// CheckResult is how a check went.
type CheckResult struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	OK       bool   `json:"ok"`
	Status   int    `json:"status,omitempty"`
	Attempts int    `json:"attempts"`
	Message  string `json:"message,omitempty"`
}

// DefaultChecks are the example service's smoke checks: /health answers,
// and /initialize answers a JSON-RPC initialize with the server's info.
func DefaultChecks() []Check {
	return []Check{
		{Name: "health", URL: "/health", Status: 200, Contains: `"ok"`},
		{Name: "initialize", Method: "POST", URL: "/initialize", Status: 200,
			Headers:  map[string]string{"Content-Type": "application/json"},
			Body:     `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"shipgate","version":"1"}}}`,
			JSONPath: "result.serverInfo.name"},
	}
}

// LoadChecks reads a YAML list of checks (or {checks: [...]}).
func LoadChecks(path string) ([]Check, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var wrapped struct {
		Checks []Check `yaml:"checks"`
	}
	if err := yaml.Unmarshal(data, &wrapped); err == nil && len(wrapped.Checks) > 0 {
		return validChecks(path, wrapped.Checks)
	}
	var list []Check
	if err := yaml.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%s: %s", path, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	return validChecks(path, list)
}

func validChecks(path string, cs []Check) ([]Check, error) {
	var errs []error
	for i, c := range cs {
		if c.URL == "" {
			errs = append(errs, fmt.Errorf("%s: check %d (%s) has no url", path, i+1, c.Name))
		}
		if c.Name == "" {
			cs[i].Name = c.URL
		}
	}
	return cs, errors.Join(errs...)
}

func runSmoke(ctx context.Context, p Provider, plan Plan) ([]CheckResult, error) {
	if len(plan.Smoke) == 0 {
		return nil, nil
	}
	base := plan.SmokeBase
	if base == "" {
		st, err := p.Status(ctx, plan.Env)
		if err != nil {
			return nil, fmt.Errorf("smoke checks: %w", err)
		}
		base = st.URL
	}
	return RunChecks(ctx, base, plan.Smoke)
}

// RunChecks runs checks against base (for relative URLs) and returns an
// error naming every failed check.
func RunChecks(ctx context.Context, base string, checks []Check) ([]CheckResult, error) {
	var res []CheckResult
	var failed []string
	for _, c := range checks {
		r := c.Run(ctx, base)
		res = append(res, r)
		if !r.OK {
			failed = append(failed, fmt.Sprintf("smoke check %s failed after %d attempts: %s", r.Name, r.Attempts, r.Message))
		}
	}
	if len(failed) > 0 {
		return res, errors.New(strings.Join(failed, "; "))
	}
	return res, nil
}

// Run runs the check with its retries.
func (c Check) Run(ctx context.Context, base string) CheckResult {
	url := c.URL
	if !strings.Contains(url, "://") {
		url = strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(url, "/")
	}
	res := CheckResult{Name: c.Name, URL: url}
	retries := 3
	if c.Retries != nil {
		retries = *c.Retries
	}
	backoff := c.Backoff
	if backoff <= 0 {
		backoff = 200 * time.Millisecond
	}
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				res.Message += " (cancelled)"
				return res
			case <-time.After(backoff):
			}
			backoff *= 2
		}
		res.Attempts++
		res.Status, res.Message = c.once(ctx, url)
		if res.Message == "" {
			res.OK = true
			return res
		}
	}
	return res
}

func (c Check) once(ctx context.Context, url string) (int, string) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, err.Error()
	}
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	want := c.Status
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return resp.StatusCode, fmt.Sprintf("%s %s: status %d, want %d", method, url, resp.StatusCode, want)
	}
	if c.Contains != "" && !bytes.Contains(data, []byte(c.Contains)) {
		return resp.StatusCode, fmt.Sprintf("%s %s: body does not contain %q", method, url, c.Contains)
	}
	if c.JSONPath != "" {
		v, err := jsonPath(data, c.JSONPath)
		if err != nil {
			return resp.StatusCode, fmt.Sprintf("%s %s: %v", method, url, err)
		}
		if c.Equals != "" && v != c.Equals {
			return resp.StatusCode, fmt.Sprintf("%s %s: %s is %q, want %q", method, url, c.JSONPath, v, c.Equals)
		}
	}
	return resp.StatusCode, ""
}

// jsonPath looks up a dotted path (a.b.0.c) in a JSON document and returns
// the value as text.
func jsonPath(data []byte, path string) (string, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return "", fmt.Errorf("body is not JSON: %v", err)
	}
	for _, part := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		switch cur := v.(type) {
		case map[string]any:
			next, ok := cur[part]
			if !ok {
				return "", fmt.Errorf("JSON path %s: no %q", path, part)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(cur) {
				return "", fmt.Errorf("JSON path %s: no index %q", path, part)
			}
			v = cur[i]
		default:
			return "", fmt.Errorf("JSON path %s: %q is not an object or array", path, part)
		}
	}
	switch v := v.(type) {
	case string:
		return v, nil
	default:
		b, _ := json.Marshal(v)
		return string(b), nil
	}
}
