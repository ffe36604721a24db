#!/bin/sh
# mkrootfs.sh DEBDIR ROOTFS: unpack every .deb of DEBDIR into ROOTFS with
# dpkg-deb and write its real control paragraph (dpkg-deb -f) into
# ROOTFS/var/lib/dpkg/status, marked "install ok installed", as dpkg would.
# With STATUS_D=1 each paragraph goes to var/lib/dpkg/status.d/PACKAGE
# instead (the layout of distroless images).
set -eu
debdir=$1
root=$2
mkdir -p "$root/var/lib/dpkg"
: > "$root/var/lib/dpkg/status"
[ "${STATUS_D:-}" = 1 ] && mkdir -p "$root/var/lib/dpkg/status.d"
for deb in $(ls "$debdir"/*.deb | LC_ALL=C sort); do
	dpkg-deb -x "$deb" "$root"
	pkg=$(dpkg-deb -f "$deb" Package)
	para=$(dpkg-deb -f "$deb" | awk 'NR==1 {print; print "Status: install ok installed"; next} {print}')
	if [ "${STATUS_D:-}" = 1 ]; then
		printf '%s\n' "$para" > "$root/var/lib/dpkg/status.d/$pkg"
	else
		printf '%s\n\n' "$para" >> "$root/var/lib/dpkg/status"
	fi
done
