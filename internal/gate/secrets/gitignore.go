package secrets

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// ignorer applies .gitignore files met during the walk (and the root's
// .git/info/exclude), with git's precedence: deeper files and later lines
// win, negations re-include.
type ignorer struct {
	on       bool
	patterns []gitignore.Pattern
}

func newIgnorer(on bool) *ignorer { return &ignorer{on: on} }

// enter reads dir's .gitignore; comps is dir relative to the root.
func (g *ignorer) enter(dir string, comps []string) {
	if !g.on {
		return
	}
	if comps == nil {
		g.read(filepath.Join(dir, ".git", "info", "exclude"), nil)
	}
	g.read(filepath.Join(dir, ".gitignore"), comps)
}

func (g *ignorer) read(path string, domain []string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		g.patterns = append(g.patterns, gitignore.ParsePattern(line, domain))
	}
}

func (g *ignorer) ignored(comps []string, isDir bool) bool {
	if !g.on {
		return false
	}
	for i := len(g.patterns) - 1; i >= 0; i-- {
		switch g.patterns[i].Match(comps, isDir) {
		case gitignore.Exclude:
			return true
		case gitignore.Include:
			return false
		}
	}
	return false
}
