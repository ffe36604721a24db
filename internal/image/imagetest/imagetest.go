// Package imagetest builds the small real Debian root filesystem the image
// tests share: the .deb packages committed in internal/image/testdata/debs
// (fetched with `apt-get download` from bookworm, see the MANIFEST there)
// unpacked with dpkg-deb, with their real control paragraphs as dpkg
// status entries (internal/image/testdata/mkrootfs.sh).
package imagetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Testdata is the absolute path of internal/image/testdata.
func Testdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// DebianRootfs unpacks the committed .debs into a new folder under
// t.TempDir() and returns it. With statusD, each package's status
// paragraph is a file of var/lib/dpkg/status.d/ (as in distroless images)
// instead of one var/lib/dpkg/status. It needs dpkg-deb (package dpkg).
func DebianRootfs(t testing.TB, statusD bool) string {
	t.Helper()
	return RootfsFrom(t, filepath.Join(Testdata(), "debs"), statusD)
}

// RootfsFrom is DebianRootfs for another folder of .debs.
func RootfsFrom(t testing.TB, debs string, statusD bool) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	cmd := exec.Command("sh", filepath.Join(Testdata(), "mkrootfs.sh"), debs, root)
	cmd.Env = os.Environ()
	if statusD {
		cmd.Env = append(cmd.Env, "STATUS_D=1")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkrootfs.sh: %v\n%s", err, out)
	}
	return root
}
