package actions

import (
	"slices"

	"github.com/shipgate/shipgate/internal/engine/steprun"
)

// GateArgv is the command line `uses: shipgate/<gate>@v1` runs: the binary,
// the gate, with.command, with.args split as a shell splits words, then
// "--<name>=<value>" for every other input, sorted by name (the = form so
// that a boolean flag can be given "false").
func GateArgv(self, gate string, inputs map[string]string) []string {
	argv := []string{self, gate}
	if c := inputs["command"]; c != "" {
		argv = append(argv, c)
	}
	if a := inputs["args"]; a != "" {
		argv = append(argv, steprun.SplitArgs(a)...)
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
	return argv
}
