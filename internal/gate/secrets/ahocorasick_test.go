package secrets

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestACMatcher compares the automaton with a naive search, case folding
// included, on overlapping keywords.
func TestACMatcher(t *testing.T) {
	kws := []string{"he", "she", "his", "hers", "key", "api_key", "ghp_", "a"}
	m := newACMatcher(kws)
	text := "uShers API_KEY=ghp_x; HIS keys: Hershey"
	var got []string
	for _, h := range m.scan([]byte(text), nil) {
		got = append(got, kws[h.kw]+"@"+itoa(int(h.end)))
	}
	var want []string
	lower := strings.ToLower(text)
	for end := 1; end <= len(text); end++ {
		for _, k := range kws {
			if end >= len(k) && lower[end-len(k):end] == k {
				want = append(want, k+"@"+itoa(end))
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if !m.contains("xxHISxx") || m.contains("xyz") {
		t.Error("contains")
	}
	// Every byte value in keywords: more classes than fit a byte.
	var all []string
	for c := 0; c < 256; c++ {
		all = append(all, string([]byte{byte(c), 'z'}))
	}
	m = newACMatcher(all)
	if hits := m.scan([]byte{0xff, 'z'}, nil); len(hits) != 1 {
		t.Errorf("256 keywords: %v", hits)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
