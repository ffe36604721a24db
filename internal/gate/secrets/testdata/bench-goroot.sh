#!/bin/sh
# Speed comparison: `shipgate secrets` against `gitleaks dir` (v8.30.1) over
# the Go distribution's source tree, one run each, back to back on the same
# machine: wall time, CPU time and peak memory (GNU time -v), their ratios and
# the number of findings. Needs /usr/bin/time, python3, gitleaks v8.30.1
#   go install github.com/zricethezav/gitleaks/v8@v8.30.1
# and shipgate (go build -o /tmp/shipgate ./cmd/shipgate). Override with
# SHIPGATE=..., GITLEAKS=..., SRC=....
set -eu
src=${SRC:-$(go env GOROOT)/src}
sg=${SHIPGATE:-shipgate}
gl=${GITLEAKS:-gitleaks}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "corpus: $src ($(find "$src" -type f | wc -l) files, $(du -sh "$src" | cut -f1)); load: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
# gitleaks deletes its report path before writing: give it a scratch file.
/usr/bin/time -v "$gl" dir "$src" --no-banner --exit-code 0 --log-level error \
  --report-format json --report-path "$tmp/gitleaks.json" >/dev/null 2>"$tmp/gitleaks.time"
/usr/bin/time -v "$sg" secrets "$src" --json >"$tmp/shipgate.json" 2>"$tmp/shipgate.time" || true
python3 - "$tmp" <<'PY'
import json, re, sys
tmp = sys.argv[1]
def stats(name):
    t = open(f"{tmp}/{name}.time").read()
    wall = t.split("Elapsed (wall clock) time (h:mm:ss or m:ss): ")[1].split("\n")[0]
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t)[1]) + float(re.search(r"System time \(seconds\): ([\d.]+)", t)[1])
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)[1]) / 1024
    return secs, cpu, rss
g, s = stats("gitleaks"), stats("shipgate")
gf = len(json.load(open(f"{tmp}/gitleaks.json")))
sj = json.load(open(f"{tmp}/shipgate.json"))
sf = len(sj["findings"])
print(f"{'':10} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9} {'findings':>9}")
print(f"{'gitleaks':10} {g[0]:8.1f} {g[1]:8.1f} {g[2]:9.1f} {gf:9d}")
print(f"{'shipgate':10} {s[0]:8.1f} {s[1]:8.1f} {s[2]:9.1f} {sf:9d}")
print(f"ratio gitleaks/shipgate: wall {g[0]/s[0]:.1f}x, cpu {g[1]/s[1]:.1f}x, peak memory {g[2]/s[2]:.1f}x")
PY
