package release

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// KeyTypes are the key algorithms GenerateKeys makes.
var KeyTypes = []string{"ecdsa-p256", "ed25519"}

// ErrKeyless is returned for keyless signing, which needs Fulcio and Rekor
// over the network.
var ErrKeyless = errors.New("keyless signing is not available yet: it needs the network (a Fulcio certificate and a Rekor entry); sign with a key from 'shipgate keys generate' instead")

// GenerateKeys makes a key pair of type kt and returns the private key as
// cosign writes it (PEM "ENCRYPTED SIGSTORE PRIVATE KEY": PKCS#8 encrypted
// with scrypt and NaCl secretbox under password) and the public key as PEM
// "PUBLIC KEY". An empty password is refused.
func GenerateKeys(kt string, password []byte) (priv, pub []byte, err error) {
	if len(password) == 0 {
		return nil, nil, errors.New("an empty passphrase would leave the private key unprotected")
	}
	var key crypto.Signer
	switch kt {
	case "ecdsa-p256", "":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, nil, fmt.Errorf("unknown key type %q (want %s)", kt, strings.Join(KeyTypes, " or "))
	}
	if err != nil {
		return nil, nil, err
	}
	der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(key, func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		return nil, nil, err
	}
	priv = cryptoutils.PEMEncode(cryptoutils.EncryptedSigstorePrivateKeyPEMType, der)
	pub, err = cryptoutils.MarshalPublicKeyToPEM(key.Public())
	return priv, pub, err
}

// Signer signs blobs and DSSE envelopes with one private key.
type Signer struct {
	sv signature.SignerVerifier
	// Public is the public key in PEM.
	Public []byte
}

// LoadSigner decrypts a private key (cosign's encrypted format, or an
// unencrypted PKCS#8 / EC PEM) with password.
func LoadSigner(privPEM, password []byte) (*Signer, error) {
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(privPEM, func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		if strings.Contains(err.Error(), "decrypt") {
			return nil, fmt.Errorf("cannot decrypt the private key: wrong passphrase? (%v)", err)
		}
		return nil, fmt.Errorf("reading the private key: %w", err)
	}
	sv, err := signature.LoadSignerVerifier(key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	pk, err := sv.PublicKey()
	if err != nil {
		return nil, err
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(pk)
	if err != nil {
		return nil, err
	}
	return &Signer{sv: sv, Public: pub}, nil
}

// SignBlob returns the signature of data as cosign sign-blob writes it:
// base64 of the raw signature (ECDSA: ASN.1 over SHA-256; Ed25519: over the
// message).
func (s *Signer) SignBlob(data []byte) ([]byte, error) {
	sig, err := s.sv.SignMessage(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return []byte(base64.StdEncoding.EncodeToString(sig)), nil
}

// LoadVerifier reads a PEM public key.
func LoadVerifier(pubPEM []byte) (signature.Verifier, error) {
	pk, err := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	if err != nil {
		return nil, fmt.Errorf("reading the public key: %w", err)
	}
	return signature.LoadVerifier(pk, crypto.SHA256)
}

// VerifyBlob checks a cosign-format (base64) signature of data.
func VerifyBlob(v signature.Verifier, data, b64sig []byte) error {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b64sig)))
	if err != nil {
		return fmt.Errorf("signature is not base64: %v", err)
	}
	if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(data)); err != nil {
		return errors.New("signature does not match the content and key")
	}
	return nil
}
