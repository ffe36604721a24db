#!/bin/sh
# Regenerates gitleaks-v8.30.1.tsv: gitleaks v8.30.1's findings (file, line,
# rule; no secrets) on samples/, which TestCredSweeperAccuracy compares with
# shipgate's. Needs gitleaks v8.30.1:
#   go install github.com/zricethezav/gitleaks/v8@v8.30.1
# The JSON report goes to a temporary file: gitleaks deletes its report path
# before writing, so never point it at a file you need.
set -eu
cd "$(dirname "$0")/samples"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${GITLEAKS:-gitleaks}" version
"${GITLEAKS:-gitleaks}" dir . --no-banner --exit-code 0 --report-format json --report-path "$tmp/report.json" 2>/dev/null
python3 - "$tmp/report.json" > ../gitleaks-v8.30.1.tsv <<'PY'
import json, sys
rows = sorted({(f["File"].removeprefix("./"), f["StartLine"], f["RuleID"]) for f in json.load(open(sys.argv[1]))})
print("# gitleaks v8.30.1 `gitleaks dir .` on samples/: file, line, rule (see gitleaks.sh)")
for r in rows:
    print("%s\t%d\t%s" % r)
PY
