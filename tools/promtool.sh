#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# promtool.sh: make Prometheus' promtool available to the tests without
# installing the prometheus package (which would start a Prometheus server
# as a system service). Its .deb is downloaded and unpacked with dpkg-deb
# into the build cache, as the VM kernel and Libreswan are; promtool is one
# static binary.
#
#   tools/promtool.sh BUILD_DIR     prints the path of promtool
#
# Exit status: 0 ready, 1 download or unpack failed.
set -eu
. "$(dirname "$0")/debcache.sh"

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
mkdir -p "$1/cache"
cache=$(cd "$1/cache" && pwd)
dest="$cache/prometheus"
say() { echo "promtool: $*" >&2; }

exec 8>"$cache/.prometheus.lock"
flock 8
if [ ! -e "$dest/.ok" ]; then
	deb_unpack "$cache" prometheus "$dest" || exit 1
	[ -x "$dest.tmp/usr/bin/promtool" ] || { say "no promtool in the package"; exit 1; }
	rm -rf "$dest.tmp/usr/bin/prometheus" "$dest.tmp/usr/share" "$dest"
	mv "$dest.tmp" "$dest"
	touch "$dest/.ok"
fi
echo "$dest/usr/bin/promtool"
