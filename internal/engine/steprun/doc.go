// Package steprun is what happens around one `run:` step, exactly as
// GitHub's runner does it on a Linux host:
//
//   - Shell turns `shell:` (or its default) into an argv and a script file
//     (bash --noprofile --norc -eo pipefail {0}, sh -e {0}, python {0},
//     pwsh -command ". '{0}'", or a custom "cmd {0}").
//   - Files creates the per-step GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH,
//     GITHUB_STATE and GITHUB_STEP_SUMMARY files and reads them back
//     afterwards (ParseEnvFile handles "name<<DELIMITER" multi-line values).
//   - Output is the io.Writer a step's stdout and stderr go to: it splits
//     lines, acts on workflow commands (::add-mask::, ::error::, ::group::,
//     ::stop-commands::, ...), masks secrets (every line of a multi-line
//     secret, and masks added while the step runs) and hands each visible
//     line and annotation to the engine.
package steprun
