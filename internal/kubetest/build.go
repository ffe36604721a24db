package kubetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Versions of what the harness builds. kube-apiserver,
// kube-controller-manager and kube-scheduler come from k8s.io/kubernetes
// (its staging modules pinned to the matching v0.x release); kwok from
// sigs.k8s.io/kwok; etcd from go.etcd.io/etcd/server/v3. Debian's
// etcd-server (3.4.23) is not used: it lacks the watch progress requests
// that the streaming watch lists of kube-controller-manager v1.32 and
// kwok rely on, and their informers would relist every second.
const (
	KubernetesVersion = "v1.32.0"
	stagingVersion    = "v0.32.0"
	KwokVersion       = "v0.7.0"
	EtcdVersion       = "v3.5.21"
)

// Binaries are the paths of the control-plane programs.
type Binaries struct {
	Etcd, APIServer, ControllerManager, Scheduler, Kwok string
}

// CacheDir is where the built programs are kept:
// $SHIPGATE_KUBE_CACHE, else ~/.cache/shipgate/kube ($XDG_CACHE_HOME
// when set), else (no home) a folder in the temp directory.
func CacheDir() (string, error) {
	if d := os.Getenv("SHIPGATE_KUBE_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "shipgate-kube-cache"), nil
	}
	return filepath.Join(d, "shipgate", "kube"), nil
}

// EnsureBinaries returns the control-plane programs, building the missing
// ones from the Go module proxy into CacheDir first (each component is
// rebuilt when its binaries or its version stamp are missing). A file
// lock makes concurrent callers (test binaries of several packages) wait
// for one build. logf, when not nil, is told what is being built and how
// long it took.
func EnsureBinaries(logf func(format string, args ...any)) (*Binaries, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(cache, "bin")
	b := &Binaries{Etcd: filepath.Join(bin, "etcd"),
		APIServer:         filepath.Join(bin, "kube-apiserver"),
		ControllerManager: filepath.Join(bin, "kube-controller-manager"),
		Scheduler:         filepath.Join(bin, "kube-scheduler"),
		Kwok:              filepath.Join(bin, "kwok")}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(cache, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("kubetest: lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	for _, c := range []struct {
		name, stamp string
		bins        []string
		build       func(dir, bin string) error
	}{
		{"etcd", EtcdVersion, []string{b.Etcd}, buildEtcd},
		{"kubernetes", KubernetesVersion + " (version stamped)", []string{b.APIServer, b.ControllerManager, b.Scheduler}, buildKubernetes},
		{"kwok", KwokVersion, []string{b.Kwok}, buildKwok},
	} {
		stampFile := filepath.Join(bin, "STAMP-"+c.name)
		if s, err := os.ReadFile(stampFile); err == nil && string(s) == c.stamp+"\n" && allExist(c.bins...) {
			continue
		}
		os.Remove(stampFile)
		start := time.Now()
		logf("kubetest: building %s %s into %s (minutes on a cold cache)", c.name, c.stamp, bin)
		if err := c.build(filepath.Join(cache, "build", c.name), bin); err != nil {
			return nil, err
		}
		logf("kubetest: %s built in %s", c.name, time.Since(start).Round(time.Second))
		if err := os.WriteFile(stampFile, []byte(c.stamp+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func allExist(paths ...string) bool {
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// goCmd runs the go command in dir with a clean module environment.
func goCmd(dir string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOWORK", "GOOS", "GOARCH", "GOEXPERIMENT":
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "GOFLAGS=-mod=mod", "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubetest: go %s (in %s): %w\n%s", strings.Join(args, " "), dir, err, tail(out.String(), 4000))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// buildKubernetes builds the control plane in a scratch module that
// requires k8s.io/kubernetes and replaces each of its staging modules
// (which its own go.mod points at ./staging) by the published release:
// `go install k8s.io/kubernetes/...@version` refuses a module with
// replace directives.
func buildKubernetes(dir, bin string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// The module's own go.mod lists the staging modules.
	cmd := exec.Command("go", "mod", "download", "-json", "k8s.io/kubernetes@"+KubernetesVersion)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("kubetest: go mod download k8s.io/kubernetes@%s: %w", KubernetesVersion, err)
	}
	var info struct{ GoMod string }
	if err := json.Unmarshal(out, &info); err != nil || info.GoMod == "" {
		return fmt.Errorf("kubetest: go mod download k8s.io/kubernetes: no go.mod in %q", out)
	}
	f, err := os.Open(info.GoMod)
	if err != nil {
		return err
	}
	var staging []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[1] == "=>" && strings.HasPrefix(fields[2], "./staging/") {
			staging = append(staging, fields[0])
		}
	}
	f.Close()
	if len(staging) == 0 {
		return fmt.Errorf("kubetest: no staging modules in %s", info.GoMod)
	}
	var mod strings.Builder
	mod.WriteString("// Scratch module written by internal/kubetest: builds the control plane.\nmodule shipgate.local/kubebuild\n\ngo 1.23.0\n\nrequire k8s.io/kubernetes " + KubernetesVersion + "\n\nreplace (\n")
	for _, m := range staging {
		fmt.Fprintf(&mod, "\t%s => %s %s\n", m, m, stagingVersion)
	}
	mod.WriteString(")\n")
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod.String()), 0o644); err != nil {
		return err
	}
	tools := "//go:build tools\n\npackage kubebuild\n\nimport (\n\t_ \"k8s.io/kubernetes/cmd/kube-apiserver\"\n\t_ \"k8s.io/kubernetes/cmd/kube-controller-manager\"\n\t_ \"k8s.io/kubernetes/cmd/kube-scheduler\"\n)\n"
	if err := os.WriteFile(filepath.Join(dir, "tools.go"), []byte(tools), 0o644); err != nil {
		return err
	}
	// The version the binaries report (/version, kubectl version), which
	// a release build stamps the same way.
	minor := strings.Split(KubernetesVersion, ".")[1]
	ldflags := "-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion +
		" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=" + minor +
		" -X k8s.io/component-base/version.gitTreeState=clean"
	return goCmd(dir, "build", "-ldflags", ldflags, "-o", bin+"/",
		"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager", "k8s.io/kubernetes/cmd/kube-scheduler")
}

// buildKwok builds kwok in a scratch module (its go.mod has no replace
// directives, but a module keeps the build out of the repository's).
func buildKwok(dir, bin string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mod := "// Scratch module written by internal/kubetest: builds kwok.\nmodule shipgate.local/kwokbuild\n\ngo 1.24.0\n\nrequire sigs.k8s.io/kwok " + KwokVersion + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return err
	}
	tools := "//go:build tools\n\npackage kwokbuild\n\nimport _ \"sigs.k8s.io/kwok/cmd/kwok\"\n"
	if err := os.WriteFile(filepath.Join(dir, "tools.go"), []byte(tools), 0o644); err != nil {
		return err
	}
	return goCmd(dir, "build", "-o", filepath.Join(bin, "kwok"), "sigs.k8s.io/kwok/cmd/kwok")
}

// buildEtcd builds etcd's server in a scratch module (its own go.mod
// replaces its sibling modules by relative paths, which a dependency's
// go.mod may do: they are ignored outside its repository).
func buildEtcd(dir, bin string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mod := "// Scratch module written by internal/kubetest: builds etcd.\nmodule shipgate.local/etcdbuild\n\ngo 1.23.0\n\nrequire go.etcd.io/etcd/server/v3 " + EtcdVersion + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return err
	}
	tools := "//go:build tools\n\npackage etcdbuild\n\nimport _ \"go.etcd.io/etcd/server/v3\"\n"
	if err := os.WriteFile(filepath.Join(dir, "tools.go"), []byte(tools), 0o644); err != nil {
		return err
	}
	return goCmd(dir, "build", "-o", filepath.Join(bin, "etcd"), "go.etcd.io/etcd/server/v3")
}
