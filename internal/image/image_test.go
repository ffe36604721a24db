package image_test

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/image"
	"github.com/shipgate/shipgate/internal/image/imagetest"
)

var epoch = time.Unix(1700000000, 0).UTC()

func write(t *testing.T, root, rel, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// release makes an application folder and a `rebar3 tar`-like tarball.
func release(t *testing.T) (dir, tarball string) {
	t.Helper()
	dir = t.TempDir()
	write(t, dir, "bin/app", "#!/bin/sh\necho hi\n", 0o755)
	write(t, dir, "lib/app-1.0.0/ebin/app.app", "{application,app,[{vsn,\"1.0.0\"}]}.\n", 0o644)
	tarball = filepath.Join(t.TempDir(), "app-1.0.0.tar.gz")
	f, err := os.Create(tarball)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, e := range []struct{ name, body string }{{"releases/1.0.0/start.boot", "boot"}, {"bin/app", "#!/bin/sh\n"}} {
		// Real tarballs carry their own times and owners; the build drops them.
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o755, Size: int64(len(e.body)), ModTime: time.Now(), Uid: 1000, Uname: "dev"}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	gz.Close()
	f.Close()
	return dir, tarball
}

func options(t *testing.T, base, dir, tarball string) image.BuildOptions {
	return image.BuildOptions{
		Base: base,
		Layers: []image.LayerSpec{
			{Src: dir, Dest: "/opt/app"},
			{Src: tarball, Dest: "/opt/rel"},
		},
		Entrypoint: []string{"/opt/app/bin/app"}, Cmd: []string{"foreground"},
		Env: []string{"LANG=C.UTF-8"}, User: "1000:1000", Workdir: "/opt/app",
		Labels:   map[string]string{"org.opencontainers.image.source": "https://github.com/shipgate/shipgate"},
		Platform: "linux/amd64", ExposedPorts: []string{"8080"}, Time: epoch,
	}
}

// TestReproducible: the same inputs give the same digest, whether written
// as an OCI layout or a docker-archive, from copies of the inputs in other
// folders, with other file times.
func TestReproducible(t *testing.T) {
	var digests []string
	for i := 0; i < 2; i++ {
		root := imagetest.DebianRootfs(t, false)
		dir, tarball := release(t)
		// Different mtimes on the second run.
		if i == 1 {
			later := time.Now().Add(time.Hour)
			filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, later, later) })
			filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, later, later) })
		}
		img, err := image.Build(options(t, root, dir, tarball))
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		d1, err := image.Write(img, "oci:"+filepath.Join(out, "layout"), "")
		if err != nil {
			t.Fatal(err)
		}
		d2, err := image.Write(img, "docker-archive:"+filepath.Join(out, "img.tar"), "")
		if err != nil {
			t.Fatal(err)
		}
		if d1 != d2 {
			t.Errorf("OCI layout digest %s != docker-archive digest %s", d1, d2)
		}
		// Reading each back gives the same image.
		for _, ref := range []string{"oci:" + filepath.Join(out, "layout"), filepath.Join(out, "img.tar")} {
			back, err := image.Open(ref, "")
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := back.Digest(); ref[:4] == "oci:" && d != d1 {
				t.Errorf("%s read back as %s, written as %s", ref, d, d1)
			}
		}
		digests = append(digests, d1.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds of the same inputs: %s and %s", digests[0], digests[1])
	}
}

// TestConfigAndLayers checks the config and the normalised entries.
func TestConfigAndLayers(t *testing.T) {
	dir, tarball := release(t)
	img, err := image.Build(options(t, "scratch", dir, tarball))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !reflect.DeepEqual(c.Entrypoint, []string{"/opt/app/bin/app"}) || !reflect.DeepEqual(c.Cmd, []string{"foreground"}) ||
		!reflect.DeepEqual(c.Env, []string{"LANG=C.UTF-8"}) || c.User != "1000:1000" || c.WorkingDir != "/opt/app" ||
		c.Labels["org.opencontainers.image.source"] == "" || cf.OS != "linux" || cf.Architecture != "amd64" ||
		!cf.Created.Time.Equal(epoch) {
		t.Errorf("config: %+v (os %s arch %s created %s)", c, cf.OS, cf.Architecture, cf.Created)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports: %v", c.ExposedPorts)
	}
	if len(cf.History) != 2 || !strings.Contains(cf.History[0].CreatedBy, "/opt/app") {
		t.Errorf("history: %+v", cf.History)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	want := [][]string{
		{"opt/", "opt/app/", "opt/app/bin/", "opt/app/bin/app", "opt/app/lib/", "opt/app/lib/app-1.0.0/", "opt/app/lib/app-1.0.0/ebin/", "opt/app/lib/app-1.0.0/ebin/app.app"},
		{"opt/", "opt/rel/", "opt/rel/releases/", "opt/rel/releases/1.0.0/", "opt/rel/releases/1.0.0/start.boot", "opt/rel/bin/", "opt/rel/bin/app"},
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		var names []string
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			names = append(names, h.Name)
			if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
				t.Errorf("layer %d %s: mtime %s owner %d:%d %q:%q", i, h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname)
			}
			if h.Name == "opt/app/bin/app" && h.Mode&0o111 == 0 {
				t.Errorf("executable bit lost: %o", h.Mode)
			}
		}
		rc.Close()
		if !reflect.DeepEqual(names, want[i]) {
			t.Errorf("layer %d entries:\n got %q\nwant %q", i, names, want[i])
		}
	}
}

// TestBaseKinds: an OCI layout and a docker-archive written by Build are
// bases for a next build, which keeps the base's layers and config.
func TestBaseKinds(t *testing.T) {
	dir, tarball := release(t)
	img, err := image.Build(options(t, "scratch", dir, tarball))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, ref := range []string{"oci:" + filepath.Join(out, "base"), "docker-archive:" + filepath.Join(out, "base.tar")} {
		if _, err := image.Write(img, ref, "base:1"); err != nil {
			t.Fatal(err)
		}
		next, err := image.Build(image.BuildOptions{Base: ref, Layers: []image.LayerSpec{{Src: filepath.Join(dir, "bin/app"), Dest: "/usr/local/bin/"}}, Time: epoch})
		if err != nil {
			t.Fatalf("base %s: %v", ref, err)
		}
		ls, _ := next.Layers()
		cf, _ := next.ConfigFile()
		if len(ls) != 3 || cf.Config.User != "1000:1000" || len(cf.History) != 3 {
			t.Errorf("base %s: %d layers, user %q, %d history entries", ref, len(ls), cf.Config.User, len(cf.History))
		}
		names, _ := image.Entries(ls[2])
		if !reflect.DeepEqual(names, []string{"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/app"}) {
			t.Errorf("file layer: %q", names)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		o    image.BuildOptions
		want string
	}{
		{image.BuildOptions{Base: "/no/such/base"}, "no such file"},
		{image.BuildOptions{Layers: []image.LayerSpec{{Src: "/no/such/dir"}}}, "no such file"},
		{image.BuildOptions{Env: []string{"NOEQUALS"}}, "want KEY=VALUE"},
		{image.BuildOptions{Platform: "amd64"}, "want os/arch"},
		{image.BuildOptions{ExposedPorts: []string{"http"}}, "want NUMBER"},
	} {
		_, err := image.Build(c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}
	notTar := filepath.Join(t.TempDir(), "x.tar")
	os.WriteFile(notTar, []byte("hello"), 0o644)
	if _, err := image.Open(notTar, ""); err == nil || !strings.Contains(err.Error(), "not a tar archive") {
		t.Errorf("open non-tar: %v", err)
	}
	// An existing folder that is not a layout is never overwritten.
	keep := t.TempDir()
	write(t, keep, "precious.txt", "x", 0o644)
	img, _ := image.Build(image.BuildOptions{})
	if _, err := image.Write(img, "oci:"+keep, ""); err == nil {
		t.Error("wrote over a non-layout folder")
	}
	if _, err := os.Stat(filepath.Join(keep, "precious.txt")); err != nil {
		t.Error(err)
	}
	for _, s := range []string{"", "a:"} {
		if _, err := image.ParseLayerSpec(s); err == nil {
			t.Errorf("ParseLayerSpec(%q): no error", s)
		}
	}
	if ls, _ := image.ParseLayerSpec("rel.tar.gz:/opt/app"); ls.Src != "rel.tar.gz" || ls.Dest != "/opt/app" {
		t.Errorf("ParseLayerSpec: %+v", ls)
	}
}
