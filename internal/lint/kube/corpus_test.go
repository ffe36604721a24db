package kube

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/diag"
)

// The agreement tests run this package on the test manifests of
// kube-score, kube-linter and kubeconform (testdata/corpus, see its
// MANIFEST.md) and compare with those tools' recorded results. Each prints
// a ratio per shared check and fails if agreement drops below what was
// measured when the checks were written (see /work/notes/issue-9.md).

const corpus = "testdata/corpus"

func readTSV(t *testing.T, file string) [][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if i == 0 || line == "" {
			continue // header
		}
		rows = append(rows, strings.Split(line, "\t"))
	}
	return rows
}

func lintFile(t *testing.T, file string) []diag.Diagnostic {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return Lint(filepath.Base(file), b)
}

func hasRule(ds []diag.Diagnostic, rules ...string) bool {
	return slices.ContainsFunc(ds, func(d diag.Diagnostic) bool { return slices.Contains(rules, d.Rule) })
}

type ratio struct{ agree, total int }

func (r ratio) String() string {
	return fmt.Sprintf("%d/%d = %.2f", r.agree, r.total, float64(r.agree)/float64(max(r.total, 1)))
}

// TestKubeScoreAgreement compares, per file, whether kube-score grades a
// shared check below AllOK with whether we report the matching rule.
func TestKubeScoreAgreement(t *testing.T) {
	shared := map[string][]string{
		"Container Resources":                               {RuleRequests, RuleLimits},
		"Container Image Tag":                               {RuleImageTag},
		"Container Security Context Privileged":             {RulePrivileged},
		"Container Security Context ReadOnlyRootFilesystem": {RuleReadOnlyRootFS},
		"Container Security Context User Group ID":          {RuleRunAsNonRoot},
		"Pod Probes":          {RuleLivenessProbe, RuleReadinessProbe},
		"Service Targets Pod": {RuleDanglingService},
	}
	// Minimum agreement per check, as measured; a drop fails the test.
	floor := map[string]float64{
		"Container Resources": 1, "Container Image Tag": 1,
		"Container Security Context Privileged": 1, "Container Security Context ReadOnlyRootFilesystem": 1,
		"Container Security Context User Group ID": 1, "Pod Probes": 0.6, "Service Targets Pod": 1,
	}
	got := map[string]*ratio{}
	for _, row := range readTSV(t, filepath.Join(corpus, "kube-score/EXPECTED.tsv")) {
		file, check, grade, cfg := row[0], row[1], row[2], row[3]
		rules, ok := shared[check]
		if !ok || file == "" || strings.Contains(cfg, "Ignore") {
			continue // not a shared check, or a run option we do not have
		}
		ds := lintFile(t, filepath.Join(corpus, "kube-score", file))
		want := grade != "GradeAllOK"
		have := hasRule(ds, rules...)
		if got[check] == nil {
			got[check] = &ratio{}
		}
		got[check].total++
		if want == have {
			got[check].agree++
		} else {
			t.Logf("disagree: %s %s: kube-score %s, shipgate fires=%v", check, file, grade, have)
		}
	}
	checks := make([]string, 0, len(got))
	for c := range got {
		checks = append(checks, c)
	}
	slices.Sort(checks)
	for _, c := range checks {
		r := got[c]
		t.Logf("kube-score %-50s %s", c, r)
		if float64(r.agree)/float64(r.total) < floor[c] {
			t.Errorf("kube-score %s: agreement %s below %.2f", c, r, floor[c])
		}
	}
}

var (
	containerName = regexp.MustCompile(`container \\?"([^"\\]+)\\?"`)
	msgKind       = regexp.MustCompile(`^([A-Za-z]+)[ :]`)
)

// findingKey is "Kind/container" (or "Kind") for comparing with
// kube-linter's messages, which name the kind and container only.
func findingKey(msg string) string {
	k := msgKind.FindStringSubmatch(strings.TrimSpace(msg))
	if k == nil {
		return ""
	}
	if c := containerName.FindStringSubmatch(msg); c != nil {
		return k[1] + "/" + c[1]
	}
	return k[1]
}

// TestKubeLinterAgreement compares, per shared check, the multiset of
// (kind, container) kube-linter reports with ours, on the kinds we know
// (OpenShift DeploymentConfig is skipped as an unknown kind), as a Jaccard
// ratio: matched / (expected + ours - matched).
func TestKubeLinterAgreement(t *testing.T) {
	type sel struct {
		rule string
		has  string // message must contain this, when set
	}
	shared := map[string]sel{
		"host-network":                   {RuleHostNetwork, ""},
		"host-pid":                       {RuleHostPID, ""},
		"host-ipc":                       {RuleHostIPC, ""},
		"latest-tag":                     {RuleImageTag, ""},
		"no-liveness-probe":              {RuleLivenessProbe, ""},
		"no-readiness-probe":             {RuleReadinessProbe, ""},
		"no-read-only-root-fs":           {RuleReadOnlyRootFS, ""},
		"privilege-escalation-container": {RulePrivEscalation, ""},
		"privileged-container":           {RulePrivileged, ""},
		"run-as-non-root":                {RuleRunAsNonRoot, ""},
		"unset-cpu-requirements":         {RuleRequests, "cpu"},
		"unset-memory-requirements":      {RuleLimits, "memory"},
		"dangling-service":               {RuleDanglingService, ""},
	}
	var names []string
	for _, row := range readTSV(t, filepath.Join(corpus, "kube-linter/EXPECTED.tsv")) {
		check, manifest, msgs := row[0], row[1], ""
		if len(row) > 5 {
			msgs = row[5]
		}
		s, ok := shared[check]
		if !ok {
			continue
		}
		names = append(names, check)
		ds := lintFile(t, filepath.Join(corpus, "kube-linter", filepath.Base(manifest)))
		var want, have []string
		for m := range strings.SplitSeq(msgs, " || ") {
			if k := findingKey(m); k != "" && !strings.HasPrefix(k, "DeploymentConfig") {
				want = append(want, k)
			}
		}
		for _, d := range ds {
			if d.Rule == s.rule && strings.Contains(d.Message, s.has) {
				have = append(have, findingKey(d.Message))
			}
		}
		matched := 0
		rest := slices.Clone(have)
		for _, w := range want {
			if i := slices.Index(rest, w); i >= 0 {
				matched++
				rest = slices.Delete(rest, i, i+1)
			}
		}
		r := ratio{agree: matched, total: len(want) + len(have) - matched}
		t.Logf("kube-linter %-32s %s (expected %v, shipgate %v)", check, r, want, have)
		if r.agree != r.total {
			t.Logf("  disagreement on %s", check)
		}
		if min, ok := kubeLinterFloor[check]; ok && float64(r.agree)/float64(max(r.total, 1)) < min {
			t.Errorf("kube-linter %s: agreement %s below %.2f", check, r, min)
		}
	}
	if len(names) != len(shared) {
		t.Errorf("found %d of %d shared kube-linter checks in EXPECTED.tsv", len(names), len(shared))
	}
}

// kubeLinterFloor is the measured agreement per check; every shared check
// must stay at or above it.
var kubeLinterFloor = map[string]float64{
	"host-network": 1, "host-pid": 1, "host-ipc": 1, "latest-tag": 1,
	"no-liveness-probe": 1, "no-readiness-probe": 1, "no-read-only-root-fs": 1,
	"privilege-escalation-container": 1, "privileged-container": 1, "run-as-non-root": 1,
	"unset-cpu-requirements": 1, "unset-memory-requirements": 1, "dangling-service": 1,
}

// TestKubeconformAgreement runs the kubeconform acceptance cases that need
// neither the network nor a schema cache nor options we do not have, and
// compares the valid/invalid verdict. kubeconform's flags map to ours as
// follows: a missing schema is invalid unless -ignore-missing-schemas
// (our kube/unknown-kind), and unknown fields or duplicate keys count only
// with -strict (our kube/strict rule, which a user can turn off).
func TestKubeconformAgreement(t *testing.T) {
	dir := filepath.Join(corpus, "kubeconform")
	var r ratio
	for _, row := range readTSV(t, filepath.Join(dir, "EXPECTED.tsv")) {
		name, cmd, exit := row[0], row[1], row[2]
		cmd = strings.TrimPrefix(cmd, `bash -c "`)
		cmd = strings.TrimSuffix(cmd, `"`)
		if i := strings.Index(cmd, "| bin/kubeconform"); i >= 0 && strings.HasPrefix(cmd, "cat ") {
			// cat FILE | bin/kubeconform FLAGS [-]: the same as FLAGS FILE
			cmd = "bin/kubeconform " + strings.TrimSpace(cmd[i+len("| bin/kubeconform"):]) + " " + strings.Fields(cmd)[1]
		}
		args := shellWords(cmd)
		if len(args) == 0 || args[0] != "bin/kubeconform" {
			continue
		}
		if strings.Contains(name, "without network access") {
			// kubeconform fails here because it cannot download schemas;
			// shipgate's schemas are built in, so the case does not apply.
			continue
		}
		strict, ignoreMissing, usable := false, false, true
		var files, schemas []string
		for i := 1; i < len(args); i++ {
			switch a := args[i]; {
			case a == "-strict":
				strict = true
			case a == "-ignore-missing-schemas":
				ignoreMissing = true
			case a == "-summary" || a == "-verbose" || a == "-":
			case a == "-kubernetes-version":
				i++
				if args[i] == "1.25" {
					usable = false // kubeconform rejects the flag value itself
				}
			case a == "-output":
				i++
			case a == "-schema-location":
				i++
				loc := args[i]
				switch {
				case loc == "default":
				case strings.Contains(loc, "://"):
					usable = false // a schema registry on the network
				default:
					dir, _, _ := strings.Cut(loc, "{{")
					schemas = append(schemas, filepath.Join(corpus, "kubeconform", strings.TrimPrefix(strings.TrimPrefix(dir, "./"), "fixtures/")))
				}
			case strings.HasPrefix(a, "-"):
				usable = false // -schema-location, -cache, -skip, -reject, ...
			default:
				files = append(files, filepath.Join(dir, strings.TrimPrefix(a, "fixtures/")))
			}
		}
		if !usable || len(files) == 0 {
			continue
		}
		missing := false
		for _, f := range files {
			if _, err := os.Stat(f); err != nil && !strings.HasSuffix(f, "not-here") {
				missing = true // e.g. valid_large.yaml, not in the corpus
			}
		}
		if missing {
			continue
		}
		invalid := false
		l := New()
		if err := l.LoadSchemas(schemas...); err != nil {
			invalid = true // a schema path that cannot be read: exit 2 for shipgate
			t.Logf("%s: %v", name, err)
		}
		for _, f := range files {
			st, err := os.Stat(f)
			if err != nil {
				invalid = true // kubeconform: "failed validation: lstat ..."
				continue
			}
			paths := []string{f}
			if st.IsDir() {
				paths, _ = filepath.Glob(filepath.Join(f, "*.yaml"))
			}
			for _, p := range paths {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				l.Add(p, b)
			}
		}
		for _, d := range l.Finish() {
			switch d.Rule {
			case RuleParse, RuleSchema:
				invalid = true
			case RuleStrict:
				invalid = invalid || strict
			case RuleUnknownKind:
				invalid = invalid || !ignoreMissing
			}
		}
		want := exit != "0"
		r.total++
		t.Logf("kubeconform case %q: want invalid=%v", name, want)
		if want == invalid {
			r.agree++
		} else {
			t.Errorf("kubeconform case %q: kubeconform invalid=%v, shipgate invalid=%v", name, want, invalid)
		}
	}
	t.Logf("kubeconform offline acceptance cases, same verdict: %s", r)
	if r.total < 20 {
		t.Errorf("only %d usable kubeconform cases; the corpus or the filter changed", r.total)
	}
}

// shellWords splits a command line at spaces, keeping 'single-quoted'
// words whole.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	in, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted = !quoted
			in = true
		case r == ' ' && !quoted:
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}
