#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# deps.sh - install the Debian packages that build, test, demo and the VM
# runner need, only those missing. Idempotent and quick when all is present.
#
#   tools/deps.sh           install what is missing (root)
#   tools/deps.sh --list    print "PACKAGE PROGRAM..." one package a line
#
# The table below is the one place that says which package provides what.
# Each row is a package and the programs of it that the Makefile, tools/*.sh
# and tests/**/*.sh run ("-": a library or a build input, no program).
# tests/e2e/t_deps.sh checks every program against `dpkg -S` and every
# command the scripts run against this table, so a program that a minimal
# Debian (debootstrap --variant=minbase) lacks cannot slip through: the
# packages of priority "required" are listed too, at no cost.
set -eu

TABLE='
make                 make
gcc                  gcc
clang                clang
llvm                 -
pkgconf              pkg-config
binutils             ar
bpftool              bpftool
libbpf-dev           -
libxdp-dev           -
xdp-tools            xdp-filter
libelf-dev           -
zlib1g-dev           -
libssl-dev           -
openssl              openssl
libsqlite3-dev       -
sqlite3              sqlite3
libjson-c-dev        -
libmnl-dev           -
libcmocka-dev        -
libsystemd-dev       -
libmicrohttpd-dev    -
chromium             chromium
chromium-driver      chromedriver
jq                   jq
xz-utils             xz
iproute2             ip bridge tc ss
iputils-ping         ping
nftables             nft
conntrack            conntrack
curl                 curl
kmod                 kmod depmod modprobe insmod
procps               sysctl pkill pgrep ps
systemd              systemd-analyze systemd
busybox-static       busybox
qemu-system-x86      qemu-system-x86_64
strongswan-charon    -
libstrongswan-standard-plugins -
strongswan-swanctl   swanctl
strongswan           -
libnss3-tools        certutil
libldns3             -
libevent-pthreads-2.1-7 -
libunbound8          -
libcurl3-nss         -
libc-bin             ldd getconf
util-linux           nsenter unshare flock mountpoint switch_root setsid dmesg
coreutils            cat chmod cp ln ls readlink cut date dd dirname basename env head id install mkdir mknod mktemp mv od printenv printf rm rmdir seq sha256sum sleep sort stat stty tail tee timeout touch tr true false uname uniq wc base64
bash                 bash
dash                 sh
grep                 grep
sed                  sed
mawk                 awk
findutils            find xargs
diffutils            cmp diff
mount                mount umount
dpkg                 dpkg-deb dpkg-query
apt                  apt apt-get apt-cache
perl-base            perl
'

if [ "${1:-}" = "--list" ]; then
	printf '%s\n' "$TABLE" | sed '/^$/d'
	exit 0
fi

PKGS=$(printf '%s\n' "$TABLE" | awk 'NF { print $1 }')
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing; run as root (sudo make ...)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
