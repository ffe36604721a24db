// Package secrets is shipgate's secrets gate: it finds credentials in a
// directory, in a git history range or in stdin, and fails when one is not
// in the team's detect-secrets baseline.
//
// The flow through the package:
//
//   - config.go reads rules in gitleaks' TOML format (the built-in set,
//     rules/default.toml, is gitleaks v8.30.1's default plus shipgate's own
//     rules) and compiles them: regexes (Go's RE2), path patterns, entropy
//     thresholds, allowlists (paths, regexes, stopwords, commits).
//   - ahocorasick.go builds one Aho–Corasick automaton over every rule's
//     keywords; detect.go scans each fragment with it once and runs a rule's
//     regex only on the lines around its keywords, then applies secret
//     groups, entropy, inline allow comments (gitleaks:allow,
//     shipgate:allow, pragma: allowlist secret) and allowlists.
//   - scan.go walks a directory with a bounded pool of workers (honouring
//     .gitignore, skipping binaries and large files) and streams each file
//     in chunks; git.go streams `git log -p -U0` from the git binary.
//   - baseline.go reads and writes detect-secrets' .secrets.baseline
//     (hashed_secret is the SHA-1 of the secret) so only new secrets fail.
//   - gate.go ties these together (Run) and builds the gate.Report.
//
// A secret never leaves the detector: a Finding carries only a redacted
// match and, unexported, the secret's SHA-1 for the baseline.
package secrets
