package secrets

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Baseline is detect-secrets' .secrets.baseline file: secrets already known,
// by file name and SHA-1 of the secret, so that only new ones fail the gate.
// Fields shipgate does not use (plugins, filters, word lists...) are kept
// as they were read.
type Baseline struct {
	Version     string                      `json:"version"`
	PluginsUsed json.RawMessage             `json:"plugins_used,omitempty"`
	FiltersUsed json.RawMessage             `json:"filters_used,omitempty"`
	Results     map[string][]BaselineSecret `json:"results"`
	GeneratedAt string                      `json:"generated_at,omitempty"`
	// Extra holds any other top-level keys, written back unchanged.
	Extra map[string]json.RawMessage `json:"-"`
}

// BaselineSecret is one entry of a baseline's results.
type BaselineSecret struct {
	Type         string `json:"type"`
	Filename     string `json:"filename"`
	HashedSecret string `json:"hashed_secret"`
	IsVerified   bool   `json:"is_verified"`
	LineNumber   int    `json:"line_number,omitempty"`
	// IsSecret is set by `detect-secrets audit`: false marks a false positive.
	IsSecret *bool `json:"is_secret,omitempty"`
}

// baselineVersion is the detect-secrets format version written.
const baselineVersion = "1.5.0"

// ParseBaseline reads a .secrets.baseline. Errors carry name:line:col.
func ParseBaseline(data []byte, name string) (*Baseline, error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&top); err != nil {
		return nil, jsonError(data, name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: unexpected data after the JSON object", name)
	}
	if top == nil {
		return nil, fmt.Errorf("%s: not a detect-secrets baseline (want a JSON object)", name)
	}
	b := &Baseline{Results: map[string][]BaselineSecret{}, Extra: map[string]json.RawMessage{}}
	for k, v := range top {
		var err error
		switch k {
		case "version":
			err = json.Unmarshal(v, &b.Version)
		case "plugins_used":
			b.PluginsUsed = v
		case "filters_used":
			b.FiltersUsed = v
		case "generated_at":
			err = json.Unmarshal(v, &b.GeneratedAt)
		case "results":
			err = json.Unmarshal(v, &b.Results)
		default:
			b.Extra[k] = v
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %v", name, k, err)
		}
	}
	if _, ok := top["results"]; !ok {
		return nil, fmt.Errorf("%s: not a detect-secrets baseline (no \"results\")", name)
	}
	if b.Results == nil {
		b.Results = map[string][]BaselineSecret{}
	}
	for file, list := range b.Results {
		for i, s := range list {
			if s.HashedSecret == "" {
				return nil, fmt.Errorf("%s: results[%q][%d]: no hashed_secret", name, file, i)
			}
		}
	}
	return b, nil
}

// jsonError positions a JSON decoding error as name:line:col.
func jsonError(data []byte, name string, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = max(se.Offset-1, 0) // Offset counts the offending byte

	case errors.As(err, &te):
		off = te.Offset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		off = int64(len(data))
		err = errors.New("unexpected end of JSON input")
	}
	if off < 0 {
		return fmt.Errorf("%s: %v", name, err)
	}
	off = min(off, int64(len(data)))
	line := bytes.Count(data[:off], []byte{'\n'}) + 1
	col := int(off) - (bytes.LastIndexByte(data[:off], '\n') + 1) + 1
	return fmt.Errorf("%s:%d:%d: %v", name, line, col, err)
}

// Known reports whether the baseline lists the finding's secret in its file.
// Like detect-secrets, the line number does not matter (the secret may move);
// unlike it, the type does not either, since shipgate's rule ids are not
// detect-secrets' plugin names.
func (b *Baseline) Known(f Finding) bool {
	if b == nil {
		return false
	}
	for _, s := range b.Results[f.File] {
		if strings.EqualFold(s.HashedSecret, f.hashed) {
			return true
		}
	}
	return false
}

// Update returns a baseline listing exactly the findings, keeping the audit
// flags (is_secret, is_verified) and the other fields of b when it is set.
func (b *Baseline) Update(findings []Finding, now time.Time) *Baseline {
	out := &Baseline{Version: baselineVersion, Results: map[string][]BaselineSecret{}}
	old := map[[2]string]BaselineSecret{}      // by file and hash
	oldTyped := map[[3]string]BaselineSecret{} // by file, hash and type
	if b != nil {
		if b.Version != "" {
			out.Version = b.Version
		}
		out.PluginsUsed, out.FiltersUsed, out.Extra = b.PluginsUsed, b.FiltersUsed, b.Extra
		for file, list := range b.Results {
			for _, s := range list {
				old[[2]string{file, strings.ToLower(s.HashedSecret)}] = s
				oldTyped[[3]string{file, strings.ToLower(s.HashedSecret), s.Type}] = s
			}
		}
	}
	seen := map[[3]string]bool{}
	for _, f := range findings {
		if f.hashed == "" {
			continue
		}
		key := [3]string{f.File, f.hashed, f.RuleID}
		if seen[key] {
			continue
		}
		seen[key] = true
		s := BaselineSecret{Type: f.RuleID, Filename: f.File, HashedSecret: f.hashed, LineNumber: f.Line}
		o, ok := oldTyped[[3]string{f.File, f.hashed, f.RuleID}]
		if !ok {
			o, ok = old[[2]string{f.File, f.hashed}]
		}
		if ok {
			s.IsVerified, s.IsSecret = o.IsVerified, o.IsSecret
			if o.Type != "" {
				s.Type = o.Type
			}
		}
		out.Results[f.File] = append(out.Results[f.File], s)
	}
	for _, list := range out.Results {
		slices.SortFunc(list, func(a, b BaselineSecret) int {
			return cmp.Or(cmp.Compare(a.LineNumber, b.LineNumber), cmp.Compare(a.HashedSecret, b.HashedSecret), cmp.Compare(a.Type, b.Type))
		})
	}
	out.GeneratedAt = now.UTC().Format("2006-01-02T15:04:05Z")
	return out
}

// SameResults reports whether two baselines list the same secrets.
func (b *Baseline) SameResults(o *Baseline) bool {
	if b == nil || o == nil {
		return b == o
	}
	x, _ := json.Marshal(b.Results)
	y, _ := json.Marshal(o.Results)
	return bytes.Equal(x, y)
}

// Write prints the baseline as detect-secrets does: two-space indented JSON,
// keys in its order, results sorted by file.
func (b *Baseline) Write(w io.Writer) error {
	var buf bytes.Buffer
	buf.WriteString("{\n")
	field := func(k string, v any, last bool) error {
		raw, err := marshalIndent(v, "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(&buf, "  %q: %s", k, raw)
		if !last {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
		return nil
	}
	type kv struct {
		k string
		v any
	}
	var fields []kv
	fields = append(fields, kv{"version", b.Version})
	if len(b.PluginsUsed) > 0 {
		fields = append(fields, kv{"plugins_used", b.PluginsUsed})
	}
	if len(b.FiltersUsed) > 0 {
		fields = append(fields, kv{"filters_used", b.FiltersUsed})
	}
	extra := make([]string, 0, len(b.Extra))
	for k := range b.Extra {
		extra = append(extra, k)
	}
	slices.Sort(extra)
	for _, k := range extra {
		fields = append(fields, kv{k, b.Extra[k]})
	}
	results := b.Results
	if results == nil {
		results = map[string][]BaselineSecret{}
	}
	fields = append(fields, kv{"results", results})
	if b.GeneratedAt != "" {
		fields = append(fields, kv{"generated_at", b.GeneratedAt})
	}
	for i, f := range fields {
		if err := field(f.k, f.v, i == len(fields)-1); err != nil {
			return err
		}
	}
	buf.WriteString("}\n")
	_, err := w.Write(buf.Bytes())
	return err
}

func marshalIndent(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
