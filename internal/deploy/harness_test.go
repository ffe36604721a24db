package deploy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The tests run real processes: the test service (built once from
// testdata/svc), Debian's prometheus and prometheus-pushgateway, each on a
// free loopback port, stopped when the test ends.

var (
	svcOnce sync.Once
	svcPath string
	svcErr  error
)

func buildSvc(t *testing.T) string {
	t.Helper()
	svcOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shipgate-svc-")
		if err != nil {
			svcErr = err
			return
		}
		svcPath = filepath.Join(dir, "svc")
		out, err := exec.Command("go", "build", "-o", svcPath, "./testdata/svc").CombinedOutput()
		if err != nil {
			svcErr = fmt.Errorf("build testdata/svc: %v\n%s", err, out)
		}
	})
	if svcErr != nil {
		t.Fatal(svcErr)
	}
	return svcPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func needBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: apt-get install -y %s (listed in scripts/packages.txt)", name, name)
	}
	return p
}

// startDaemon runs a server and waits for url to answer 200.
func startDaemon(t *testing.T, name string, args []string, ready string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, needBinary(t, name), args...)
	logPath := filepath.Join(t.TempDir(), name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(logPath)
	t.Fatalf("%s did not become ready at %s:\n%s", name, ready, log)
}

// startPrometheus scrapes the supervisor's replicas (found through its
// service discovery endpoint) and its proxy metrics every second.
func startPrometheus(t *testing.T, adminAddr string) string {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: replicas
    http_sd_configs:
      - url: http://%[1]s/sd
        refresh_interval: 1s
  - job_name: proxy
    static_configs:
      - targets: ['%[1]s']
`, adminAddr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "prometheus", []string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--log.level=warn",
	}, "http://"+addr+"/-/ready")
	return "http://" + addr
}

func startPushgateway(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	startDaemon(t, "prometheus-pushgateway", []string{"--web.listen-address=" + addr}, "http://"+addr+"/-/ready")
	return "http://" + addr
}

// inProcess returns a local provider whose supervisors run in this test
// process (the CLI test covers the detached process).
func inProcess(t *testing.T, dir string) *Local {
	t.Helper()
	var mu sync.Mutex
	stops := []func(){}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range stops {
			s()
		}
	})
	return &Local{Dir: dir, Spawn: func(env, dir, listen string) error {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		s := &Supervisor{Env: env, Dir: dir, Listen: listen, Log: testLog{t}}
		go func() { done <- s.Run(ctx) }()
		mu.Lock()
		stops = append(stops, func() { cancel(); <-done })
		mu.Unlock()
		select {
		case err := <-done:
			return err
		case <-time.After(200 * time.Millisecond):
			return nil
		}
	}}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// traffic sends requests to url from a few workers until stopped, and
// counts the answers by body (the version) and status.
type traffic struct {
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	bodies map[string]int
	codes  map[int]int
	total  atomic.Int64
}

func startTraffic(url string, workers int) *traffic {
	tr := &traffic{stop: make(chan struct{}), bodies: map[string]int{}, codes: map[int]int{}}
	c := &http.Client{Timeout: 5 * time.Second}
	for range workers {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for {
				select {
				case <-tr.stop:
					return
				default:
				}
				resp, err := c.Get(url)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				buf := make([]byte, 64)
				n, _ := resp.Body.Read(buf)
				resp.Body.Close()
				tr.mu.Lock()
				tr.codes[resp.StatusCode]++
				if resp.StatusCode == 200 {
					tr.bodies[strings.TrimSpace(string(buf[:n]))]++
				}
				tr.mu.Unlock()
				tr.total.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return tr
}

func (tr *traffic) Stop() {
	close(tr.stop)
	tr.wg.Wait()
}

// erlangService returns the example service's run script, building its
// release first when there is none (rebar3 from Debian's package).
func erlangService(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../examples/erlang-service")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "_build/default/rel/erlsvc/bin/erlsvc")); err != nil {
		needBinary(t, "rebar3")
		cmd := exec.Command("rebar3", "release")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("rebar3 release: %v\n%s", err, out)
		}
	}
	return filepath.Join(dir, "bin/erlsvc-run")
}
