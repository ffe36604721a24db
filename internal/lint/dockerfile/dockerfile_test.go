package dockerfile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/diag"
)

// Each rule ships the samples that prove it: a Dockerfile that must give
// the rule (at the given line) and one that must not.
var samples = []struct {
	rule string
	bad  string
	line int
	good string
}{
	{RuleUntagged, "FROM ubuntu\n", 1, "FROM ubuntu:24.04\n"},
	{RuleUntagged, "ARG BASE=alpine\nFROM $BASE\n", 2, "ARG BASE=alpine:3.20\nFROM ${BASE}\n"},
	{RuleLatest, "FROM golang:latest AS build\nFROM scratch\nCOPY --from=build /x /x\n", 1, "FROM golang:1.26 AS build\nFROM build\n"},
	{RuleLatest, "FROM registry.local:5000/app:latest\n", 1, "FROM registry.local:5000/app\nFROM registry.local:5000/app@sha256:aaaa\n"},
	{RuleAptRecommends, "FROM debian:12\nRUN apt-get update && apt-get install -y curl=8.* && rm -rf /var/lib/apt/lists/*\n", 2,
		"FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl=8.* && rm -rf /var/lib/apt/lists/*\n"},
	{RuleAptLists, "FROM debian:12\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends curl=8.*\n", 3,
		"FROM debian:12\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends curl=8.* \\\n && rm -rf /var/lib/apt/lists/*\n"},
	{RuleAptPin, "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl git=1:2.39.* && rm -rf /var/lib/apt/lists/*\n", 2,
		"FROM debian:12\nRUN apt-get install -y --no-install-recommends \"curl=${CURL_VERSION}\" && rm -rf /var/lib/apt/lists/*\n"},
	{RuleApkPin, "FROM alpine:3.20\nRUN apk add --no-cache curl\n", 2, "FROM alpine:3.20\nRUN apk add --no-cache curl=8.9.1-r0\n"},
	{RuleAddForCopy, "FROM alpine:3.20\nADD app.conf /etc/app.conf\n", 2,
		"FROM alpine:3.20\nADD rootfs.tar.gz /\nADD https://example.com/x.tgz /tmp/\nCOPY app.conf /etc/\n"},
	{RuleUserRoot, "FROM alpine:3.20\nUSER app\nUSER root\n", 3, "FROM alpine:3.20\nUSER root\nRUN true\nUSER 10001:10001\n"},
	{RuleNoUser, "FROM alpine:3.20\nRUN true\n", 1, "FROM alpine:3.20 AS base\nUSER app\nFROM base\nRUN true\n"},
	{RuleShellForm, "FROM alpine:3.20\nCMD ./server --port 80\n", 2, "FROM alpine:3.20\nCMD [\"./server\", \"--port\", \"80\"]\nENTRYPOINT [\"/init\"]\n"},
	{RulePipefail, "FROM alpine:3.20\nRUN wget -qO- https://x/y.sh | sh\n", 2,
		"FROM alpine:3.20\nSHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\nRUN wget -qO- https://x/y.sh | sh\nRUN echo 'a|b' || true\n"},
	{RuleSecret, "FROM alpine:3.20\nENV API_TOKEN=abc123\n", 2, "FROM alpine:3.20\nENV TOKEN_FILE=/run/secrets/token PATH=/usr/bin\n"},
	{RuleSecret, "FROM alpine:3.20\nARG DB_PASSWORD\n", 2, "FROM alpine:3.20\nARG DB_PASSWORD_FILE\n"},
	{RuleNoHealthcheck, "FROM alpine:3.20\nUSER app\n", 1, "FROM alpine:3.20\nHEALTHCHECK CMD wget -q localhost/health\n"},
	{RuleParse, "FROM alpine:3.20\nENV\n", 2, "FROM alpine:3.20\nENV A=1\n"},
}

func lines(ds []diag.Diagnostic, rule string) []int {
	var out []int
	for _, d := range ds {
		if d.Rule == rule {
			out = append(out, d.Pos.Line)
		}
	}
	return out
}

func TestRuleSamples(t *testing.T) {
	covered := map[string]bool{}
	for _, s := range samples {
		covered[s.rule] = true
		if got := lines(Lint("Dockerfile", []byte(s.bad)), s.rule); !slices.Contains(got, s.line) {
			t.Errorf("%s: bad sample %q: want a finding on line %d, got lines %v", s.rule, s.bad, s.line, got)
		}
		if got := lines(Lint("Dockerfile", []byte(s.good)), s.rule); len(got) > 0 {
			t.Errorf("%s: good sample %q: unexpected findings on lines %v", s.rule, s.good, got)
		}
	}
	for _, r := range Rules {
		if !covered[r.ID] {
			t.Errorf("rule %s has no samples", r.ID)
		}
	}
}

// TestCorpus lints every Dockerfile of buildkit's parser tests and
// dockerfilelint's examples: each parses or gets a positioned parse error,
// buildkit's negative cases all fail, and nothing panics. It prints the
// findings per rule (the table in /work/notes/issue-9.md).
func TestCorpus(t *testing.T) {
	var files []string
	err := filepath.WalkDir("testdata/corpus", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "Dockerfile") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("only %d Dockerfiles in testdata/corpus", len(files))
	}
	perRule := map[string]int{}
	filesWith := map[string]map[string]bool{}
	parsed, failed := 0, 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ds := Lint(f, src)
		bad := false
		for _, d := range ds {
			perRule[d.Rule]++
			if filesWith[d.Rule] == nil {
				filesWith[d.Rule] = map[string]bool{}
			}
			filesWith[d.Rule][f] = true
			if d.Rule == RuleParse {
				bad = true
				if d.Pos.Line < 1 || d.Pos.File != f {
					t.Errorf("%s: parse error without a position: %v", f, d)
				}
			}
		}
		negative := strings.Contains(f, "testfiles-negative")
		if negative && !bad {
			t.Errorf("%s: buildkit's negative case parsed without error", f)
		}
		if bad {
			failed++
		} else {
			parsed++
		}
	}
	t.Logf("%d Dockerfiles: %d parse cleanly, %d with a positioned parse error", len(files), parsed, failed)
	var b strings.Builder
	b.WriteString("| rule | findings | files |\n|---|---|---|\n")
	for _, r := range Rules {
		fmt.Fprintf(&b, "| %s | %d | %d |\n", r.ID, perRule[r.ID], len(filesWith[r.ID]))
	}
	t.Log("\n" + b.String())
}

func TestShellFailPass(t *testing.T) {
	fail := Lint("f", mustRead(t, "testdata/corpus/dockerfilelint-examples/Dockerfile.shell.fail"))
	if got := lines(fail, RuleParse); !slices.Equal(got, []int{4}) {
		t.Errorf("shell.fail: want a parse error on line 4 (SHELL not in JSON form), got %v", got)
	}
	pass := Lint("p", mustRead(t, "testdata/corpus/dockerfilelint-examples/Dockerfile.shell.pass"))
	if got := lines(pass, RuleParse); len(got) > 0 {
		t.Errorf("shell.pass: unexpected parse errors on lines %v", got)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The parser keeps going after a bad line: Dockerfile.misc has an unknown
// instruction, an ADD without a destination and an ENV without '=' (which
// stops buildkit's own parser), all reported in one run.
func TestKeepsGoingAfterParseErrors(t *testing.T) {
	ds := Lint("m", mustRead(t, "testdata/corpus/dockerfilelint-examples/Dockerfile.misc"))
	if got := lines(ds, RuleParse); !slices.Equal(got, []int{7, 11, 27}) {
		t.Errorf("parse errors on lines %v, want [7 11 27]", got)
	}
	if got := lines(ds, RuleAddForCopy); len(got) == 0 {
		t.Errorf("rules did not run after the parse errors: %v", ds)
	}
}
