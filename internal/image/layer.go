package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// LayerSpec is one layer to add: Src (a folder, a file, or a .tar /
// .tar.gz / .tgz tarball, which is unpacked into the layer) placed at Dest
// inside the image ("/" when empty for folders and tarballs; /BASENAME for
// a file; a Dest ending in "/" puts a file inside that folder).
type LayerSpec struct {
	Src  string
	Dest string
	// Raw copies a tarball as one file instead of unpacking it (COPY of
	// a .tar in a Dockerfile; ADD and --layer unpack).
	Raw bool
	// UID and GID own every entry of the layer (default 0:0).
	UID, GID int
	// More are further sources written into the same layer (COPY a b /d/).
	More []LayerSpec
	// CreatedBy is recorded in the image history ("" makes one from Dest
	// alone, never from the source path, so that builds from different
	// folders give the same digest).
	CreatedBy string
}

// ParseLayerSpec reads SRC[:DEST]; DEST starts with "/".
func ParseLayerSpec(s string) (LayerSpec, error) {
	if s == "" {
		return LayerSpec{}, fmt.Errorf("empty --layer")
	}
	if i := strings.LastIndex(s, ":/"); i > 0 {
		return LayerSpec{Src: s[:i], Dest: s[i+1:]}, nil
	}
	if strings.HasSuffix(s, ":") {
		return LayerSpec{}, fmt.Errorf("--layer %q: empty destination", s)
	}
	return LayerSpec{Src: s}, nil
}

// tarEntry is one entry of a layer being written.
type tarEntry struct {
	hdr  *tar.Header
	data []byte
	file string // read from this file instead of data
}

// layerWriter collects entries and writes a normalised tar: fixed mtime,
// owner 0:0, no names, parents created before children, sorted by path
// when asked.
type layerWriter struct {
	mtime    time.Time
	uid, gid int
	entries  []tarEntry
	seen     map[string]bool
}

func newLayerWriter(mtime time.Time) *layerWriter {
	return &layerWriter{mtime: mtime, seen: map[string]bool{}}
}

// cleanName turns an image path into a tar entry name: no leading slash,
// no "..", "" for the root.
func cleanName(p string) string {
	p = path.Clean("/" + filepath.ToSlash(p))
	return strings.TrimPrefix(p, "/")
}

func (lw *layerWriter) parents(name string) {
	dir := path.Dir(name)
	if dir == "." || dir == "" || lw.seen[dir+"/"] {
		return
	}
	lw.parents(dir)
	lw.seen[dir+"/"] = true
	lw.entries = append(lw.entries, tarEntry{hdr: &tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755}})
}

func (lw *layerWriter) add(e tarEntry) {
	name := cleanName(e.hdr.Name)
	if name == "" {
		return
	}
	if e.hdr.Typeflag == tar.TypeDir {
		name += "/"
	}
	e.hdr.Name = name
	lw.parents(strings.TrimSuffix(name, "/"))
	if e.hdr.Typeflag == tar.TypeDir && lw.seen[name] {
		// Keep the explicit mode of a folder already implied by a child.
		for i := range lw.entries {
			if lw.entries[i].hdr.Name == name {
				lw.entries[i].hdr.Mode = e.hdr.Mode
			}
		}
		return
	}
	lw.seen[name] = true
	lw.entries = append(lw.entries, e)
}

// write writes the tar.
func (lw *layerWriter) write(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, e := range lw.entries {
		h := *e.hdr
		h.ModTime = lw.mtime
		h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
		h.Uid, h.Gid, h.Uname, h.Gname = lw.uid, lw.gid, "", ""
		h.PAXRecords = nil
		h.Xattrs = nil //nolint:staticcheck // cleared for reproducibility
		h.Format = tar.FormatPAX
		if h.Typeflag == tar.TypeReg && e.file != "" {
			f, err := os.Open(e.file)
			if err != nil {
				return err
			}
			st, err := f.Stat()
			if err != nil {
				f.Close()
				return err
			}
			h.Size = st.Size()
			if err := tw.WriteHeader(&h); err != nil {
				f.Close()
				return err
			}
			_, err = io.CopyN(tw, f, h.Size)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", e.file, err)
			}
			continue
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		} else {
			h.Size = 0
		}
		if err := tw.WriteHeader(&h); err != nil {
			return err
		}
		if h.Size > 0 {
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// layer turns the collected entries into a gzip-compressed OCI layer.
func (lw *layerWriter) layer() (v1.Layer, error) {
	var buf bytes.Buffer
	if err := lw.write(&buf); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// addDir adds the tree under src at dest, in sorted order. Sockets, pipes
// and device files are left out (an image build cannot carry them
// portably); hard links are stored as regular files.
func (lw *layerWriter) addDir(src, dest string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		name := path.Join(dest, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		return lw.addPath(p, name, info, p == src)
	})
}

func (lw *layerWriter) addPath(p, name string, info fs.FileInfo, isRoot bool) error {
	mode := int64(info.Mode().Perm())
	if info.Mode()&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if info.Mode()&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if info.Mode()&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	switch {
	case info.IsDir():
		if isRoot && cleanName(name) == "" {
			return nil
		}
		lw.add(tarEntry{hdr: &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}})
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		lw.add(tarEntry{hdr: &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}})
	case info.Mode().IsRegular():
		lw.add(tarEntry{hdr: &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode}, file: p})
	}
	return nil
}

// addTarball unpacks a tar (plain, gzip or bzip2) into the layer under
// dest, keeping its entry order and normalising every header.
func (lw *layerWriter) addTarball(src, dest string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := decompress(f)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: reading tarball: %w", src, err)
		}
		name := path.Join(dest, cleanName(h.Name))
		nh := &tar.Header{Typeflag: h.Typeflag, Name: name, Mode: h.Mode & 0o7777, Linkname: h.Linkname}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old tars use TypeRegA
			nh.Typeflag = tar.TypeReg
			data, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", src, h.Name, err)
			}
			lw.add(tarEntry{hdr: nh, data: data})
		case tar.TypeDir, tar.TypeSymlink:
			lw.add(tarEntry{hdr: nh})
		case tar.TypeLink:
			nh.Linkname = path.Join(dest, cleanName(h.Linkname))
			lw.add(tarEntry{hdr: nh})
		}
	}
}

// decompress sniffs gzip and bzip2 magic numbers.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(3)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return gzip.NewReader(br)
	case len(magic) >= 3 && string(magic) == "BZh":
		return bzip2.NewReader(br), nil
	}
	return br, nil
}

// isTarball says whether a file is to be unpacked as a layer rather than
// copied as one file: by its name.
func isTarball(p string) bool {
	for _, s := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2"} {
		if strings.HasSuffix(p, s) {
			return true
		}
	}
	return false
}

// NewLayer makes one reproducible layer from a spec.
func NewLayer(spec LayerSpec, mtime time.Time) (v1.Layer, error) {
	lw := newLayerWriter(mtime)
	lw.uid, lw.gid = spec.UID, spec.GID
	for _, sp := range append([]LayerSpec{spec}, spec.More...) {
		if err := lw.addSpec(sp); err != nil {
			return nil, err
		}
	}
	return lw.layer()
}

func (lw *layerWriter) addSpec(spec LayerSpec) error {
	st, err := os.Stat(spec.Src)
	if err != nil {
		return fmt.Errorf("layer source: %w", err)
	}
	dest := spec.Dest
	switch {
	case st.IsDir():
		if dest == "" {
			dest = "/"
		}
		return lw.addDir(spec.Src, dest)
	case isTarball(spec.Src) && !spec.Raw:
		if dest == "" {
			dest = "/"
		}
		return lw.addTarball(spec.Src, dest)
	default:
		if dest == "" || strings.HasSuffix(dest, "/") {
			dest = path.Join("/", dest, filepath.Base(spec.Src))
		}
		return lw.addPath(spec.Src, dest, st, false)
	}
}

// Entries lists a layer's entry names in order (for tests and debugging).
func Entries(l v1.Layer) ([]string, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var out []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, h.Name)
	}
}
