// Package dockertest starts a private Docker Engine (Debian's docker.io:
// dockerd with its own containerd) for tests, and builds small images
// without a registry.
//
// The daemon listens on a unix socket in a temp folder and keeps its
// data-root and exec-root there too (storage driver vfs, no iptables, no
// default bridge), so it touches nothing of the machine's own Docker and
// leaves nothing behind: Stop terminates it, unmounts what it mounted and
// removes the folder. Images come from `docker import` of a tar made here:
// BusyboxImage is FROM scratch plus Debian's busybox-static, whose applets
// provide sh, tail, httpd and wget.
package dockertest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// Daemon is a running dockerd.
type Daemon struct {
	// Dir holds the socket, the data and exec roots and the log.
	Dir string
	// Host is the engine's address for DOCKER_HOST ("unix:///.../docker.sock").
	Host string
	// Log is dockerd's output file.
	Log string

	cmd  *exec.Cmd
	done chan struct{}
}

// dockerd finds the daemon binary.
func dockerd() (string, error) {
	if p, err := exec.LookPath("dockerd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/dockerd", "/usr/bin/dockerd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("dockerd not found: install Debian's docker.io (listed in scripts/packages.txt)")
}

// Start starts dockerd and waits until it answers (at most a minute).
func Start(ctx context.Context) (*Daemon, error) {
	bin, err := dockerd()
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("dockerd needs root (this harness runs it as root, as CI does)")
	}
	// A short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "sgdocker-")
	if err != nil {
		return nil, err
	}
	d := &Daemon{Dir: dir, Host: "unix://" + filepath.Join(dir, "docker.sock"), Log: filepath.Join(dir, "dockerd.log"), done: make(chan struct{})}
	cfg := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte("{}\n"), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(d.Log)
	if err != nil {
		return nil, err
	}
	d.cmd = exec.Command(bin,
		"--host", d.Host,
		"--config-file", cfg,
		"--data-root", filepath.Join(dir, "root"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--storage-driver", "vfs",
		"--iptables=false", "--ip6tables=false", "--ip-masq=false",
		"--bridge", "none",
		// Its own address range: two harness daemons at once (test
		// packages run in parallel) must not give two bridges one subnet.
		"--default-address-pool", "base="+freePool()+",size=24",
		"--shutdown-timeout", "2",
		"--log-level", "warn",
	)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Its own process group: a test's Ctrl-C reaches it through Stop only.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting dockerd: %w", err)
	}
	go func() { d.cmd.Wait(); logf.Close(); close(d.done) }()
	if err := d.wait(ctx, time.Minute); err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

// wait polls /_ping on the socket.
func (d *Daemon) wait(ctx context.Context, limit time.Duration) error {
	sock := strings.TrimPrefix(d.Host, "unix://")
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			return fmt.Errorf("dockerd exited at start:\n%s", d.tail())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
			fmt.Fprintf(c, "GET /_ping HTTP/1.0\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.Contains(line, " 200 ") {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("dockerd did not answer within %v:\n%s", limit, d.tail())
}

// tail is the end of dockerd's log.
func (d *Daemon) tail() string {
	b, _ := os.ReadFile(d.Log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// Existing is an engine someone else runs at host (for example podman's
// Docker-compatible socket); Stop leaves it alone.
func Existing(host string) *Daemon { return &Daemon{Host: host} }

// FromEnv is the engine named by SHIPGATE_TEST_DOCKER_HOST when set (to
// run a suite against another engine, such as podman), else a new private
// dockerd.
func FromEnv(ctx context.Context) (*Daemon, error) {
	if h := os.Getenv("SHIPGATE_TEST_DOCKER_HOST"); h != "" {
		return Existing(h), nil
	}
	return Start(ctx)
}

// Stop terminates dockerd (SIGTERM, SIGKILL after 30s), unmounts whatever
// is still mounted under Dir and removes Dir.
func (d *Daemon) Stop() error {
	if d.Dir == "" {
		return nil // not ours
	}
	if d.cmd != nil && d.cmd.Process != nil {
		// Networks left by a failed test would leave their bridge
		// interfaces on the machine after dockerd is gone.
		if cli, err := d.Client(); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if l, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true}); err == nil {
				for _, c := range l.Items {
					cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
				}
			}
			cli.NetworkPrune(ctx, client.NetworkPruneOptions{})
			cancel()
			cli.Close()
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
	}
	unmountUnder(d.Dir)
	return os.RemoveAll(d.Dir)
}

// freePool picks a 10.N.0.0/16 that no route on this machine uses,
// starting from one derived from the pid.
func freePool() string {
	b, _ := os.ReadFile("/proc/net/route")
	used := map[int]bool{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 2 || len(f[1]) != 8 {
			continue
		}
		// Destination is little-endian hex: the first octet is the last byte.
		var dst uint32
		fmt.Sscanf(f[1], "%x", &dst)
		if dst&0xff == 10 {
			used[int(dst>>8&0xff)] = true
		}
	}
	for i := 0; i < 100; i++ {
		n := 100 + (os.Getpid()+i*37)%100
		if !used[n] {
			return fmt.Sprintf("10.%d.0.0/16", n)
		}
	}
	return "10.199.0.0/16"
}

// unmountUnder lazily unmounts every mount point below dir, deepest first.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, p := range points {
		syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

// Client is a client for the daemon.
func (d *Daemon) Client() (*client.Client, error) {
	return client.New(client.WithHost(d.Host), client.WithAPIVersionNegotiation())
}

// ForTest starts a daemon for t and stops it in t.Cleanup. A daemon that
// cannot start fails the test (it is not skipped): the log says why.
func ForTest(t testing.TB) *Daemon {
	t.Helper()
	start := time.Now()
	d, err := Start(context.Background())
	if err != nil {
		t.Fatalf("dockertest: %v", err)
	}
	t.Logf("dockertest: dockerd at %s ready in %v", d.Host, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("dockertest: stop: %v", err)
		}
	})
	return d
}

// busybox finds Debian's static busybox (package busybox-static).
func busybox() (string, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		out, err := exec.Command("file", "-L", p).Output()
		if err == nil && !bytes.Contains(out, []byte("statically linked")) {
			continue // a dynamic busybox would not run FROM scratch
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("busybox not found: install Debian's busybox-static (listed in scripts/packages.txt)")
}

// BusyboxImage imports an image named ref into the daemon at host: FROM
// scratch, a static busybox with every applet linked in /bin, /tmp, and
// files (path -> content, created with their folders). Its PATH is the
// usual one; it has no bash.
func BusyboxImage(ctx context.Context, host, ref string, files map[string]string) error {
	bb, err := busybox()
	if err != nil {
		return err
	}
	bin, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	mkdir := func(p string, mode int64) {
		for _, d := range parents(p) {
			if !dirs[d] {
				dirs[d] = true
				tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755})
			}
		}
		if !dirs[p] {
			dirs[p] = true
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode})
		}
	}
	mkdir("bin", 0o755)
	mkdir("tmp", 0o1777)
	mkdir("etc", 0o755)
	mkdir("root", 0o700)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))})
	tw.Write(bin)
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777})
		}
	}
	base := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for k, v := range files {
		base[strings.TrimPrefix(k, "/")] = v
	}
	names := make([]string, 0, len(base))
	for k := range base {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		if d := filepath.Dir(name); d != "." {
			mkdir(d, 0o755)
		}
		body := base[name]
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: int64(len(body))})
		io.WriteString(tw, body)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	cli, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	rc, err := cli.ImageImport(ctx, client.ImageImportSource{Source: &buf, SourceName: "-"}, ref, client.ImageImportOptions{
		Changes: []string{"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "CMD [\"sh\"]"},
	})
	if err != nil {
		return fmt.Errorf("importing %s: %w", ref, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("importing %s: %w", ref, err)
		}
		if m.Error != "" {
			return fmt.Errorf("importing %s: %s", ref, m.Error)
		}
	}
}

// parents lists the folders above p, outermost first ("a/b/c" -> a, a/b).
func parents(p string) []string {
	var out []string
	for d := filepath.Dir(p); d != "." && d != "/"; d = filepath.Dir(d) {
		out = append([]string{d}, out...)
	}
	return out
}
