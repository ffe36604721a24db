#!/bin/sh
# compare-syft.sh SHIPGATE SYFT IMAGE.tar [RUNS]: list IMAGE's packages with
# `shipgate image inventory --json` and `syft docker-archive:IMAGE -o json`,
# print the packages each one finds that the other does not
# (type name version), and the wall time of each, best of RUNS (default 5).
set -eu
sg=$1 syft=$2 img=$3 runs=${4:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SYFT_CHECK_FOR_APP_UPDATE=false
best() { # best wall time in ms of running "$@" $runs times
	b=999999
	i=0
	while [ $i -lt "$runs" ]; do
		s=$(date +%s%N)
		"$@" > /dev/null 2>&1
		e=$(date +%s%N)
		t=$(( (e - s) / 1000000 ))
		[ $t -lt $b ] && b=$t
		i=$((i + 1))
	done
	echo $b
}
"$sg" image inventory "$img" --json > "$tmp/sg.json"
"$syft" "docker-archive:$img" -o json -q > "$tmp/syft.json"
# Go module versions: syft keeps the "v" of the module version, osv-scalibr
# (and OSV's Go records) drop it; compare without it.
jq -r '.packages[] | "\(.name) \(.version | sub("^v(?=[0-9])"; ""))"' "$tmp/sg.json" | sort -u > "$tmp/sg.txt"
jq -r '.artifacts[] | "\(.name) \(.version | sub("^v(?=[0-9])"; ""))"' "$tmp/syft.json" | sort -u > "$tmp/syft.txt"
echo "shipgate: $(wc -l < "$tmp/sg.txt") packages, syft: $(wc -l < "$tmp/syft.txt") packages"
echo "--- only shipgate:"; comm -23 "$tmp/sg.txt" "$tmp/syft.txt"
echo "--- only syft (with syft's type):"
comm -13 "$tmp/sg.txt" "$tmp/syft.txt" | while read -r n v; do
	jq -r --arg n "$n" --arg v "$v" '.artifacts[] | select(.name==$n and (.version | sub("^v(?=[0-9])"; ""))==$v) | "\(.type) \(.name) \(.version) \(.locations[0].path)"' "$tmp/syft.json"
done
cpu() { /usr/bin/time -f "%U %S" "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.2f", $1 + $2}'; }
t1=$(best "$sg" image inventory "$img" --json)
t2=$(best "$syft" "docker-archive:$img" -o json -q)
c1=$(cpu "$sg" image inventory "$img" --json)
c2=$(cpu "$syft" "docker-archive:$img" -o json -q)
echo "wall time, best of $runs: shipgate ${t1} ms, syft ${t2} ms"
echo "CPU time (user+sys), one run: shipgate ${c1} s, syft ${c2} s"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
