package secrets

// acMatcher is an Aho–Corasick automaton over ASCII-case-folded bytes,
// compiled to a dense DFA over byte classes so the scan loop is one table
// lookup per input byte and never allocates. It answers "which keywords occur
// where" for the keyword prefilter: a rule's regex runs only near its
// keywords.
//
// Bytes that occur in no keyword share one class, so the table stays small
// (states × classes) even for a few hundred keywords.
type acMatcher struct {
	classOf  [256]uint16 // byte → class (case-folded)
	nclass   int
	delta    []int32   // state*nclass + class → next state
	out      [][]int32 // state → keyword ids ending here (incl. via suffix links)
	hasOut   []bool
	keywords []string
}

// acHit is one keyword occurrence: the keyword's id and the offset just after
// its last byte.
type acHit struct {
	kw  int32
	end int32
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// newACMatcher builds the automaton for keywords (matched case-insensitively
// for ASCII letters).
func newACMatcher(keywords []string) *acMatcher {
	m := &acMatcher{keywords: keywords}
	// Byte classes: one per distinct folded byte in any keyword, 0 for the rest.
	var seen [256]uint16
	n := 1
	for _, k := range keywords {
		for i := 0; i < len(k); i++ {
			b := lowerASCII(k[i])
			if seen[b] == 0 {
				seen[b] = uint16(n)
				n++
			}
		}
	}
	for c := 0; c < 256; c++ {
		m.classOf[c] = seen[lowerASCII(byte(c))]
	}
	m.nclass = n

	// Trie with goto function.
	type node struct {
		next map[uint16]int32
		out  []int32
	}
	nodes := []node{{next: map[uint16]int32{}}}
	for id, k := range keywords {
		s := int32(0)
		for i := 0; i < len(k); i++ {
			c := m.classOf[k[i]]
			t, ok := nodes[s].next[c]
			if !ok {
				t = int32(len(nodes))
				nodes = append(nodes, node{next: map[uint16]int32{}})
				nodes[s].next[c] = t
			}
			s = t
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	// BFS for failure links, filling the dense DFA as we go.
	ns := len(nodes)
	m.delta = make([]int32, ns*n)
	fail := make([]int32, ns)
	queue := make([]int32, 0, ns)
	for c := 0; c < n; c++ {
		if t, ok := nodes[0].next[uint16(c)]; ok && c != 0 {
			m.delta[c] = t
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		nodes[s].out = append(nodes[s].out, nodes[fail[s]].out...)
		for c := 0; c < n; c++ {
			t, ok := nodes[s].next[uint16(c)]
			if ok && c != 0 {
				fail[t] = m.delta[int(fail[s])*n+c]
				m.delta[int(s)*n+c] = t
				queue = append(queue, t)
			} else {
				m.delta[int(s)*n+c] = m.delta[int(fail[s])*n+c]
			}
		}
	}
	m.out = make([][]int32, ns)
	m.hasOut = make([]bool, ns)
	for i := range nodes {
		m.out[i] = nodes[i].out
		m.hasOut[i] = len(nodes[i].out) > 0
	}
	return m
}

// scan appends every keyword occurrence in text to hits and returns it.
func (m *acMatcher) scan(text []byte, hits []acHit) []acHit {
	if len(m.keywords) == 0 {
		return hits
	}
	n := int32(m.nclass)
	delta, classOf, hasOut := m.delta, &m.classOf, m.hasOut
	s := int32(0)
	for i, b := range text {
		s = delta[s*n+int32(classOf[b])]
		if hasOut[s] {
			for _, kw := range m.out[s] {
				hits = append(hits, acHit{kw: kw, end: int32(i + 1)})
			}
		}
	}
	return hits
}

// contains reports whether any keyword occurs in s (ASCII case-insensitive).
func (m *acMatcher) contains(s string) bool {
	if len(m.keywords) == 0 {
		return false
	}
	n := int32(m.nclass)
	st := int32(0)
	for i := 0; i < len(s); i++ {
		st = m.delta[st*n+int32(m.classOf[s[i]])]
		if m.hasOut[st] {
			return true
		}
	}
	return false
}
