package image

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BuildOptions describe an image to build.
type BuildOptions struct {
	// Base is "scratch" (or ""), an OCI layout, a docker-archive tarball or
	// a root filesystem folder (see ParseRef).
	Base string
	// Layers are appended in order, one image layer each.
	Layers []LayerSpec
	// Entrypoint and Cmd replace the base's when set (an empty, non-nil
	// slice clears them).
	Entrypoint, Cmd []string
	// Env entries are KEY=VALUE; a key already set is replaced in place.
	Env []string
	// User and Workdir replace the base's when not "".
	User, Workdir string
	// Labels are added to (and override) the base's.
	Labels map[string]string
	// ExposedPorts are "80", "80/tcp", "53/udp".
	ExposedPorts []string
	// Platform is os/arch[/variant]: required to pick one image of a
	// multi-platform base; for scratch it sets the config's platform
	// (default linux/amd64).
	Platform string
	// Time stamps the config, the history and every layer entry (see
	// SourceDateEpoch).
	Time time.Time
}

// SourceDateEpoch returns $SOURCE_DATE_EPOCH as a time, or the Unix epoch
// when it is unset: a build never depends on the clock.
func SourceDateEpoch() (time.Time, error) {
	s := strings.TrimSpace(os.Getenv("SOURCE_DATE_EPOCH"))
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want a number of seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Build makes the image: the base, then each layer, then the config.
func Build(o BuildOptions) (v1.Image, error) {
	// 1. The base.
	base, err := baseImage(o.Base, o.Platform, o.Time)
	if err != nil {
		return nil, err
	}
	// 2. The layers, each with a history entry.
	var adds []mutate.Addendum
	for _, spec := range o.Layers {
		l, err := NewLayer(spec, o.Time)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", spec.Src, err)
		}
		createdBy := spec.CreatedBy
		if createdBy == "" {
			dest := spec.Dest
			if dest == "" {
				dest = "/"
			}
			createdBy = fmt.Sprintf("COPY %s # shipgate image build --layer", dest)
		}
		adds = append(adds, mutate.Addendum{
			Layer:     l,
			MediaType: types.OCILayer,
			History:   v1.History{Created: v1.Time{Time: o.Time}, CreatedBy: createdBy},
		})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	// 3. The config.
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	if err := applyConfig(cf, o); err != nil {
		return nil, err
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return img, nil
}

func baseImage(base, platform string, t time.Time) (v1.Image, error) {
	if base == "" || base == "scratch" {
		return empty.Image, nil
	}
	r, err := ParseRef(base)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	if r.Kind == RootFS {
		return rootfsImageAt(r.Path, platform, t)
	}
	img, err := OpenRef(r, platform)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	return img, nil
}

// rootfsImage is a root filesystem folder as a one-layer image, stamped
// with SOURCE_DATE_EPOCH.
func rootfsImage(dir, platform string) (v1.Image, error) {
	t, err := SourceDateEpoch()
	if err != nil {
		return nil, err
	}
	return rootfsImageAt(dir, platform, t)
}

func rootfsImageAt(dir, platform string, t time.Time) (v1.Image, error) {
	l, err := NewLayer(LayerSpec{Src: dir, Dest: "/"}, t)
	if err != nil {
		return nil, fmt.Errorf("rootfs %s: %w", dir, err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer: l, MediaType: types.OCILayer,
		History: v1.History{Created: v1.Time{Time: t}, CreatedBy: "COPY / # shipgate image build --base ROOTFS"},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	if err := applyConfig(cf, BuildOptions{Platform: platform, Time: t}); err != nil {
		return nil, err
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON), nil
}

func applyConfig(cf *v1.ConfigFile, o BuildOptions) error {
	cf.Created = v1.Time{Time: o.Time}
	if o.Platform != "" {
		p, err := parsePlatform(o.Platform)
		if err != nil {
			return err
		}
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	}
	if cf.OS == "" {
		cf.OS = "linux"
	}
	if cf.Architecture == "" {
		cf.Architecture = "amd64"
	}
	c := &cf.Config
	if o.Entrypoint != nil {
		c.Entrypoint = o.Entrypoint
		if o.Cmd == nil {
			// As in a Dockerfile: a new ENTRYPOINT resets the base's CMD.
			c.Cmd = nil
		}
	}
	if o.Cmd != nil {
		c.Cmd = o.Cmd
	}
	for _, kv := range o.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("env %q: want KEY=VALUE", kv)
		}
		replaced := false
		for i, old := range c.Env {
			if ok, _, _ := strings.Cut(old, "="); ok == k {
				c.Env[i] = kv
				replaced = true
			}
		}
		if !replaced {
			c.Env = append(c.Env, kv)
		}
	}
	if o.User != "" {
		c.User = o.User
	}
	if o.Workdir != "" {
		if !path.IsAbs(o.Workdir) {
			o.Workdir = path.Join("/", c.WorkingDir, o.Workdir)
		}
		c.WorkingDir = o.Workdir
	}
	if len(o.Labels) > 0 {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for k, v := range o.Labels {
			c.Labels[k] = v
		}
	}
	ports := append([]string(nil), o.ExposedPorts...)
	sort.Strings(ports)
	for _, p := range ports {
		num, proto, _ := strings.Cut(p, "/")
		if proto == "" {
			proto = "tcp"
		}
		if n, err := strconv.Atoi(num); err != nil || n < 1 || n > 65535 || (proto != "tcp" && proto != "udp" && proto != "sctp") {
			return fmt.Errorf("port %q: want NUMBER[/tcp|udp|sctp]", p)
		}
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		c.ExposedPorts[num+"/"+proto] = struct{}{}
	}
	return nil
}
