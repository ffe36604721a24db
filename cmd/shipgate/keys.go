package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shipgate/shipgate/internal/atomicfile"
	"github.com/shipgate/shipgate/internal/release"
	"github.com/spf13/cobra"
)

// defaultPasswordEnv is the environment variable holding the passphrase of
// the private key.
const defaultPasswordEnv = "SHIPGATE_KEY_PASSWORD"

// keyPassword reads the passphrase from the environment variable name.
func keyPassword(name string) ([]byte, error) {
	pw, ok := os.LookupEnv(name)
	if !ok || pw == "" {
		return nil, usageError("set the private key's passphrase in $%s (or name another variable with --password-env)", name)
	}
	return []byte(pw), nil
}

func (a *app) keysCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "keys",
		Short: "Generate signing keys",
		Long: `keys makes the key pair release signs with. The private key is written
as cosign writes it (PEM "ENCRYPTED SIGSTORE PRIVATE KEY", scrypt and NaCl
secretbox), encrypted with the passphrase from $SHIPGATE_KEY_PASSWORD, so
cosign can use it too; the public key is a PEM "PUBLIC KEY".`,
		Example: `  SHIPGATE_KEY_PASSWORD=... shipgate keys generate
  SHIPGATE_KEY_PASSWORD=... shipgate keys generate --type ed25519 --output release`,
	}
	c.AddCommand(a.keysGenerateCmd())
	return c
}

func (a *app) keysGenerateCmd() *cobra.Command {
	var kt, prefix, pwEnv string
	var force, asJSON bool
	c := &cobra.Command{
		Use:   "generate",
		Short: "Generate an ECDSA P-256 or Ed25519 key pair (PREFIX.key, PREFIX.pub)",
		Example: `  SHIPGATE_KEY_PASSWORD=... shipgate keys generate
  SHIPGATE_KEY_PASSWORD=... shipgate keys generate --type ed25519 --output release --json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			pw, err := keyPassword(pwEnv)
			if err != nil {
				return err
			}
			privPath, pubPath := prefix+".key", prefix+".pub"
			if !force {
				for _, p := range []string{privPath, pubPath} {
					if _, err := os.Stat(p); err == nil {
						return usageError("%s exists; use --force to replace it", p)
					}
				}
			}
			priv, pub, err := release.GenerateKeys(kt, pw)
			if err != nil {
				return usageError("%v", err)
			}
			for _, f := range []struct {
				path string
				data []byte
				perm os.FileMode
			}{{privPath, priv, 0o600}, {pubPath, pub, 0o644}} {
				if err := atomicfile.Write(f.path, f.perm, func(w io.Writer) error { _, err := w.Write(f.data); return err }); err != nil {
					return usageError("writing %s: %v", f.path, err)
				}
			}
			if asJSON {
				return printJSON(a.stdout, map[string]string{"type": kt, "private_key": privPath, "public_key": pubPath})
			}
			fmt.Fprintf(a.stdout, "wrote %s (private, encrypted with $%s) and %s (public, %s)\n", privPath, pwEnv, pubPath, kt)
			return nil
		},
	}
	c.Flags().StringVar(&kt, "type", "ecdsa-p256", "key type: "+strings.Join(release.KeyTypes, ", "))
	c.Flags().StringVar(&prefix, "output", "cosign", "file name `PREFIX` for PREFIX.key and PREFIX.pub")
	c.Flags().StringVar(&pwEnv, "password-env", defaultPasswordEnv, "environment `VARIABLE` holding the passphrase")
	c.Flags().BoolVar(&force, "force", false, "replace existing key files")
	c.Flags().BoolVar(&asJSON, "json", false, "print the written paths as JSON")
	return c
}
