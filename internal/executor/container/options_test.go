package container

import (
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

func parse(t *testing.T, opts string) (*created, error) {
	t.Helper()
	c := &created{cfg: &container.Config{Labels: map[string]string{}}, host: &container.HostConfig{}}
	return c, applyOptions(opts, c)
}

func TestOptionsAsGitHubUsersWriteThem(t *testing.T) {
	c, err := parse(t, `--health-cmd "pg_isready -U postgres" --health-interval=10s --health-timeout 5s --health-retries 5 `+
		`--cpus 1.5 -m 512m --memory-swap -1 --network host --network-alias db2 -e A=1 --env "B=two words" --privileged --init --ulimit nofile=1024:2048 -p 8080:80`)
	if err != nil {
		t.Fatal(err)
	}
	h := c.cfg.Healthcheck
	if h == nil || strings.Join(h.Test, "|") != "CMD-SHELL|pg_isready -U postgres" || h.Interval != 10*time.Second || h.Timeout != 5*time.Second || h.Retries != 5 {
		t.Errorf("health = %+v", h)
	}
	r := c.host.Resources
	if r.NanoCPUs != 1.5e9 || r.Memory != 512<<20 || r.MemorySwap != -1 || len(r.Ulimits) != 1 || r.Ulimits[0].Hard != 2048 {
		t.Errorf("resources = %+v", r)
	}
	if c.network != "host" || strings.Join(c.aliases, ",") != "db2" || strings.Join(c.cfg.Env, ",") != "A=1,B=two words" || !c.host.Privileged || c.host.Init == nil || !*c.host.Init {
		t.Errorf("created = %+v %+v", c, c.cfg)
	}
	if b := c.host.PortBindings[network.MustParsePort("80/tcp")]; len(b) != 1 || b[0].HostPort != "8080" {
		t.Errorf("ports = %v", c.host.PortBindings)
	}
}

func TestOptionsErrorsNameTheFlag(t *testing.T) {
	for opts, want := range map[string]string{
		"--gpus all":               "--gpus is not supported",
		"--cpus":                   "--cpus needs a value",
		"--cpus zero":              `--cpus "zero"`,
		"--memory 12parsecs":       `--memory "12parsecs"`,
		"--health-interval 10":     `--health-interval "10"`,
		"--health-cmd 'unclosed":   "unterminated ' quote",
		"ubuntu:22.04":             `unexpected "ubuntu:22.04"`,
		"--label shipgate.dev/x=1": "shipgate's own",
		"--privileged=maybe":       "want true or false",
	} {
		if _, err := parse(t, opts); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", opts, err, want)
		}
	}
}

func TestPortsAndVolumes(t *testing.T) {
	c, _ := parse(t, "")
	for _, p := range []string{"80", "127.0.0.1:5432:5432", "53:53/udp"} {
		if err := addPort(p, c); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if len(c.cfg.ExposedPorts) != 3 || c.host.PortBindings[network.MustParsePort("5432")][0].HostIP.String() != "127.0.0.1" {
		t.Errorf("ports = %v", c.host.PortBindings)
	}
	for _, bad := range []string{"a:b:c:d", "x", "70000:80"} {
		if err := addPort(bad, c); err == nil {
			t.Errorf("port %q accepted", bad)
		}
	}
	for _, v := range []string{"/data", "/src:/dst:ro", "cache:/cache"} {
		if err := addVolume(v, c); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	if len(c.cfg.Volumes) != 1 || strings.Join(c.host.Binds, ",") != "/src:/dst:ro,cache:/cache" {
		t.Errorf("volumes %v binds %v", c.cfg.Volumes, c.host.Binds)
	}
	if err := addVolume("relative", c); err == nil {
		t.Error("a relative volume was accepted")
	}
}
