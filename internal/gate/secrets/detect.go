package secrets

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"math"
	"regexp"
	"slices"
	"strings"
)

// Detector runs a compiled Config over fragments of text. It is safe for
// concurrent use; per-goroutine state lives in a scratch value.
type Detector struct {
	cfg     *Config
	rules   []*Rule
	byID    map[string]int
	ac      *acMatcher
	kwRules [][]int32 // keyword id → indices of rules that list it
	always  []int32   // rules with a regex and no keywords: run on every fragment
	paths   []int32   // path-only rules (no regex)
	// FullScan disables the keyword windows: each triggered rule's regex runs
	// over the whole fragment, exactly as gitleaks does. Tests use it to
	// check the windows change no result.
	FullScan bool
	// NoDecode skips the decode pass (base64, percent and hex encoded text
	// decoded and scanned again; see decode.go).
	NoDecode bool
}

// NewDetector compiles the keyword prefilter for cfg.
func NewDetector(cfg *Config) *Detector {
	d := &Detector{cfg: cfg, rules: cfg.Rules, byID: map[string]int{}}
	kwID := map[string]int32{}
	var kws []string
	for i, r := range cfg.Rules {
		d.byID[r.ID] = i
		if r.Regex == nil {
			if r.Path != nil {
				d.paths = append(d.paths, int32(i))
			}
			continue
		}
		if r.SkipReport {
			continue
		}
		if len(r.Keywords) == 0 {
			d.always = append(d.always, int32(i))
			continue
		}
		for _, k := range r.Keywords {
			id, ok := kwID[k]
			if !ok {
				id = int32(len(kws))
				kwID[k] = id
				kws = append(kws, k)
				d.kwRules = append(d.kwRules, nil)
			}
			if !slices.Contains(d.kwRules[id], int32(i)) {
				d.kwRules[id] = append(d.kwRules[id], int32(i))
			}
		}
	}
	d.ac = newACMatcher(kws)
	return d
}

// Config is the rule set the detector runs.
func (d *Detector) Config() *Config { return d.cfg }

// fragment is a piece of text to scan and where it came from.
type fragment struct {
	data      []byte
	path      string
	commit    string
	startLine int // line number of data[0], 1-based
	// Only matches starting in [from, to) are reported (chunk ownership).
	from, to int
}

// candidate is a match before it is reported. It holds the secret, which
// never leaves this package: toFinding hashes and redacts it.
type candidate struct {
	rule        *Rule
	start, end  int // byte offsets of the match in the fragment
	line        int // 1-based
	col, endCol int
	secret      string
	match       string
	entropy     float64
}

// maxWindow bounds how far a keyword window grows by absorbing the lines of
// nearby hits before it is run and a new one started.
const maxWindow = 1024

// scratch is per-goroutine working memory, reused across fragments.
type scratch struct {
	hits    []acHit
	winS    []int32
	winE    []int32
	lastEnd []int32 // per rule: end of its last match (matches never overlap)
	active  []bool
	touched []int32
	state   []uint8 // per rule: 0 unknown, 1 runs, 2 skipped for this fragment
	whole   []bool
	cands   []candidate
	inner   *scratch // for the decode pass, one level down
}

func (d *Detector) newScratch() *scratch {
	n := len(d.rules)
	return &scratch{
		winS: make([]int32, n), winE: make([]int32, n), lastEnd: make([]int32, n), active: make([]bool, n),
		state: make([]uint8, n), whole: make([]bool, n),
	}
}

// ruleApplies reports (and caches per fragment) whether rule i may run on fr:
// its path pattern matches and no allowlist of its drops the fragment.
func (d *Detector) ruleApplies(st *scratch, i int32, fr *fragment) bool {
	switch st.state[i] {
	case 1:
		return true
	case 2:
		return false
	}
	r := d.rules[i]
	ok := !(r.Path != nil && !r.Path.MatchString(fr.path)) &&
		!allowedByPathOrCommit(r.Allowlists, fr.path, fr.commit)
	st.touched = append(st.touched, i)
	if ok {
		st.state[i] = 1
	} else {
		st.state[i] = 2
	}
	return ok
}

// scanFragment finds the candidates in fr and appends them to st.cands.
func (d *Detector) scanFragment(st *scratch, fr *fragment) {
	data := fr.data
	for _, i := range st.touched {
		st.state[i], st.active[i], st.whole[i], st.lastEnd[i] = 0, false, false, 0
	}
	st.touched = st.touched[:0]

	st.hits = d.ac.scan(data, st.hits[:0])
	lineS, lineE := -1, -1
	for _, h := range st.hits {
		kstart := int(h.end) - len(d.ac.keywords[h.kw])
		if kstart < lineS || kstart >= lineE {
			lineS = bytes.LastIndexByte(data[:kstart], '\n') + 1
			if j := bytes.IndexByte(data[kstart:], '\n'); j >= 0 {
				lineE = kstart + j
			} else {
				lineE = len(data)
			}
		}
		for _, ri := range d.kwRules[h.kw] {
			if !d.ruleApplies(st, ri, fr) {
				continue
			}
			r := d.rules[ri]
			if r.window == windowWhole || d.FullScan {
				st.whole[ri] = true
				continue
			}
			we := lineE
			for k := 0; k < r.extra && we < len(data); k++ {
				if j := bytes.IndexByte(data[we+1:], '\n'); j >= 0 {
					we = we + 1 + j
				} else {
					we = len(data)
				}
			}
			if we < len(data) {
				we++ // keep the newline so that $ means what it means in the whole text
			}
			// Extend the open window when this line touches it, unless it
			// has grown past maxWindow: small windows keep Go's regexp on
			// its backtracker, much faster than its NFA on long inputs.
			if st.active[ri] && int32(lineS) <= st.winE[ri] {
				if int32(we) <= st.winE[ri] {
					continue // already covered
				}
				if st.winE[ri]-st.winS[ri] < maxWindow {
					st.winE[ri] = int32(we)
					continue
				}
			}
			if st.active[ri] {
				d.runRegex(st, ri, fr, int(st.winS[ri]), int(st.winE[ri]))
			}
			st.active[ri], st.winS[ri], st.winE[ri] = true, int32(lineS), int32(we)
		}
	}
	for _, ri := range st.touched {
		if st.active[ri] {
			d.runRegex(st, ri, fr, int(st.winS[ri]), int(st.winE[ri]))
			st.active[ri] = false
		}
		if st.whole[ri] {
			d.runRegex(st, ri, fr, 0, len(data))
		}
	}
	for _, ri := range d.always {
		if d.ruleApplies(st, ri, fr) {
			d.runRegex(st, ri, fr, 0, len(data))
		}
	}
}

// runRegex runs rule ri's regex over data[ws:we] and records candidates.
func (d *Detector) runRegex(st *scratch, ri int32, fr *fragment, ws, we int) {
	r := d.rules[ri]
	for _, m := range r.Regex.FindAllIndex(fr.data[ws:we], -1) {
		s, e := ws+m[0], ws+m[1]
		if int32(s) < st.lastEnd[ri] {
			continue // inside a match an earlier window found
		}
		st.lastEnd[ri] = int32(e)
		if s < fr.from || s >= fr.to {
			continue
		}
		if c, ok := d.candidateAt(r, fr, s, e); ok {
			st.cands = append(st.cands, c)
		}
	}
}

// allowSignatures are the inline comments that allow a line.
var allowSignatures = []string{"gitleaks:allow", "shipgate:allow", "pragma: allowlist secret"}

// nextLineSignature on a line allows the line after it (detect-secrets).
const nextLineSignature = "pragma: allowlist nextline secret"

func lineAllowed(line []byte) bool {
	for _, s := range allowSignatures {
		if bytes.Contains(line, []byte(s)) {
			return true
		}
	}
	return false
}

// candidateAt turns the match data[s:e] into a candidate the way gitleaks
// does: secret group, entropy, inline allow comments, allowlists.
func (d *Detector) candidateAt(r *Rule, fr *fragment, s, e int) (candidate, bool) {
	data := fr.data
	raw := data[s:e]
	trimmed := bytes.Trim(raw, "\n")
	e = s + len(trimmed)
	ls := bytes.LastIndexByte(data[:s], '\n') + 1
	le := len(data)
	if j := bytes.IndexByte(data[e:], '\n'); j >= 0 {
		le = e + j
	}
	if le < ls {
		le = ls
	}
	line := data[ls:le]
	if lineAllowed(line) {
		return candidate{}, false
	}
	if ls > 0 {
		ps := bytes.LastIndexByte(data[:ls-1], '\n') + 1
		if bytes.Contains(data[ps:ls-1], []byte(nextLineSignature)) {
			return candidate{}, false
		}
	}
	match := string(trimmed)
	secret := match
	if r.Regex.NumSubexp() > 0 {
		groups := r.Regex.FindStringSubmatch(match)
		if len(groups) >= 2 {
			if r.SecretGroup > 0 {
				if len(groups) <= r.SecretGroup {
					return candidate{}, false
				}
				secret = groups[r.SecretGroup]
			} else {
				for _, g := range groups[1:] {
					if g != "" {
						secret = g
						break
					}
				}
			}
		}
	}
	ent := shannonEntropy(secret)
	if r.Entropy != 0 && ent <= r.Entropy {
		return candidate{}, false
	}
	lineStr := string(line)
	if allowedFinding(d.cfg.Allowlists, secret, match, lineStr, fr.path, fr.commit) ||
		allowedFinding(r.Allowlists, secret, match, lineStr, fr.path, fr.commit) {
		return candidate{}, false
	}
	lineNo := fr.startLine + bytes.Count(data[:s], []byte{'\n'})
	endLS := bytes.LastIndexByte(data[:e], '\n') + 1
	return candidate{
		rule: r, start: s, end: e, line: lineNo,
		col: s - ls + 1, endCol: e - endLS,
		secret: secret, match: match, entropy: ent,
	}, true
}

// shannonEntropy is gitleaks' entropy: runes counted, bytes as the length.
func shannonEntropy(s string) float64 {
	if s == "" {
		return 0
	}
	var ascii [128]int
	var other map[rune]int
	for _, c := range s {
		if c < 128 {
			ascii[c]++
		} else {
			if other == nil {
				other = map[rune]int{}
			}
			other[c]++
		}
	}
	inv := 1 / float64(len(s))
	h := 0.0
	for _, n := range ascii {
		if n > 0 {
			f := float64(n) * inv
			h -= f * math.Log2(f)
		}
	}
	for _, n := range other {
		f := float64(n) * inv
		h -= f * math.Log2(f)
	}
	return h
}

// finish applies the generic-rule precedence and composite rules to the
// fragment's candidates and reports each as a Finding (secret hashed and
// redacted). st.cands is emptied.
func (d *Detector) finish(st *scratch, fr *fragment, base Finding, emit func(Finding)) {
	cands := st.cands
	// Composite rules: keep a primary only when its required rules match
	// nearby.
	if d.hasRequired() {
		cands = d.applyRequired(cands, fr)
	}
	for i, c := range cands {
		if strings.Contains(strings.ToLower(c.rule.ID), "generic") && shadowed(cands, i) {
			continue
		}
		emit(toFinding(c, base, fr.path))
	}
	clear(st.cands)
	st.cands = st.cands[:0]
}

// shadowed reports whether a non-generic rule found a secret containing the
// generic candidate i's secret on the same line (gitleaks' precedence).
func shadowed(cands []candidate, i int) bool {
	g := cands[i]
	for j, o := range cands {
		if j != i && o.line == g.line && o.rule != g.rule &&
			!strings.Contains(strings.ToLower(o.rule.ID), "generic") &&
			strings.Contains(o.secret, g.secret) {
			return true
		}
	}
	return false
}

func (d *Detector) hasRequired() bool {
	for _, r := range d.rules {
		if len(r.Required) > 0 {
			return true
		}
	}
	return false
}

// applyRequired keeps primaries of composite rules only when every required
// rule has a match within the given distance.
func (d *Detector) applyRequired(cands []candidate, fr *fragment) []candidate {
	var out []candidate
	aux := map[string][]candidate{}
	for _, c := range cands {
		if len(c.rule.Required) == 0 {
			out = append(out, c)
			continue
		}
		ok := true
		for _, q := range c.rule.Required {
			found, seen := aux[q.RuleID]
			if !seen {
				found = d.allMatches(d.rules[d.byID[q.RuleID]], fr)
				aux[q.RuleID] = found
			}
			near := false
			for _, a := range found {
				if (q.WithinLines == nil || abs(a.line-c.line) <= *q.WithinLines) &&
					(q.WithinColumns == nil || abs(a.col-c.col) <= *q.WithinColumns) {
					near = true
					break
				}
			}
			if !near {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, c)
		}
	}
	return out
}

func (d *Detector) allMatches(r *Rule, fr *fragment) []candidate {
	var out []candidate
	if r.Regex == nil {
		return nil
	}
	for _, m := range r.Regex.FindAllIndex(fr.data, -1) {
		if c, ok := d.candidateAt(r, fr, m[0], m[1]); ok {
			out = append(out, c)
		}
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// HashSecret is detect-secrets' hashed_secret: the SHA-1 of the secret, hex.
func HashSecret(secret string) string {
	h := sha1.Sum([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Redact shows a secret's first characters (at most 4, and at most a fifth
// of it) followed by "…", and nothing of a short secret.
func Redact(secret string) string {
	n := min(4, len(secret)/5)
	// Do not cut a UTF-8 sequence.
	for n > 0 && n < len(secret) && secret[n]&0xC0 == 0x80 {
		n--
	}
	return secret[:n] + "…(redacted)"
}

// redactMatch shows the secret's redaction after the text that led to it
// (the key name, "password:"...), with any long token in that text (which
// may be another secret) masked too, on one short line.
func redactMatch(match, secret string) string {
	red := Redact(secret)
	i := strings.Index(match, secret)
	if secret == "" || i < 0 {
		return red
	}
	prefix := strings.Join(strings.Fields(match[:i]), " ")
	if len(prefix) > 60 {
		prefix = prefix[len(prefix)-60:]
	}
	prefix = longToken.ReplaceAllString(prefix, "…")
	return strings.ToValidUTF8(prefix+red, "?")
}

// longToken is a run of token characters long enough to be a secret itself.
var longToken = regexp.MustCompile(`[A-Za-z0-9+/=_.\-]{16,}`)

func toFinding(c candidate, base Finding, path string) Finding {
	f := base
	f.File = path
	f.Line = c.line
	f.Column = c.col
	f.EndColumn = c.endCol
	f.RuleID = c.rule.ID
	f.Description = c.rule.Description
	f.Redacted = redactMatch(c.match, c.secret)
	f.Entropy = math.Round(c.entropy*1000) / 1000
	f.hashed = HashSecret(c.secret)
	f.Tags = c.rule.Tags
	return f
}
