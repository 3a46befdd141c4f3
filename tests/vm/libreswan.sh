#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libreswan.sh: make Libreswan's pluto available to the VM tests without
# installing it. The Debian package conflicts with strongSwan's (both are
# an "ike-server"), so it is downloaded and unpacked with dpkg-deb into the
# build cache, as the VM kernel is, and run from there (tests/vm/pluto.sh).
# Runs on the host, before the VMs boot: the guest sees / read-only.
#
#   tests/vm/libreswan.sh BUILD_DIR
#
# Leaves <build>/vm/libreswan/usr/libexec/ipsec/{pluto,whack,addconn} and
# prints nothing when it is already there. Its shared libraries (libldns3,
# libevent-pthreads, libnss3-tools for certutil...) are installed by
# tools/deps.sh. Exit status: 0 ready, 1 download or unpack failed.
set -eu
. "$(dirname "$0")/../../tools/debcache.sh"

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
mkdir -p "$1/vm"
cache=$(cd "$1/vm" && pwd)
dest="$cache/libreswan"
say() { echo "libreswan: $*" >&2; }

exec 8>"$cache/.libreswan.lock"
flock 8
[ -e "$dest/.ok" ] && exit 0

deb_unpack "$cache" libreswan "$dest" || exit 1
for p in pluto whack addconn; do
	[ -x "$dest.tmp/usr/libexec/ipsec/$p" ] || { say "no $p in the package"; exit 1; }
done
missing=$(ldd "$dest.tmp/usr/libexec/ipsec/pluto" | awk '/not found/ { print $1 }')
[ -z "$missing" ] || { say "pluto needs libraries that are not installed: $missing (tools/deps.sh)"; exit 1; }
rm -rf "$dest"
mv "$dest.tmp" "$dest"
touch "$dest/.ok"
say "$(cat "$dest/.version") ready in $dest"
