//go:build cosign

// The cosign interop test needs a cosign binary, which takes about 35
// minutes to build here, so it is not part of the default suite: run it with
//   go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5
//   go test -tags cosign ./internal/release -run Cosign
// Without cosign it fails rather than skips.

package release

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// cosignBinary finds cosign: $COSIGN, then PATH, then $(go env GOPATH)/bin
// where `go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5` puts it.
func cosignBinary() string {
	if p := os.Getenv("COSIGN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(string(out[:len(out)-1]), "bin", "cosign")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// TestCosignVerifiesOurSignatures runs cosign verify-blob --key against a
// shipgate release (ECDSA and Ed25519 keys), cosign verify-blob-attestation
// against its provenance, and cosign sign-blob with our encrypted private
// key against our verifier.
func TestCosignVerifiesOurSignatures(t *testing.T) {
	cosign := cosignBinary()
	if cosign == "" {
		t.Fatal("cosign not found: go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5 (or set $COSIGN)")
	}
	for _, kt := range KeyTypes {
		t.Run(kt, func(t *testing.T) {
			r := buildRepo(t)
			priv, pub, err := GenerateKeys(kt, []byte("pw"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := LoadSigner(priv, []byte("pw"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Build(context.Background(), Options{Dir: r.dir, Name: "tool", Files: []string{"bin"}, OutDir: t.TempDir(), Signer: s})
			if err != nil {
				t.Fatal(err)
			}
			keys := t.TempDir()
			os.WriteFile(filepath.Join(keys, "k.pub"), pub, 0o644)
			os.WriteFile(filepath.Join(keys, "k.key"), priv, 0o600)
			run := func(args ...string) ([]byte, error) {
				cmd := exec.Command(cosign, args...)
				cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=pw", "HOME="+keys)
				return cmd.CombinedOutput()
			}
			for _, f := range []string{res.Artifacts[0].Path, res.Artifacts[1].Path, res.Checksums} {
				out, err := run("verify-blob", "--key", filepath.Join(keys, "k.pub"), "--signature", f+SignatureSuffix, "--insecure-ignore-tlog=true", f)
				if err != nil {
					t.Errorf("cosign verify-blob %s: %v\n%s", filepath.Base(f), err, out)
				}
			}
			// cosign reads our DSSE-signed SLSA provenance and matches its
			// subjects to the artifacts.
			for _, a := range res.Artifacts {
				if out, err := run("verify-blob-attestation", "--key", filepath.Join(keys, "k.pub"), "--signature", res.Provenance, "--type", "slsaprovenance1", "--insecure-ignore-tlog=true", a.Path); err != nil {
					t.Errorf("cosign verify-blob-attestation %s: %v\n%s", a.Name, err, out)
				}
			}
			if out, err := run("verify-blob-attestation", "--key", filepath.Join(keys, "k.pub"), "--signature", res.Provenance, "--type", "slsaprovenance1", "--insecure-ignore-tlog=true", res.Checksums); err == nil {
				t.Errorf("cosign found SHA256SUMS among the provenance subjects:\n%s", out)
			}
			// A tampered blob must be refused by cosign too.
			bad := filepath.Join(keys, "tampered")
			b, _ := os.ReadFile(res.Checksums)
			b[0] ^= 1
			os.WriteFile(bad, b, 0o644)
			if out, err := run("verify-blob", "--key", filepath.Join(keys, "k.pub"), "--signature", res.Checksums+SignatureSuffix, "--insecure-ignore-tlog=true", bad); err == nil {
				t.Errorf("cosign accepted a tampered file:\n%s", out)
			}
			// cosign signs with our encrypted key; we verify its signature.
			// cosign v2.6.5 sign-blob panics with an Ed25519 key
			// ("crypto: requested hash function #0 is unavailable" in
			// NewHashReader: no hash for pure Ed25519), so only ECDSA here.
			if kt == "ed25519" {
				return
			}
			sigPath := filepath.Join(keys, "cosign.sig")
			if out, err := run("sign-blob", "--key", filepath.Join(keys, "k.key"), "--tlog-upload=false", "--yes", "--output-signature", sigPath, res.Checksums); err != nil {
				t.Fatalf("cosign sign-blob with our key: %v\n%s", err, out)
			}
			v, _ := LoadVerifier(pub)
			data, _ := os.ReadFile(res.Checksums)
			sig, _ := os.ReadFile(sigPath)
			if err := VerifyBlob(v, data, sig); err != nil {
				t.Errorf("our verifier rejects cosign's signature: %v", err)
			}
		})
	}
}
