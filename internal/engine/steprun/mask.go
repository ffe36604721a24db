package steprun

import (
	"cmp"
	"slices"
	"strings"
	"sync"
)

// Masker replaces secret values with "***". It is safe for concurrent use
// and shared by every step of a run, so a mask added by one step
// (::add-mask::) hides the value everywhere from then on.
type Masker struct {
	mu       sync.RWMutex
	values   map[string]bool
	replacer *strings.Replacer
}

// NewMasker returns a masker for the given secret values.
func NewMasker(values ...string) *Masker {
	m := &Masker{values: map[string]bool{}}
	for _, v := range values {
		m.Add(v)
	}
	return m
}

// Add registers a secret. A multi-line value is also registered line by
// line, so each line is hidden wherever output is split into lines.
// Values that are empty or only whitespace are ignored (masking them would
// hide every space).
func (m *Masker) Add(value string) {
	value = strings.ReplaceAll(value, "\r\n", "\n")
	parts := []string{value}
	if strings.Contains(value, "\n") {
		parts = append(parts, strings.Split(value, "\n")...)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	changed := false
	for _, p := range parts {
		if strings.TrimSpace(p) == "" || m.values[p] {
			continue
		}
		// Also hide the trimmed form: a secret file often ends a line with spaces.
		m.values[p] = true
		if t := strings.TrimSpace(p); t != p {
			m.values[t] = true
		}
		changed = true
	}
	if !changed {
		return
	}
	vals := make([]string, 0, len(m.values))
	for v := range m.values {
		vals = append(vals, v)
	}
	// Longest first so a secret containing another is masked whole.
	slices.SortFunc(vals, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), cmp.Compare(a, b))
	})
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, "***")
	}
	m.replacer = strings.NewReplacer(pairs...)
}

// Mask returns s with every registered secret replaced by "***".
func (m *Masker) Mask(s string) string {
	if m == nil {
		return s
	}
	m.mu.RLock()
	r := m.replacer
	m.mu.RUnlock()
	if r == nil {
		return s
	}
	return r.Replace(s)
}

// Len is the number of registered values (for tests and --verbose).
func (m *Masker) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.values)
}
