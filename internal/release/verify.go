package release

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
)

// ChecksumsFile is the name of the checksums file of a release.
const ChecksumsFile = "SHA256SUMS"

// SignatureSuffix is appended to an artifact's name for its signature.
const SignatureSuffix = ".sig"

// WriteChecksums renders SHA256SUMS ("<hex>  <name>" lines, sorted by name,
// as sha256sum writes them).
func WriteChecksums(sums map[string]string) []byte {
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	return b.Bytes()
}

// ParseChecksums reads a SHA256SUMS file (also accepting sha256sum's
// binary-mode "*name").
func ParseChecksums(data []byte) (map[string]string, error) {
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if strings.TrimSpace(l) == "" {
			continue
		}
		hash, name, ok := strings.Cut(l, " ")
		name = strings.TrimPrefix(strings.TrimPrefix(name, " "), "*")
		if _, err := hex.DecodeString(hash); !ok || err != nil || len(hash) != 64 || name == "" {
			return nil, fmt.Errorf("line %d: not \"<sha256>  <name>\"", line)
		}
		sums[name] = strings.ToLower(hash)
	}
	return sums, sc.Err()
}

// FileSHA256 is the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Check is one verification of one file.
type Check struct {
	// File is what was checked: an artifact, SHA256SUMS, a .sig file or
	// the provenance.
	File string `json:"file"`
	// What: "digest", "signature", "checksums-signature", "provenance".
	What    string `json:"what"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
	// Skipped: not checked (signatures without a public key).
	Skipped bool `json:"skipped,omitempty"`
}

// VerifyOptions say what to verify.
type VerifyOptions struct {
	Artifacts []string
	// PublicKey is the PEM public key signatures are checked against; nil
	// checks digests and provenance subjects only and reports the
	// signatures as skipped.
	PublicKey []byte
	// Checksums is the SHA256SUMS path; empty: SHA256SUMS beside the first
	// artifact. Its signature is Checksums+".sig".
	Checksums string
	// Provenance is the DSSE envelope (.intoto.jsonl); empty: not checked.
	Provenance string
}

// Verify checks every artifact's digest against SHA256SUMS, its signature
// and SHA256SUMS's signature with the key, and, when given, that the signed
// provenance names the artifact's digest. Every check is returned; a failed
// one says which file is wrong.
func Verify(o VerifyOptions) ([]Check, error) {
	var v signature.Verifier
	if o.PublicKey != nil {
		var err error
		if v, err = LoadVerifier(o.PublicKey); err != nil {
			return nil, err
		}
	}
	if len(o.Artifacts) == 0 {
		return nil, fmt.Errorf("no artifacts to verify")
	}
	var checks []Check
	add := func(file, what string, err error, ok string) {
		c := Check{File: file, What: what, OK: err == nil, Message: ok}
		if err != nil {
			c.Message = err.Error()
		}
		if err == errNoKey {
			c.OK, c.Skipped, c.Message = true, true, file+": not checked (no public key)"
		}
		checks = append(checks, c)
	}
	sumsPath := o.Checksums
	if sumsPath == "" {
		sumsPath = filepath.Join(filepath.Dir(o.Artifacts[0]), ChecksumsFile)
	}
	var sums map[string]string
	sumsData, err := os.ReadFile(sumsPath)
	if err != nil {
		add(sumsPath, "checksums", fmt.Errorf("%s: cannot read the checksums file: %v", sumsPath, err), "")
	} else {
		add(sumsPath+SignatureSuffix, "checksums-signature", verifyFileSig(v, sumsPath, sumsData), sumsPath+" is signed by the key")
		if sums, err = ParseChecksums(sumsData); err != nil {
			add(sumsPath, "checksums", fmt.Errorf("%s: %v", sumsPath, err), "")
			sums = nil
		}
	}
	var stmt *ParsedStatement
	if o.Provenance != "" {
		env, err := os.ReadFile(o.Provenance)
		if err == nil {
			stmt, err = OpenEnvelope(bytes.TrimSpace(env), o.PublicKey)
		}
		if err != nil {
			add(o.Provenance, "provenance", fmt.Errorf("provenance %s: %v", o.Provenance, err), "")
		} else {
			if o.PublicKey == nil {
				add(o.Provenance, "provenance", errNoKey, "")
			} else {
				add(o.Provenance, "provenance", nil, "provenance "+o.Provenance+" is signed by the key")
			}
		}
	}
	for _, a := range o.Artifacts {
		name := filepath.Base(a)
		data, err := os.ReadFile(a)
		if err != nil {
			add(a, "digest", fmt.Errorf("artifact %s: %v", a, err), "")
			continue
		}
		sum := sha256.Sum256(data)
		digest := hex.EncodeToString(sum[:])
		switch want, listed := sums[name]; {
		case sums == nil:
		case !listed:
			add(a, "digest", fmt.Errorf("artifact %s is not listed in %s", a, sumsPath), "")
		case want != digest:
			add(a, "digest", fmt.Errorf("artifact %s: sha256 %s does not match %s (%s)", a, digest, sumsPath, want), "")
		default:
			add(a, "digest", nil, "artifact "+a+" matches "+sumsPath)
		}
		add(a+SignatureSuffix, "signature", verifyFileSig(v, a, data), "artifact "+a+" is signed by the key")
		if stmt != nil {
			found := false
			for _, s := range stmt.Subject {
				if s.Digest["sha256"] == digest {
					found = true
				}
			}
			if found {
				add(a, "provenance-subject", nil, "provenance names "+a+" by its digest")
			} else {
				add(a, "provenance-subject", fmt.Errorf("provenance %s names no subject with the sha256 of artifact %s (%s)", o.Provenance, a, digest), "")
			}
		}
	}
	return checks, nil
}

var errNoKey = errors.New("no public key")

func verifyFileSig(v signature.Verifier, path string, data []byte) error {
	if v == nil {
		return errNoKey
	}
	sigPath := path + SignatureSuffix
	sig, err := os.ReadFile(sigPath)
	if err != nil {
		return fmt.Errorf("signature %s: cannot read: %v", sigPath, err)
	}
	if err := VerifyBlob(v, data, sig); err != nil {
		return fmt.Errorf("signature %s does not verify %s: %v (the file or its signature was changed, or another key signed it)", sigPath, path, err)
	}
	return nil
}
