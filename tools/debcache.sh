#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# debcache.sh - sourced: download a Debian package with apt-get download and
# unpack it with dpkg-deb into a folder of the build cache, for programs the
# tests run without installing them (Libreswan's pluto conflicts with
# strongSwan; the prometheus package would start a server).
#
#   deb_unpack CACHE PKG DEST    DEST.tmp holds the unpacked tree on success
#                                (the caller checks it and moves it to DEST)
deb_unpack() {
	local cache=$1 pkg=$2 dest=$3 dl="$1/$2.dl"

	rm -rf "$dl" "$dest.tmp"
	mkdir -p "$dl" "$dest.tmp"
	echo "$pkg: fetching the package (first run only)" >&2
	if ! (cd "$dl" && apt-get download -q=2 -o APT::Sandbox::User=root "$pkg") >"$dl/apt.log" 2>&1; then
		echo "$pkg: download failed: running apt-get update and trying again" >&2
		apt-get update -qq >/dev/null 2>&1 || echo "$pkg: apt-get update failed" >&2
		(cd "$dl" && apt-get download -q=2 -o APT::Sandbox::User=root "$pkg") >"$dl/apt.log" 2>&1 ||
			{ cat "$dl/apt.log" >&2; echo "$pkg: cannot download" >&2; return 1; }
	fi
	dpkg-deb -x "$dl/${pkg}"_*.deb "$dest.tmp" || { echo "$pkg: cannot unpack $(ls "$dl")" >&2; return 1; }
	basename "$dl/${pkg}"_*.deb .deb >"$dest.tmp/.version"
	rm -rf "$dl"
}
