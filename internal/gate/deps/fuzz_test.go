package deps

import "testing"

func FuzzIgnoreFile(f *testing.F) {
	f.Add([]byte("ignore:\n  - id: GHSA-2q6v-32mr-8p8x\n    package: plug\n    reason: r\n    expires: 2026-12-31\n"))
	f.Add([]byte("ignore:\n  - id: X\n    reason: r\n"))
	f.Add([]byte("ignore: [{id: X, reason: r, expires: 2026-01-01}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseIgnore("ign.yml", data)
	})
}
