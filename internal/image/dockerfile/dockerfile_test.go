package dockerfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/image"
	"github.com/shipgate/shipgate/internal/image/dockerfile"
)

func context(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"_build/prod/rel/erlmcp/bin/erlmcp": "#!/bin/sh\n",
		"config/sys.config":                 "[].\n",
		"erlmcp-1.0.0.tar.gz":               "not really gzip",
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	return dir
}

func TestSubset(t *testing.T) {
	src := `# syntax=docker/dockerfile:1
ARG BASE=debian:12-slim
FROM ${BASE}
ARG VERSION=0.0.0
LABEL org.opencontainers.image.version=$VERSION \
      org.opencontainers.image.title="erlmcp"
ENV LANG=C.UTF-8 RELX_REPLACE_OS_VARS=true
WORKDIR /opt
WORKDIR erlmcp
COPY --chown=1000:1000 _build/prod/rel/erlmcp/ ./
COPY config/sys.config erlmcp-1.0.0.tar.gz /etc/erlmcp/
USER 1000
EXPOSE 8080 4369/tcp
ENTRYPOINT ["/opt/erlmcp/bin/erlmcp"]
CMD foreground
`
	ctx := context(t)
	o, err := dockerfile.Parse("Dockerfile", []byte(src), dockerfile.Options{
		Context: ctx, BuildArgs: map[string]string{"VERSION": "1.2.0"},
		Bases: map[string]string{"debian:12-slim": "oci:/images/debian"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := image.BuildOptions{
		Base: "oci:/images/debian",
		Layers: []image.LayerSpec{
			{Src: filepath.Join(ctx, "_build/prod/rel/erlmcp"), Dest: "/opt/erlmcp/", Raw: true, UID: 1000, GID: 1000,
				CreatedBy: "COPY --chown=1000:1000 _build/prod/rel/erlmcp/ ./"},
			{Src: filepath.Join(ctx, "config/sys.config"), Dest: "/etc/erlmcp/", Raw: true,
				CreatedBy: "COPY config/sys.config erlmcp-1.0.0.tar.gz /etc/erlmcp/",
				More:      []image.LayerSpec{{Src: filepath.Join(ctx, "erlmcp-1.0.0.tar.gz"), Dest: "/etc/erlmcp/", Raw: true}}},
		},
		Entrypoint:   []string{"/opt/erlmcp/bin/erlmcp"},
		Cmd:          []string{"/bin/sh", "-c", "foreground"},
		Env:          []string{"LANG=C.UTF-8", "RELX_REPLACE_OS_VARS=true"},
		User:         "1000",
		Workdir:      "/opt/erlmcp",
		Labels:       map[string]string{"org.opencontainers.image.version": "1.2.0", "org.opencontainers.image.title": "erlmcp"},
		ExposedPorts: []string{"4369/tcp", "8080"}, // buildkit sorts them
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
}

// TestRunIsAnError: RUN, and every other instruction outside the subset,
// is an error naming its line; all are reported at once.
func TestRunIsAnError(t *testing.T) {
	src := "FROM scratch\nRUN apt-get update && \\\n    apt-get install -y curl\nCOPY --from=build /x /x\nHEALTHCHECK CMD true\nADD https://example.com/x.tgz /\nFROM scratch\n"
	_, err := dockerfile.Parse("Dockerfile", []byte(src), dockerfile.Options{Context: t.TempDir()})
	var errs dockerfile.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v is not dockerfile.Errors", err)
	}
	var lines []string
	for _, e := range errs {
		lines = append(lines, e.Error())
	}
	want := []string{
		"Dockerfile:2:1: RUN needs a container runtime",
		"Dockerfile:4:1: COPY --from=build: multi-stage",
		"Dockerfile:5:1: HEALTHCHECK is not in the subset",
		"Dockerfile:6:1: ADD https://example.com/x.tgz: remote sources",
		"Dockerfile:7:1: a second FROM",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d errors:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("error %d: %s\nwant prefix %s", i, lines[i], want[i])
		}
	}
}

func TestInputErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"FROM debian:12\n", "Dockerfile:1:1: FROM debian:12: no local image"},
		{"COPY a b\n", "COPY before FROM"},
		{"FROM scratch\nCOPY missing /x\n", "Dockerfile:2:1: missing: not found"},
		{"FROM scratch\nCOPY --chown=app:app a /x\n", "only numeric"},
		{"FROM scratch\nEXPOSE http\n", "EXPOSE http"},
		{"", "Dockerfile:1:1: file with no instructions"},
		{"# only a comment\nARG A=1\n", "no FROM"},
		{"FROM scratch\nENV\n", "Dockerfile:2:1:"},
	} {
		_, err := dockerfile.Parse("Dockerfile", []byte(c.src), dockerfile.Options{Context: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.src, err, c.want)
		}
	}
}

// TestBuildsFromDockerfile: the options build, and two builds agree.
func TestBuildsFromDockerfile(t *testing.T) {
	ctx := context(t)
	src := "FROM scratch\nCOPY _build/prod/rel/erlmcp /opt/erlmcp\nENTRYPOINT [\"/opt/erlmcp/bin/erlmcp\"]\n"
	var digests []string
	for i := 0; i < 2; i++ {
		o, err := dockerfile.Parse("Dockerfile", []byte(src), dockerfile.Options{Context: ctx})
		if err != nil {
			t.Fatal(err)
		}
		img, err := image.Build(o)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests = append(digests, d.String())
		ls, _ := img.Layers()
		names, _ := image.Entries(ls[0])
		if !reflect.DeepEqual(names, []string{"opt/", "opt/erlmcp/", "opt/erlmcp/bin/", "opt/erlmcp/bin/erlmcp"}) {
			t.Errorf("layer: %q", names)
		}
	}
	if digests[0] != digests[1] {
		t.Errorf("digests differ: %v", digests)
	}
}

func TestBuildFile(t *testing.T) {
	ctx := context(t)
	df := filepath.Join(ctx, "Dockerfile")
	os.WriteFile(df, []byte("FROM scratch\nCOPY config /etc/app\nUSER 65532\n"), 0o644)
	img, err := dockerfile.BuildFile(df, dockerfile.Options{}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	ls, _ := img.Layers()
	if cf.Config.User != "65532" || len(ls) != 1 {
		t.Errorf("user %q, %d layers", cf.Config.User, len(ls))
	}
	if _, err := dockerfile.BuildFile(filepath.Join(ctx, "nope"), dockerfile.Options{}, time.Unix(0, 0)); err == nil {
		t.Error("missing Dockerfile accepted")
	}
}
