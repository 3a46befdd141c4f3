#!/bin/sh
# Install the Debian packages that build, test, demo and the VM runner need,
# only those missing. Idempotent and quick when everything is present.
set -eu

PKGS="make gcc clang llvm pkg-config bpftool libbpf-dev libxdp-dev xdp-tools
libelf-dev zlib1g-dev libssl-dev openssl libsqlite3-dev sqlite3 libjson-c-dev
libmnl-dev libcmocka-dev jq xz-utils iproute2 iputils-ping nftables curl kmod
busybox-static qemu-system-x86 strongswan strongswan-swanctl
strongswan-charon"

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
