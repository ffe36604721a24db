// Package image builds and reads container images without a container
// daemon, through github.com/google/go-containerregistry (what crane and ko
// use).
//
// The flow: Open reads an image from an OCI layout folder, a docker-archive
// tarball (what `docker save` writes) or a plain root filesystem folder
// (turned into a one-layer image). Build starts from such a base (or
// scratch), appends layers made from folders, files or tarballs, and sets
// the config (entrypoint, cmd, env, user, workdir, labels, ports,
// platform). Write stores the result as an OCI layout folder or a
// docker-archive tarball, atomically.
//
// Builds are reproducible: every layer entry gets the same modification
// time (SOURCE_DATE_EPOCH, else the Unix epoch), owner 0:0 with no user or
// group names, and folders are walked in sorted order; the config's
// creation time is that same time. The same inputs give the same image
// digest on any machine.
package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/shipgate/shipgate/internal/atomicfile"
)

// DefaultTag is the name written into docker-archive tarballs (and the OCI
// layout's ref.name annotation) when none is given.
const DefaultTag = "shipgate.local/image:latest"

// Kind says how an image reference is stored.
type Kind string

// The storage kinds Open and Write know.
const (
	OCILayout     Kind = "oci"
	DockerArchive Kind = "docker-archive"
	RootFS        Kind = "rootfs"
)

// Ref is a parsed image reference: where an image is and in which form.
type Ref struct {
	Kind Kind
	Path string
}

func (r Ref) String() string { return string(r.Kind) + ":" + r.Path }

// ParseRef reads "oci:DIR", "docker-archive:FILE", "rootfs:DIR" or a bare
// path: a folder with an index.json is an OCI layout, another folder a root
// filesystem, a file a docker-archive tarball.
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, errors.New("empty image reference")
	}
	for _, k := range []Kind{OCILayout, DockerArchive, RootFS} {
		if p, ok := strings.CutPrefix(s, string(k)+":"); ok {
			if p == "" {
				return Ref{}, fmt.Errorf("image reference %q: no path after %q", s, k+":")
			}
			return Ref{Kind: k, Path: p}, nil
		}
	}
	st, err := os.Stat(s)
	if err != nil {
		return Ref{}, fmt.Errorf("image %s: %w (want oci:DIR, docker-archive:FILE.tar, a rootfs folder or a path to one of them)", s, err)
	}
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(s, "index.json")); err == nil {
			return Ref{Kind: OCILayout, Path: s}, nil
		}
		return Ref{Kind: RootFS, Path: s}, nil
	}
	return Ref{Kind: DockerArchive, Path: s}, nil
}

// Open reads the image a reference names. An OCI layout with several
// images gives its first one (or the one for the platform, when given as
// os/arch).
func Open(ref string, platform string) (v1.Image, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return OpenRef(r, platform)
}

// OpenRef is Open for a parsed reference.
func OpenRef(r Ref, platform string) (v1.Image, error) {
	switch r.Kind {
	case OCILayout:
		return openLayout(r.Path, platform)
	case DockerArchive:
		if err := checkTar(r.Path); err != nil {
			return nil, err
		}
		img, err := tarball.ImageFromPath(r.Path, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: not a docker-archive image tarball: %w", r.Path, err)
		}
		return img, nil
	case RootFS:
		return rootfsImage(r.Path, platform)
	}
	return nil, fmt.Errorf("unknown image kind %q", r.Kind)
}

// checkTar makes sure a path is a readable tar before go-containerregistry
// looks for manifest.json in it (its error for a non-tar is obscure).
func checkTar(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := tar.NewReader(f).Next(); err != nil {
		return fmt.Errorf("%s: not a tar archive (want a docker-archive tarball): %v", path, err)
	}
	return nil
}

func openLayout(dir, platform string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: not an OCI image layout: %w", dir, err)
	}
	want, err := parsePlatform(platform)
	if err != nil {
		return nil, err
	}
	return firstImage(idx, want, dir)
}

func firstImage(idx v1.ImageIndex, want *v1.Platform, where string) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && want != nil && !d.Platform.Satisfies(*want) {
			continue
		}
		switch {
		case d.MediaType.IsImage():
			return idx.Image(d.Digest)
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if img, err := firstImage(child, want, where); err == nil {
				return img, nil
			}
		}
	}
	if want != nil {
		return nil, fmt.Errorf("%s: no image for platform %s", where, want)
	}
	return nil, fmt.Errorf("%s: the layout holds no image", where)
}

// parsePlatform reads os/arch[/variant]; "" is nil (any platform).
func parsePlatform(s string) (*v1.Platform, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("platform %q: want os/arch or os/arch/variant (e.g. linux/amd64)", s)
	}
	p := &v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// Write stores img at out ("oci:DIR" or "docker-archive:FILE.tar"; a bare
// path ending in .tar is a docker-archive, another bare path an OCI layout)
// and returns the manifest digest. tag names the image inside the output
// ("" is DefaultTag). Nothing half-written is left behind on error: a
// tarball is written atomically, a layout is written beside its final place
// and renamed into it.
func Write(img v1.Image, out, tag string) (v1.Hash, error) {
	if tag == "" {
		tag = DefaultTag
	}
	ref, err := name.NewTag(tag, name.WeakValidation)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("tag %q: %w", tag, err)
	}
	kind, path := OCILayout, out
	switch {
	case strings.HasPrefix(out, "oci:"):
		path = strings.TrimPrefix(out, "oci:")
	case strings.HasPrefix(out, "docker-archive:"):
		kind, path = DockerArchive, strings.TrimPrefix(out, "docker-archive:")
	case strings.HasSuffix(out, ".tar"):
		kind = DockerArchive
	}
	if path == "" {
		return v1.Hash{}, fmt.Errorf("output %q: no path", out)
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	if kind == DockerArchive {
		err = atomicfile.Write(path, 0o644, func(w io.Writer) error { return tarball.Write(ref, img, w) })
		return digest, err
	}
	return digest, writeLayout(path, img, tag)
}

// writeLayout writes a fresh one-image OCI layout at dir. An existing dir
// is replaced only when it is empty or already an OCI layout.
func writeLayout(dir string, img v1.Image, tag string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s: exists and is not a folder", dir)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) > 0 {
			if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
				return fmt.Errorf("%s: exists, is not empty and is not an OCI layout; not overwriting it", dir)
			}
		}
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
	})); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}
