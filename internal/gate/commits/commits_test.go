package commits

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
)

func TestParseValid(t *testing.T) {
	for _, c := range []struct {
		msg                    string
		typ, scope, desc, body string
		breaking               bool
		note                   string
		footers                int
	}{
		{msg: "feat: allow provided config object to extend other configs", typ: "feat", desc: "allow provided config object to extend other configs"},
		{msg: "feat(lang): add Polish language", typ: "feat", scope: "lang", desc: "add Polish language"},
		{msg: "feat!: send an email to the customer when a product is shipped", typ: "feat", desc: "send an email to the customer when a product is shipped", breaking: true, note: "send an email to the customer when a product is shipped"},
		{msg: "feat(api)!: send an email", typ: "feat", scope: "api", desc: "send an email", breaking: true, note: "send an email"},
		{msg: "chore!: drop support for Node 6\n\nBREAKING CHANGE: use JavaScript features not available in Node 6.", typ: "chore", desc: "drop support for Node 6", breaking: true, note: "use JavaScript features not available in Node 6.", footers: 1},
		{msg: "feat: allow config\n\nBREAKING CHANGE: `extends` key in config file is now used for extending other config files", typ: "feat", desc: "allow config", breaking: true, note: "`extends` key in config file is now used for extending other config files", footers: 1},
		{msg: "fix: prevent racing of requests\n\nIntroduce a request id and a reference to latest request. Dismiss\nincoming responses other than from latest request.\n\nRemove timeouts which were used to mitigate the racing issue but are\nobsolete now.\n\nReviewed-by: Z\nRefs: #123", typ: "fix", desc: "prevent racing of requests",
			body: "Introduce a request id and a reference to latest request. Dismiss\nincoming responses other than from latest request.\n\nRemove timeouts which were used to mitigate the racing issue but are\nobsolete now.", footers: 2},
		{msg: "fix: x\n\nBREAKING-CHANGE: multi\nline note\nCloses #4", typ: "fix", desc: "x", breaking: true, note: "multi\nline note", footers: 2},
	} {
		got, ps := Parse(c.msg)
		if len(ps) != 0 {
			t.Errorf("%q: problems %v", c.msg, ps)
		}
		if !got.Valid || got.Type != c.typ || got.Scope != c.scope || got.Description != c.desc || got.Breaking != c.breaking || got.BreakingNote != c.note || len(got.Footers) != c.footers {
			t.Errorf("%q: got %+v", c.msg, got)
		}
		if c.body != "" && got.Body != c.body {
			t.Errorf("%q: body %q", c.msg, got.Body)
		}
	}
}

func TestParseProblemsArePositioned(t *testing.T) {
	for _, c := range []struct {
		msg, want string // want: "line:col rule"
	}{
		{"add a feature", "1:4 commits/header"},
		{"feat add a feature", "1:5 commits/header"},
		{"feat:add", "1:6 commits/header"},
		{"feat(api: add", "1:5 commits/scope"},
		{"feat(): add", "1:5 commits/scope"},
		{"feat: ", "1:7 commits/description"},
		{"feat:  ", "1:7 commits/description"},
		{"feat: x\n\nBREAKING CHANGE:", "3:1 commits/breaking-empty"},
		{": nothing", "1:1 commits/header"},
		{"feat(api)!- x", "1:11 commits/header"},
		{"feat: x\nbody right after", "2:1 commits/blank-line"},
		{"feat: x\n\nbreaking change: lower case", "3:1 commits/breaking-uppercase"},
		{"feat: x\n\nBREAKING CHANGE: ", "3:1 commits/breaking-empty"},
		{"fixup! feat: x", "1:1 commits/fixup"},
		{"", "1:1 commits/empty"},
		{"feat: " + strings.Repeat("x", 120), "1:101 commits/header-length"},
	} {
		_, ps := Parse(c.msg)
		var got []string
		for _, p := range ps {
			got = append(got, fmt.Sprintf("%d:%d %s", p.Line, p.Col, p.Rule))
		}
		if len(got) == 0 || got[0] != c.want {
			t.Errorf("%q: problems %v, want %s", c.msg, got, c.want)
		}
	}
	c, _ := Parse("Feat: x")
	if ps := (Options{}).Validate(c); len(ps) != 1 || ps[0].Rule != "commits/type-case" || ps[0].Severity != diag.Warning || c.Type != "feat" {
		t.Errorf("uppercase type: %+v %v", c, ps)
	}
	c, _ = Parse("feature: x")
	if ps := (Options{Types: []string{"feat", "fix"}}).Validate(c); len(ps) != 1 || ps[0].Rule != "commits/type" || ps[0].EndCol != 8 {
		t.Errorf("unknown type: %v", ps)
	}
}

func TestParseMergeAndRevert(t *testing.T) {
	for _, m := range []string{"Merge branch 'main' into topic", "Merge pull request #12 from a/b\n\nfeat: x", "Merge remote-tracking branch 'origin/main'", "Merge tag 'v1.0.0'"} {
		if c, ps := Parse(m); !c.Merge || len(ps) != 0 {
			t.Errorf("%q: merge %v problems %v", m, c.Merge, ps)
		}
	}
	c, ps := Parse("Revert \"feat(api): add x\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n")
	if len(ps) != 0 || !c.Revert || c.Reverts != "0123456789abcdef0123456789abcdef01234567" || c.RevertedHeader != "feat(api): add x" {
		t.Errorf("git revert: %+v %v", c, ps)
	}
	c, ps = Parse("revert: let us never again speak of the noodle incident\n\nRefs: 676104e, a215868")
	if len(ps) != 0 || !c.Revert || c.Reverts != "676104e," && c.Reverts != "676104e" {
		t.Errorf("conventional revert: %+v %v", c, ps)
	}
}

// gitRepo makes a real repository with the given messages, committed with
// fixed dates so hashes are stable.
func gitRepo(t *testing.T, msgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	run := func(env []string, args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run(nil, "init", "-q", "-b", "main")
	for i, m := range msgs {
		os.WriteFile(filepath.Join(dir, "f.txt"), []byte(fmt.Sprint(i)), 0o644)
		date := fmt.Sprintf("2026-01-%02dT12:00:00Z", i+1)
		env := []string{"GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.com", "GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}
		run(env, "add", "f.txt")
		run(env, "commit", "-q", "--no-verify", "-m", m)
	}
	return dir
}

func TestCheckRealRepository(t *testing.T) {
	dir := gitRepo(t,
		"feat(cli): add --json",
		"Fix the parser",
		"fix: handle empty input\nno blank line",
		"docs: readme",
	)
	cs, ps, err := Log(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	r := Check("", cs, ps, Options{})
	if r.Verdict != gate.Fail || len(cs) != 4 {
		t.Fatalf("verdict %s, %d commits: %s", r.Verdict, len(cs), r.Reason)
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, fmt.Sprintf("%s %s", f.Pos, f.Rule))
	}
	want := []string{cs[1].Short() + ":1:4 commits/header", cs[2].Short() + ":2:1 commits/blank-line"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %v, want %v", got, want)
	}
	if !strings.Contains(r.Reason, "2 of 4") {
		t.Errorf("reason %q", r.Reason)
	}
	// A range that holds only the good last commit passes.
	cs, ps, err = Log(context.Background(), dir, "HEAD~1..HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if r := Check("HEAD~1..HEAD", cs, ps, Options{}); r.Verdict != gate.Pass {
		t.Errorf("HEAD~1..HEAD: %s %s", r.Verdict, r.Reason)
	}
	if _, _, err := Log(context.Background(), dir, "nosuch..HEAD"); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("bad range: %v", err)
	}
}
