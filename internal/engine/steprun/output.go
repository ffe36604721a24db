package steprun

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
)

// Kind says what an Event is.
type Kind int

const (
	// Line is one line of visible output.
	Line Kind = iota
	// GroupStart opens a collapsible group titled Text (::group::).
	GroupStart
	// GroupEnd closes the current group (::endgroup::).
	GroupEnd
	// Debug is a ::debug:: message, shown only with --verbose.
	Debug
	// Annotation is ::error::, ::warning:: or ::notice::.
	Annotation
	// SetOutput is the deprecated ::set-output name=N::V.
	SetOutput
	// SetEnv is ::set-env name=N::V (only with ACTIONS_ALLOW_UNSECURE_COMMANDS=true).
	SetEnv
	// AddPath is ::add-path::DIR (only with ACTIONS_ALLOW_UNSECURE_COMMANDS=true).
	AddPath
	// SaveState is the deprecated ::save-state name=N::V.
	SaveState
)

// Event is one thing a step's output said. Text fields are already masked,
// except Value of SetOutput/SetEnv/SaveState, which the engine stores and
// masks when printing.
type Event struct {
	Kind                       Kind
	Text                       string
	Level                      string // Annotation: "error", "warning" or "notice"
	Title                      string
	File                       string
	Line, Col, EndLine, EndCol int
	Name, Value                string
}

// Output is the writer a step's stdout and stderr go to. It splits the
// stream into lines, acts on workflow commands and passes masked events to
// Handle. Call Close after the process exits to flush a last partial line.
type Output struct {
	// Masker hides secrets; it also receives ::add-mask:: values.
	Masker *Masker
	// Handle receives every event, in order. It is called with Output's
	// lock held, so events from stdout and stderr never interleave.
	Handle func(Event)
	// AllowUnsecure enables ::set-env:: and ::add-path::
	// (ACTIONS_ALLOW_UNSECURE_COMMANDS=true).
	AllowUnsecure bool

	mu        sync.Mutex
	buf       []byte
	stopToken string // while set, commands are not processed
	echo      bool
}

// Write accepts output bytes in any chunking.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	for {
		i := bytes.IndexByte(o.buf, '\n')
		if i < 0 {
			break
		}
		line := string(o.buf[:i])
		o.buf = o.buf[i+1:]
		o.line(strings.TrimSuffix(line, "\r"))
	}
	// Keep memory bounded on output without newlines.
	if len(o.buf) > 64<<10 {
		line := string(o.buf)
		o.buf = o.buf[:0]
		o.line(line)
	}
	return len(p), nil
}

// Close flushes a final line that had no newline.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.buf) > 0 {
		line := string(o.buf)
		o.buf = nil
		o.line(line)
	}
	return nil
}

func (o *Output) emit(e Event) {
	if o.Handle != nil {
		o.Handle(e)
	}
}

func (o *Output) line(raw string) {
	name, props, msg, ok := ParseCommand(raw)
	if o.stopToken != "" {
		if ok && name == o.stopToken {
			o.stopToken = ""
			return
		}
		ok = false
	}
	if !ok {
		o.emit(Event{Kind: Line, Text: o.Masker.Mask(raw)})
		return
	}
	if o.echo {
		o.emit(Event{Kind: Line, Text: o.Masker.Mask(raw)})
	}
	m := o.Masker.Mask
	switch name {
	case "add-mask":
		o.Masker.Add(msg)
	case "stop-commands":
		if msg != "" {
			o.stopToken = msg
		}
	case "echo":
		switch strings.ToLower(msg) {
		case "on":
			o.echo = true
		case "off":
			o.echo = false
		}
	case "group":
		o.emit(Event{Kind: GroupStart, Text: m(msg)})
	case "endgroup":
		o.emit(Event{Kind: GroupEnd})
	case "debug":
		o.emit(Event{Kind: Debug, Text: m(msg)})
	case "error", "warning", "notice":
		e := Event{Kind: Annotation, Level: name, Text: m(msg), Title: m(props["title"]), File: props["file"]}
		e.Line = atoi(props["line"])
		e.Col = atoi(props["col"])
		e.EndLine = atoi(props["endLine"])
		e.EndCol = atoi(props["endColumn"])
		o.emit(e)
	case "set-output":
		o.emit(Event{Kind: SetOutput, Name: props["name"], Value: msg})
	case "save-state":
		o.emit(Event{Kind: SaveState, Name: props["name"], Value: msg})
	case "set-env":
		if o.AllowUnsecure {
			o.emit(Event{Kind: SetEnv, Name: props["name"], Value: msg})
		} else {
			o.emit(Event{Kind: Annotation, Level: "error", Text: "The `set-env` command is disabled. Use $GITHUB_ENV instead, or set ACTIONS_ALLOW_UNSECURE_COMMANDS to true."})
		}
	case "add-path":
		if o.AllowUnsecure {
			o.emit(Event{Kind: AddPath, Value: msg})
		} else {
			o.emit(Event{Kind: Annotation, Level: "error", Text: "The `add-path` command is disabled. Use $GITHUB_PATH instead, or set ACTIONS_ALLOW_UNSECURE_COMMANDS to true."})
		}
	default:
		// Not a command we know: GitHub prints such lines as they are.
		o.emit(Event{Kind: Line, Text: m(raw)})
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// ParseCommand reads a workflow command line
// "::name key=value,key=value::message" (leading whitespace allowed), with
// GitHub's escapes: %25 %0D %0A in the message, and also %3A %2C in
// property values.
func ParseCommand(line string) (name string, props map[string]string, msg string, ok bool) {
	s := strings.TrimLeft(line, " \t")
	if !strings.HasPrefix(s, "::") {
		return "", nil, "", false
	}
	end := strings.Index(s[2:], "::")
	if end < 0 {
		return "", nil, "", false
	}
	info := s[2 : 2+end]
	msg = unescapeData(s[2+end+2:])
	name, rest, _ := strings.Cut(info, " ")
	if name == "" || strings.ContainsAny(name, "\t=,") {
		return "", nil, "", false
	}
	props = map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, found := strings.Cut(strings.TrimSpace(kv), "=")
		if found && k != "" {
			props[k] = unescapeProp(v)
		}
	}
	return name, props, msg, true
}

var (
	dataUnescaper = strings.NewReplacer("%0D", "\r", "%0d", "\r", "%0A", "\n", "%0a", "\n", "%25", "%")
	propUnescaper = strings.NewReplacer("%0D", "\r", "%0d", "\r", "%0A", "\n", "%0a", "\n", "%3A", ":", "%3a", ":", "%2C", ",", "%2c", ",", "%25", "%")
)

func unescapeData(s string) string { return dataUnescaper.Replace(s) }
func unescapeProp(s string) string { return propUnescaper.Replace(s) }
