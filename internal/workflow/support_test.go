package workflow

import (
	"strings"
	"testing"
)

const containerWorkflow = `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    container:
      image: ${{ matrix.img }}
      env:
        NODE_ENV: test
      ports:
        - 8080:80
      volumes:
        - /data:/data:ro
        - cache:/cache
      options: --cpus 1 --memory 512m
    strategy:
      matrix:
        img: [busybox:1]
    services:
      Web:
        image: nginx:1
        ports: [80]
        options: --health-cmd "wget -q -O- http://localhost/"
      db:
        image: postgres:16
        env:
          POSTGRES_PASSWORD: pw
    steps:
      - run: echo hi
`

func supportDiags(t *testing.T, src string, opts Options) ([]string, *Workflow) {
	t.Helper()
	opts.NoScriptCheck = true
	wf, ds := Parse("w.yml", []byte(src), opts)
	var out []string
	for _, d := range ds {
		if d.Rule == RuleSupport {
			out = append(out, d.Pos.String()+" "+d.Message)
		}
	}
	return out, wf
}

func TestContainerNeedsTheContainerExecutor(t *testing.T) {
	got, _ := supportDiags(t, containerWorkflow, Options{Strict: true})
	want := []string{
		`w.yml:5:5 not supported by shipgate yet: "container" in job "build" with the host executor (run it with --executor container)`,
		`w.yml:19:7 not supported by shipgate yet: "services" in job "build" with the host executor (service containers need --executor container)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("host executor:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got, wf := supportDiags(t, containerWorkflow, Options{Strict: true, Containers: true})
	if len(got) > 0 {
		t.Errorf("container executor: %v", got)
	}
	j := wf.Job("build")
	c := j.Container
	if c == nil || c.Image.Value != "${{ matrix.img }}" || c.Options.Value != "--cpus 1 --memory 512m" || len(c.Env) != 1 || c.Env[0].Key != "NODE_ENV" {
		t.Fatalf("container = %+v", c)
	}
	// Ports and volumes are kept apart (actionlint's tree mixes them).
	if len(c.Ports) != 1 || c.Ports[0].Value != "8080:80" || c.Ports[0].Pos.Line != 10 {
		t.Errorf("ports = %+v", c.Ports)
	}
	if len(c.Volumes) != 2 || c.Volumes[0].Value != "/data:/data:ro" || c.Volumes[1].Value != "cache:/cache" {
		t.Errorf("volumes = %+v", c.Volumes)
	}
	if len(j.Services) != 2 || j.Services[0].ID != "Web" || j.Services[1].ID != "db" {
		t.Fatalf("services = %+v", j.Services)
	}
	web, db := j.Services[0].Container, j.Services[1].Container
	if web.Image.Value != "nginx:1" || len(web.Ports) != 1 || web.Ports[0].Value != "80" || !strings.Contains(web.Options.Value, "--health-cmd") {
		t.Errorf("web = %+v", web)
	}
	if db.Image.Value != "postgres:16" || len(db.Env) != 1 || db.Env[0].Value.Value != "pw" {
		t.Errorf("db = %+v", db)
	}
}

func TestContainerCredentialsAndServiceExpression(t *testing.T) {
	src := `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    container:
      image: ghcr.io/o/i:1
      credentials:
        username: u
        password: ${{ secrets.PW }}
    steps:
      - run: echo hi
  b:
    runs-on: ubuntu-latest
    services: ${{ fromJSON(vars.SERVICES) }}
    steps:
      - run: echo hi
`
	got, _ := supportDiags(t, src, Options{Strict: true, Containers: true})
	if len(got) != 2 || !strings.Contains(got[0], `"credentials" for the container of job "a": nothing is pulled`) ||
		!strings.Contains(got[1], `"services" in job "b" given as one expression`) {
		t.Errorf("diagnostics:\n%s", strings.Join(got, "\n"))
	}
}
