package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/store"
)

// journal keeps every log line of a running attempt in a file as it is
// printed. The engine stores a step's lines when the step ends; when the
// server is killed mid-step, recovery copies the lines the store lacks
// from here, so an interrupted run keeps its log up to the kill.
type journal struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

type journalLine struct {
	Job  string    `json:"job"`
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

func journalPath(stateDir string, runID int64) string {
	return filepath.Join(stateDir, "server-logs", fmt.Sprintf("%d.jsonl", runID))
}

func openJournal(stateDir string, runID int64) (*journal, error) {
	p := journalPath(stateDir, runID)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &journal{f: f, w: bufio.NewWriter(f)}, nil
}

// add writes a line through to the file (the page cache survives SIGKILL).
func (j *journal) add(e engine.Event) {
	if j == nil {
		return
	}
	b, _ := json.Marshal(journalLine{Job: e.Job, Time: e.Time, Text: e.Text})
	j.mu.Lock()
	defer j.mu.Unlock()
	j.w.Write(append(b, '\n'))
	j.w.Flush()
}

// remove closes and deletes the journal of a run that ended normally.
func (j *journal) remove() {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.f.Close()
	os.Remove(j.f.Name())
}

// salvage appends to each unfinished job of runID the journal lines its
// stored log lacks, and a last line saying why the log ends there.
func salvage(ctx context.Context, runs *store.Runs, stateDir string, runID int64) error {
	p := journalPath(stateDir, runID)
	defer os.Remove(p)
	byJob := map[string][]store.LogLine{}
	if f, err := os.Open(p); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var l journalLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				byJob[l.Job] = append(byJob[l.Job], store.LogLine{Time: l.Time, Text: l.Text})
			}
		}
		f.Close()
	}
	jobs, err := runs.Jobs(ctx, runID)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Status != store.StatusRunning {
			continue
		}
		have, err := runs.Logs(ctx, j.ID)
		if err != nil {
			return err
		}
		var add []store.LogLine
		if lines := byJob[j.Name]; len(lines) > len(have) {
			add = lines[len(have):]
		}
		add = append(add, store.LogLine{Time: time.Now(), Text: "Error: the server stopped while this job ran; the run is marked interrupted"})
		if err := runs.AppendLogs(ctx, j.ID, add); err != nil {
			return err
		}
	}
	return nil
}
