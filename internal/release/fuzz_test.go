package release

import "testing"

// FuzzParseChecksums: no panic, and what parses writes back to the same
// entries.
func FuzzParseChecksums(f *testing.F) {
	f.Add([]byte("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a.tar.gz\n"))
	f.Add([]byte("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 *b.zip\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sums, err := ParseChecksums(data)
		if err != nil {
			return
		}
		again, err := ParseChecksums(WriteChecksums(sums))
		if err != nil || len(again) != len(sums) {
			t.Fatalf("round trip: %v %v %v", sums, again, err)
		}
		for k, v := range sums {
			if again[k] != v {
				t.Fatalf("round trip of %q: %q != %q", k, again[k], v)
			}
		}
	})
}
