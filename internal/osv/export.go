package osv

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/shipgate/shipgate/internal/atomicfile"
)

// ExportZips writes the records as osv.dev's per-ecosystem exports, laid
// out as osv-scanner's local database: dir/osv-scalibr/<Ecosystem>/all.zip
// with one <ID>.json per record (a record affecting two ecosystems goes in
// both). Withdrawn records are kept: readers skip them. The zips are
// byte-identical for the same records. It returns the ecosystems written.
func (db *DB) ExportZips(dir string) ([]string, error) {
	by := map[string][]*Record{}
	for _, r := range db.Records {
		seen := map[string]bool{}
		for _, a := range r.Affected {
			e := baseEcosystem(a.Package.Ecosystem)
			if e != "" && !seen[e] {
				seen[e] = true
				by[e] = append(by[e], r)
			}
		}
	}
	var ecos []string
	for e := range by {
		ecos = append(ecos, e)
	}
	sort.Strings(ecos)
	for _, e := range ecos {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, r := range by[e] {
			b, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				return nil, err
			}
			w, err := zw.CreateHeader(&zip.FileHeader{Name: r.ID + ".json", Method: zip.Deflate,
				Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				return nil, err
			}
			if _, err := w.Write(b); err != nil {
				return nil, err
			}
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		d := filepath.Join(dir, "osv-scalibr", e)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(filepath.Join(d, "all.zip"), 0o644, func(w io.Writer) error {
			_, err := w.Write(buf.Bytes())
			return err
		}); err != nil {
			return nil, err
		}
	}
	return ecos, nil
}
