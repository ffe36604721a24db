package deploy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReliabilityProbes(t *testing.T) {
	svc := buildSvc(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	dir := t.TempDir()
	local := inProcess(t, filepath.Join(dir, "deploy"))
	if err := local.Deploy(ctx, "rel", Release{Version: "1.0.0", Command: svc, Replicas: 2}); err != nil {
		t.Fatal(err)
	}
	res, err := local.ProbeRestart(ctx, "rel", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("results %+v", res)
	}
	for _, r := range res {
		t.Logf("restart %s: ok=%v in %s (%s)", r.Target, r.OK, r.Took.Round(time.Millisecond), r.Message)
		if !r.OK {
			t.Errorf("%+v", r)
		}
	}
	// Reload: the check looks for a marker the service never serves, so
	// the probe must report the setting not in effect within the bound.
	marker := filepath.Join(dir, "changed")
	r, err := local.ProbeReload(ctx, "rel", "touch "+marker, Check{Name: "version", URL: "/health", Contains: "9.9.9"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("change command did not run: %v", err)
	}
	if r.OK {
		t.Errorf("reload probe passed for a setting never applied: %+v", r)
	}
	// And one that holds: /health answers ok, no replica restarted.
	r, err = local.ProbeReload(ctx, "rel", "true", Check{Name: "health", URL: "/health", Contains: `"ok"`}, 5*time.Second)
	if err != nil || !r.OK {
		t.Errorf("%+v %v", r, err)
	}
}

// The configuration-reload probe against the Erlang example service: its
// CONFIG_FILE is changed on disk, the new version string must be served
// within 5 s, and no replica may restart.
func TestReloadProbeErlangService(t *testing.T) {
	run := erlangService(t)
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "erlsvc.conf")
	if err := os.WriteFile(conf, []byte("{fail_rate, 0.0}.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	local := inProcess(t, filepath.Join(dir, "deploy"))
	if err := local.Deploy(ctx, "erl", Release{Version: "1.0.0", Command: run, Replicas: 2, HealthTimeout: 40 * time.Second,
		Env: map[string]string{"CONFIG_FILE": conf}}); err != nil {
		t.Fatal(err)
	}
	change := `sleep 1; printf '{fail_rate, 0.0}.\n{version, "1.0.1-reloaded"}.\n' > ` + conf
	r, err := local.ProbeReload(ctx, "erl", change, Check{Name: "version", URL: "/health", Contains: "1.0.1-reloaded"}, 5*time.Second)
	if err != nil || !r.OK {
		t.Fatalf("%+v %v", r, err)
	}
	t.Logf("reload: %s", r.Message)
	res, err := local.ProbeRestart(ctx, "erl", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		t.Logf("restart %s: ok=%v in %s (%s)", r.Target, r.OK, r.Took.Round(time.Millisecond), r.Message)
		if !r.OK {
			t.Errorf("%+v", r)
		}
	}
}
