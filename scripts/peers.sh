#!/bin/sh
# Unpacks the Debian packages vigil is tested and measured against into
# .cache/peers without installing anything system-wide: runit (runsv, sv,
# runsvdir, svlogd, chpst), busybox-static, tini, dumb-init, s6 with the
# shared libraries it needs (skalibs, execline, libs6), and supervisor
# (supervisord, pure Python: it runs on the system's python3, with
# pkg_resources from python3-pkg-resources on PYTHONPATH).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dest=${VIGIL_PEERS:-$top/.cache/peers}
debs=$top/.cache/debs
pkgs="runit busybox-static tini dumb-init s6 libs6-2.11 libskarnet2.13 libexecline2.9 execline supervisor python3-pkg-resources"

if [ -x "$dest/usr/bin/runsv" ] && [ -x "$dest/bin/busybox" ] && [ -x "$dest/usr/bin/tini" ] && [ -x "$dest/usr/bin/dumb-init" ] &&
	[ -x "$dest/usr/bin/s6-svscan" ] && [ -e "$dest/usr/bin/supervisord" ]; then
	exit 0
fi
mkdir -p "$dest" "$debs"
cd "$debs"
# apt-get download needs package lists; fetch them only when it fails.
if ! apt-get download $pkgs >/dev/null 2>&1; then
	apt-get update -qq
	apt-get download $pkgs
fi
for deb in *.deb; do
	dpkg-deb -x "$deb" "$dest"
done
echo "peers unpacked in $dest"
