package steprun

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestParseEnvFile(t *testing.T) {
	got, err := ParseEnvFile("KEY=value=another\r\nKEY2<<EOF\nline1\nline2\nEOF\n\ntest<<World\nx=Thats really Weird\nWorld\nE=\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []KV{{"KEY", "value=another"}, {"KEY2", "line1\nline2"}, {"test", "x=Thats really Weird"}, {"E", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	for _, bad := range []string{"A<<EOF\nnever closed\n", "novalue\n", "=x\n"} {
		if _, err := ParseEnvFile(bad); err == nil {
			t.Errorf("ParseEnvFile(%q): no error", bad)
		}
	}
}

func TestMaskerMultiLineAndRuntime(t *testing.T) {
	m := NewMasker("top-secret", "line one\nline two\n", "  ")
	if got := m.Mask("a top-secret b"); got != "a *** b" {
		t.Errorf("got %q", got)
	}
	if got := m.Mask("x line two y"); got != "x *** y" {
		t.Errorf("line of a multi-line secret not masked: %q", got)
	}
	if got := m.Mask("a  b"); got != "a  b" {
		t.Errorf("whitespace secret masked spaces: %q", got)
	}
	m.Add("later")
	if got := m.Mask("later top-secret"); got != "*** ***" {
		t.Errorf("got %q", got)
	}
}

func collect(o *Output) *[]Event {
	var evs []Event
	o.Handle = func(e Event) { evs = append(evs, e) }
	return &evs
}

func TestOutputCommandsAndMasking(t *testing.T) {
	o := &Output{Masker: NewMasker("hunter2")}
	evs := collect(o)
	input := "plain hunter2\n" +
		"::add-mask::run-time-secret\n" +
		"now run-time-secret is hidden\n" +
		"::group::Build hunter2\nin group\n::endgroup::\n" +
		"::debug::dbg\n" +
		"::error file=app.js,line=10,col=3,title=Bad%2C bad::Hello%0Aerror\n" +
		"::warning::w\n::notice title=T::n\n" +
		"::set-output name=zoo::zar\n" +
		"::set-env name=foo::bar\n" +
		"::stop-commands::tok\n::error::not an annotation\n::tok::\n" +
		"::unknown-cmd::x\n" +
		"partial"
	// Feed in awkward chunks.
	for i := 0; i < len(input); i += 7 {
		o.Write([]byte(input[i:min(i+7, len(input))]))
	}
	o.Close()
	var got []string
	for _, e := range *evs {
		got = append(got, fmt.Sprintf("%d|%s|%s|%s|%s:%d:%d|%s=%s", e.Kind, e.Level, e.Title, e.Text, e.File, e.Line, e.Col, e.Name, e.Value))
	}
	want := []string{
		"0||||:0:0|=",
		"0|||now *** is hidden|:0:0|=",
		"1|||Build ***|:0:0|=",
		"0|||in group|:0:0|=",
		"2||||:0:0|=",
		"3|||dbg|:0:0|=",
		"4|error|Bad, bad|Hello\nerror|app.js:10:3|=",
		"4|warning||w|:0:0|=",
		"4|notice|T|n|:0:0|=",
		"5||||:0:0|zoo=zar",
		"4|error||The `set-env` command is disabled. Use $GITHUB_ENV instead, or set ACTIONS_ALLOW_UNSECURE_COMMANDS to true.|:0:0|=",
		"0|||::error::not an annotation|:0:0|=",
		"0|||::unknown-cmd::x|:0:0|=",
		"0|||partial|:0:0|=",
	}
	want[0] = "0|||plain ***|:0:0|="
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestShellsRunAsGitHubDoes(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		shell, body string
		wantArgv0   string
		wantExit    int
		wantOut     string
	}{
		// bash: pipefail makes a failing pipeline fail the step.
		{"bash", "false | true\necho not reached", "bash", 1, ""},
		{"", "false | true\necho reached", "bash", 0, "reached\n"},
		{"sh", "false\necho no", "sh", 1, ""},
		{"python", "print(6*7)", "", 0, "42\n"},
		{"bash -o errexit {0} extra", "echo $0 $1 | sed 's|.*/||'", "bash", 0, ""},
	}
	for _, c := range cases {
		s, err := Prepare(c.shell, c.body, dir)
		if err != nil {
			t.Fatalf("%q: %v", c.shell, err)
		}
		if c.wantArgv0 != "" && s.Argv[0] != c.wantArgv0 {
			t.Errorf("%q: argv %q", c.shell, s.Argv)
		}
		out, err := exec.Command(s.Argv[0], s.Argv[1:]...).Output()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%q: %v", c.shell, err)
		}
		if code != c.wantExit || (c.wantOut != "" && string(out) != c.wantOut) {
			t.Errorf("shell %q: exit %d output %q, want %d %q", c.shell, code, out, c.wantExit, c.wantOut)
		}
	}
	s, _ := Prepare("bash", "true", dir)
	if want := []string{"bash", "--noprofile", "--norc", "-eo", "pipefail", s.Path}; !reflect.DeepEqual(s.Argv, want) {
		t.Errorf("bash argv %q, want %q", s.Argv, want)
	}
	if _, err := Prepare("perl", "1", dir); err == nil || !strings.Contains(err.Error(), "{0}") {
		t.Errorf("custom shell without {0}: %v", err)
	}
}

func TestSplitArgs(t *testing.T) {
	got := SplitArgs(`a "b c" 'd e' f\ g "h\"i" ''`)
	want := []string{"a", "b c", "d e", "f g", `h"i`, ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	f, err := NewFiles(dir, "1")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := f.Read(); err != nil || len(r.Outputs) != 0 {
		t.Fatalf("unwritten files: %+v %v", r, err)
	}
	os.WriteFile(f.Output, []byte("a=1\nb<<X\nm\nn\nX\n"), 0o644)
	os.WriteFile(f.Path, []byte("/one\n/two\n"), 0o644)
	os.WriteFile(f.Summary, []byte("# hi\n"), 0o644)
	r, err := f.Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Outputs) != 2 || r.Outputs[1].Value != "m\nn" || len(r.Path) != 2 || r.Summary != "# hi\n" {
		t.Errorf("%+v", r)
	}
}
