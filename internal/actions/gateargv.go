package actions

import (
	"slices"

	"github.com/shipgate/shipgate/internal/engine/steprun"
)

// GateArgv is the command line `uses: shipgate/<gate>@v1` runs: the binary,
// the gate, with.command, with.args split as a shell splits words, then
// "--<name>=<value>" for every other input, sorted by name (the = form so
// that a boolean flag can be given "false"). When with.args holds a "--"
// (a command the gate runs, as in `tests flaky -- rebar3 eunit`), the
// flags go before it so that they reach the gate, not that command.
func GateArgv(self, gate string, inputs map[string]string) []string {
	argv := []string{self, gate}
	if c := inputs["command"]; c != "" {
		argv = append(argv, c)
	}
	var tail []string
	if a := inputs["args"]; a != "" {
		words := steprun.SplitArgs(a)
		if i := slices.Index(words, "--"); i >= 0 {
			words, tail = words[:i], words[i:]
		}
		argv = append(argv, words...)
	}
	var names []string
	for k := range inputs {
		if k != "command" && k != "args" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		argv = append(argv, "--"+k+"="+inputs[k])
	}
	return append(argv, tail...)
}
