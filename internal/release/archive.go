package release

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// entry is one file going into an archive.
type entry struct {
	name string // slash path inside the archive
	src  string // file on disk
	exec bool
}

// collect walks the inputs (files or directories, relative to root) into
// sorted archive entries under prefix/. Symlinks and special files are
// errors: they do not travel reproducibly.
func collect(root, prefix string, inputs []string) ([]entry, error) {
	seen := map[string]bool{}
	var out []entry
	for _, in := range inputs {
		full := in
		if !filepath.IsAbs(full) {
			full = filepath.Join(root, in)
		}
		base := filepath.Dir(full)
		err := filepath.WalkDir(full, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if !d.Type().IsRegular() {
				return fmt.Errorf("%s: only regular files can be archived (not %s)", p, d.Type())
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(base, p)
			if err != nil {
				return err
			}
			name := path.Join(prefix, filepath.ToSlash(rel))
			if seen[name] {
				return fmt.Errorf("%s: two inputs give the archive path %s", p, name)
			}
			seen[name] = true
			out = append(out, entry{name: name, src: p, exec: info.Mode()&0o111 != 0})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	if len(out) == 0 {
		return nil, fmt.Errorf("no files to archive in %s", strings.Join(inputs, ", "))
	}
	return out, nil
}

func mode(e entry) int64 {
	if e.exec {
		return 0o755
	}
	return 0o644
}

// writeTarGz writes a reproducible tar.gz: entries sorted, every mtime set
// to mtime, owner 0:0 with empty names, modes 0644/0755, PAX-free USTAR
// headers where names allow, and a gzip header without name or time.
func writeTarGz(w io.Writer, entries []entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	gz.Header.ModTime = time.Time{}
	gz.Header.Name = ""
	gz.Header.OS = 255
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		f, err := os.Open(e.src)
		if err != nil {
			return err
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     e.name,
			Size:     info.Size(),
			Mode:     mode(e),
			ModTime:  mtime.UTC().Truncate(time.Second),
			Format:   tar.FormatPAX,
		}
		if len(e.name) <= 100 {
			hdr.Format = tar.FormatUSTAR
		}
		if err := tw.WriteHeader(hdr); err != nil {
			f.Close()
			return err
		}
		n, err := io.Copy(tw, f)
		f.Close()
		if err != nil {
			return err
		}
		if n != info.Size() {
			return fmt.Errorf("%s changed while archiving", e.src)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// writeZip writes a reproducible zip: entries sorted, deflated, every
// modification time set to mtime (UTC), modes 0644/0755, no directories.
func writeZip(w io.Writer, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime.UTC().Truncate(time.Second)}
		hdr.SetMode(fs.FileMode(mode(e)))
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		f, err := os.Open(e.src)
		if err != nil {
			return err
		}
		_, err = io.Copy(fw, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return zw.Close()
}
