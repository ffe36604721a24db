package steprun

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Script is a step's command line and the file holding its script.
type Script struct {
	// Argv is the command to execute, with {0} replaced by Path.
	Argv []string
	// Path is the script file written into the temp directory.
	Path string
	// Shell is the resolved shell name for logs ("bash", "sh", "python", a custom template).
	Shell string
}

// LookPath finds a program in PATH; a variable so tests can replace it.
var LookPath = exec.LookPath

// ShellTemplate gives the command template for a shell name as GitHub's
// runner uses on Linux and macOS, and the script file extension. An empty
// shell means the default: bash -e {0} when bash exists, else sh -e {0}.
func ShellTemplate(shell string) (template, ext string, err error) {
	switch shell {
	case "":
		if _, err := LookPath("bash"); err == nil {
			return "bash -e {0}", ".sh", nil
		}
		return "sh -e {0}", ".sh", nil
	case "bash":
		return "bash --noprofile --norc -eo pipefail {0}", ".sh", nil
	case "sh":
		return "sh -e {0}", ".sh", nil
	case "python":
		if _, err := LookPath("python"); err == nil {
			return "python {0}", ".py", nil
		}
		return "python3 {0}", ".py", nil
	case "pwsh":
		return "pwsh -command \". '{0}'\"", ".ps1", nil
	case "powershell":
		return "powershell -command \". '{0}'\"", ".ps1", nil
	case "cmd":
		return "", "", fmt.Errorf("shell cmd runs only on Windows")
	}
	if !strings.Contains(shell, "{0}") {
		return "", "", fmt.Errorf("custom shell %q must contain {0} (the script path), e.g. \"perl {0}\"", shell)
	}
	ext = ""
	if f := SplitArgs(shell); len(f) > 0 {
		switch filepath.Base(f[0]) {
		case "python", "python3":
			ext = ".py"
		case "pwsh", "powershell":
			ext = ".ps1"
		}
	}
	return shell, ext, nil
}

// Prepare writes body to a new script file in dir and returns the argv to
// run it with the given shell.
func Prepare(shell, body, dir string) (*Script, error) {
	tmpl, ext, err := ShellTemplate(shell)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "step-*"+ext)
	if err != nil {
		return nil, err
	}
	if ext == ".ps1" {
		body = "$ErrorActionPreference = 'stop'\n" + body + "\nif ((Test-Path -LiteralPath variable:\\LASTEXITCODE)) { exit $LASTEXITCODE }\n"
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	os.Chmod(f.Name(), 0o755)
	var argv []string
	for _, a := range SplitArgs(tmpl) {
		argv = append(argv, strings.ReplaceAll(a, "{0}", f.Name()))
	}
	name := shell
	if name == "" {
		name = strings.Fields(tmpl)[0]
	}
	return &Script{Argv: argv, Path: f.Name(), Shell: name}, nil
}

// SplitArgs splits a command line as a POSIX shell would split words:
// whitespace separates, single quotes keep everything, double quotes keep
// everything but a backslash-escaped " or \, and a backslash outside quotes
// escapes the next character.
func SplitArgs(s string) []string {
	var args []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			in = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				cur.WriteString(s[i+1:])
				i = len(s)
				break
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			in = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
		case c == '\\' && i+1 < len(s):
			in = true
			i++
			cur.WriteByte(s[i])
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				args = append(args, cur.String())
				cur.Reset()
				in = false
			}
		default:
			in = true
			cur.WriteByte(c)
		}
	}
	if in {
		args = append(args, cur.String())
	}
	return args
}
