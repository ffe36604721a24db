package kube

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shipgate/shipgate/internal/executor"
	"github.com/shipgate/shipgate/internal/executor/host"
)

// RunnerCommand is the hidden subcommand of the shipgate binary that runs
// inside a job's Pod: `shipgate kube-runner MODE [ARGS]`.
const RunnerCommand = "kube-runner"

// stepSpec is what the executor sends the runner for one step, as the
// first line of the exec's stdin.
type stepSpec struct {
	Argv    []string      `json:"argv"`
	Dir     string        `json:"dir"`
	Env     []string      `json:"env"`
	Timeout time.Duration `json:"timeout,omitempty"`
	Grace   time.Duration `json:"grace,omitempty"`
	// ProcDir records the step's process groups for `reap`.
	ProcDir string `json:"proc_dir"`
	// Stdin says the rest of the exec's stdin is the step's; otherwise
	// the step reads /dev/null (a kubelet need not close the exec's
	// stdin when the client does: kwok's does not).
	Stdin bool `json:"stdin,omitempty"`
	// Result is the file the runner writes the stepResult to; the
	// executor pulls it back with the job's temp directory, with the
	// step's whole output in Result+".out" and Result+".err": a kubelet
	// may close the exec stream before the last bytes are flushed (kwok's
	// does), and the executor writes out what the stream lost.
	Result string `json:"result"`
}

// Prefix of the runner's files in the job's temp directory.
const runnerFiles = ".shipgate-result-"

// stepResult is how the step ended, as the runner saw it.
type stepResult struct {
	ExitCode  int           `json:"exit_code"`
	TimedOut  bool          `json:"timed_out,omitempty"`
	Cancelled bool          `json:"cancelled,omitempty"`
	Duration  time.Duration `json:"duration"`
	Error     string        `json:"error,omitempty"`
}

// RunnerMain is the runner inside a job's Pod. args are the words after
// RunnerCommand:
//
//	idle            the Pod's main process: waits for SIGTERM
//	push            extracts a tar from stdin (absolute paths, atomically)
//	pull DIR...     writes a tar of the DIRs' regular files to stdout
//	run             reads a step spec (one JSON line) from stdin, runs the
//	                step with the host executor's step runner (its own
//	                process group, SIGTERM then SIGKILL on timeout), writes
//	                the result file and exits with the step's exit code
//	reap PROCDIR    kills the process groups steps left behind
//
// It returns the process exit code: 2 for bad usage.
func RunnerMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "kube-runner: want a mode: idle, push, pull, run, reap")
		return 2
	}
	switch args[0] {
	case "idle":
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		return 0
	case "push":
		if err := extractTar(stdin); err != nil {
			fmt.Fprintln(stderr, "kube-runner push:", err)
			return 1
		}
		return 0
	case "pull":
		if err := writeTar(stdout, args[1:], 0); err != nil {
			fmt.Fprintln(stderr, "kube-runner pull:", err)
			return 1
		}
		return 0
	case "reap":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "kube-runner reap: want PROCDIR")
			return 2
		}
		fmt.Fprintln(stdout, host.Reap(args[1]))
		return 0
	case "run":
		return runStep(stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "kube-runner: unknown mode %q\n", args[0])
	return 2
}

func runStep(stdin io.Reader, stdout, stderr io.Writer) int {
	br := bufio.NewReader(stdin)
	line, err := br.ReadBytes('\n')
	if err != nil && len(line) == 0 {
		fmt.Fprintln(stderr, "kube-runner run: no step spec on stdin:", err)
		return 2
	}
	var spec stepSpec
	if err := json.Unmarshal(line, &spec); err != nil || len(spec.Argv) == 0 || spec.Result == "" {
		fmt.Fprintf(stderr, "kube-runner run: bad step spec: %v\n", err)
		return 2
	}
	// The files of earlier steps were pulled back already.
	if old, _ := filepath.Glob(filepath.Join(filepath.Dir(spec.Result), runnerFiles+"*")); len(old) > 0 {
		for _, f := range old {
			os.Remove(f)
		}
	}
	fout, err1 := os.Create(spec.Result + ".out")
	ferr, err2 := os.Create(spec.Result + ".err")
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintln(stderr, "kube-runner run:", err)
		return 1
	}
	defer fout.Close()
	defer ferr.Close()
	// A dropped connection or the Pod's deletion ends the step too.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	h := host.New()
	defer h.Close()
	job := &executor.Job{ID: "pod", Workspace: spec.Dir, ProcDir: spec.ProcDir}
	res := &stepResult{ExitCode: -1}
	if err := h.Setup(ctx, job); err != nil {
		res.Error = err.Error()
	} else {
		step := &executor.Step{ID: "step", Argv: spec.Argv, Dir: spec.Dir, Env: spec.Env,
			Stdout: &tee{file: fout, stream: stdout}, Stderr: &tee{file: ferr, stream: stderr}, Timeout: spec.Timeout, Grace: spec.Grace}
		if spec.Stdin {
			step.Stdin = br
		}
		r, err := h.Exec(ctx, job, step)
		if err != nil {
			res.Error = err.Error()
			fmt.Fprintln(stderr, err)
		} else {
			*res = stepResult{ExitCode: r.ExitCode, TimedOut: r.TimedOut, Cancelled: r.Cancelled, Duration: r.Duration}
		}
	}
	b, _ := json.Marshal(res)
	if err := writeFileAtomic(spec.Result, b, 0o644); err != nil {
		fmt.Fprintln(stderr, "kube-runner run: result:", err)
		return 1
	}
	if res.ExitCode < 0 {
		return 1
	}
	return res.ExitCode
}

// tee writes to the file, then to the stream, whose errors it ignores
// (the file is what the executor reconciles the stream with).
type tee struct {
	file   *os.File
	stream io.Writer
	broken bool
}

func (t *tee) Write(p []byte) (int, error) {
	n, err := t.file.Write(p)
	if !t.broken {
		if _, err := t.stream.Write(p); err != nil {
			t.broken = true
		}
	}
	return n, err
}

// writeTar writes the regular files and directories under each path
// (absolute, stored without the leading slash) to w. A non-zero limit
// bounds the total file size. Paths that do not exist are skipped. skip,
// when it returns true for a directory, leaves it out.
func writeTar(w io.Writer, paths []string, limit int64, skip ...func(path string) bool) error {
	tw := tar.NewWriter(w)
	var total int64
	for _, root := range paths {
		if !filepath.IsAbs(root) {
			return fmt.Errorf("%s: not an absolute path", root)
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			for _, s := range skip {
				if d.IsDir() && path != root && s(path) {
					return filepath.SkipDir
				}
			}
			fi, err := d.Info()
			if err != nil {
				return nil // removed meanwhile
			}
			name := strings.TrimPrefix(path, "/")
			switch {
			case fi.IsDir():
				return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()})
			case fi.Mode().IsRegular():
				total += fi.Size()
				if limit > 0 && total > limit {
					return fmt.Errorf("more than %d MiB under %s", limit>>20, root)
				}
				f, err := os.Open(path)
				if err != nil {
					return nil
				}
				defer f.Close()
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
					return err
				}
				_, err = io.CopyN(tw, f, fi.Size())
				return err
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(path)
				if err != nil {
					return nil
				}
				return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, ModTime: fi.ModTime()})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// extractTar writes a tar made by writeTar back at its absolute paths.
// Files are replaced atomically (a temp file renamed over the old one), so
// a reader never sees half a file.
func extractTar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		path := "/" + strings.TrimPrefix(filepath.Clean("/"+h.Name), "/")
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, fs.FileMode(h.Mode)|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
				continue // unchanged (the same file, when exec runs on this machine)
			}
			if err := writeFileAtomic(path, b, fs.FileMode(h.Mode)); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if cur, err := os.Readlink(path); err == nil && cur == h.Linkname {
				continue
			}
			os.Remove(path)
			if err := os.Symlink(h.Linkname, path); err != nil {
				return err
			}
		}
	}
}

func writeFileAtomic(path string, b []byte, mode fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	f.Chmod(mode)
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}
