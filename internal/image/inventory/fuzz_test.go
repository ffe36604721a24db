package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDpkgStatus: any input parses without panicking; every returned
// entry has a package name, problems have positions inside the input.
func FuzzDpkgStatus(f *testing.F) {
	f.Add([]byte("Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\nDescription: x\n y\n .\n z\n\n"))
	f.Add([]byte("Package: libc6\nSource: glibc (2.36-9+deb12u14)\nVersion: 2.36-9+deb12u14\n"))
	f.Add([]byte(" continuation\nno colon\n:\nPackage:\n\n\n"))
	seedFromFiles(f, "../testdata/fuzz-seeds/dpkg")
	f.Fuzz(func(t *testing.T, data []byte) {
		ents, probs := ParseDpkgStatus("status", data)
		lines := strings.Count(string(data), "\n") + 1
		for _, e := range ents {
			if e.Package == "" || e.Line < 1 || e.Line > lines {
				t.Fatalf("entry %+v (input has %d lines)", e, lines)
			}
			_ = e.Installed()
		}
		for _, p := range probs {
			if p.Line < 1 || p.Line > lines {
				t.Fatalf("problem at line %d of %d", p.Line, lines)
			}
		}
	})
}

// FuzzApkInstalled: the same for the apk database.
func FuzzApkInstalled(f *testing.F) {
	f.Add([]byte("C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\nL:MIT\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:busybox\nV:1.36.1-r5\n"))
	f.Add([]byte("P:x\n\nV:1\nbad\nP\n"))
	seedFromFiles(f, "../testdata/fuzz-seeds/apk")
	f.Fuzz(func(t *testing.T, data []byte) {
		ents, probs := ParseApkInstalled("installed", data)
		lines := strings.Count(string(data), "\n") + 1
		for _, e := range ents {
			if e.Name == "" || e.Version == "" || e.Line < 1 || e.Line > lines {
				t.Fatalf("entry %+v", e)
			}
		}
		for _, p := range probs {
			if p.Line < 1 || p.Line > lines {
				t.Fatalf("problem at line %d of %d", p.Line, lines)
			}
		}
	})
}

func seedFromFiles(f *testing.F, dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			f.Add(b)
		}
	}
}
