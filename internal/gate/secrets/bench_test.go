package secrets

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkScanGoroot scans the Go distribution's source tree, the corpus of
// the speed comparison with gitleaks (see the package's note).
func BenchmarkScanGoroot(b *testing.B) {
	cfg, err := DefaultConfig()
	if err != nil {
		b.Fatal(err)
	}
	d := NewDetector(cfg)
	root := filepath.Join(runtime.GOROOT(), "src")
	for b.Loop() {
		_, st, err := d.ScanDir(context.Background(), root, ScanOptions{MaxFileSize: 10 << 20})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(st.Bytes)
	}
}
