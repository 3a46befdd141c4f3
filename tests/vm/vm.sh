#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm.sh: run one command inside a throw-away QEMU VM that boots Debian's stock
# kernel (the one with ESP, XFRM and all modules), with the host's / shared
# read-only as the guest's root. See docs/VM.md in the shared folder.
#
#   tests/vm/vm.sh [--timeout SECS] [--build DIR] [--keep] -- COMMAND [ARG]...
#
# The command runs as root in the guest, in the same directory the runner was
# started from. Its stdout and stderr (merged) stream live to this script's
# stdout over their own serial port; kernel messages go to a second serial
# port that is logged to a file and shown on stderr, prefixed "vm-console: ",
# only when there is something (normally nothing at loglevel=3).
#
# Exit status: the command's own exit status; 124 when the timeout (default
# 600 s) expired and QEMU was killed; 125 when the guest never reported an exit
# status (kernel panic, crash in the init scripts); 2 for a usage error; 3 when
# the kernel or the initramfs could not be prepared; 130/143 when the runner
# itself got SIGINT/SIGTERM (the VM is stopped first).
#
# Files: init.sh is the initramfs's /init (stage 1), stage2.sh runs the command
# on the host's root (stage 2). Cache: <build>/vm/kernel/VERSION (unpacked
# kernel package + depmod + an uncompressed vmlinux), <build>/vm/initramfs-*.
# Output throughput over the serial port is ~50-150 KB/s.
#
# Environment: VM_KEEP=1 keeps the per-run folder (console log, dmesg, output
# files); VM_VERBOSE=1 prints timings and the console log even on success.
# Variables CI, V, VERBOSE and any ESPGATE_* or VM_* are passed to the command.
# Inside the guest, $VM_OUT is a read-write folder shared with the host
# (<build>/vm/run.*/out, kept only with VM_KEEP=1 / --keep).
set -eu

# --- Step 0: arguments and paths -------------------------------------------

usage() {
	echo "usage: $0 [--timeout SECS] [--build DIR] [--keep] -- COMMAND [ARG]..." >&2
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
timeout_s=600
build="$repo/build"
keep=${VM_KEEP:-0}
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	--build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	--build=*) build=${1#*=}; shift ;;
	--keep) keep=1; shift ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
case $timeout_s in '' | *[!0-9]*) usage ;; esac

# All cached state (kernel, initramfs, per-run folders) lives in <build>/vm.
mkdir -p "$build/vm"
build=$(cd "$build" && pwd)
cache="$build/vm"
cwd=$(pwd)

# Short messages from the runner itself go to stderr, never to stdout.
say() { echo "vm: $*" >&2; }
die() { say "$*"; exit 3; }
t_start=$(date +%s.%N)
elapsed() { echo "$(date +%s.%N) $t_start" | awk '{ printf "%.1f", $1 - $2 }'; }

for tool in qemu-system-x86_64 dpkg-deb depmod busybox timeout flock apt-get; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found: run tools/deps.sh (qemu-system-x86 busybox-static kmod)"
done

# Boot modules: what the initramfs needs to reach the 9p root.
BOOT_MODS="virtio_pci 9pnet_virtio 9p overlay virtio_rng"
# Test modules, preloaded in the initramfs because modprobe over 9p is slow.
# Names that do not exist as modules (built in, or absent) are skipped.
TEST_MODS="veth dummy vrf esp4 ipcomp xfrm4_tunnel tunnel4 xfrm_user
xfrm_interface gcm ghash_generic ghash_clmulni_intel ctr seqiv echainiv authenc
cbc hmac cmac aesni_intel sha1_ssse3 sha1_generic sha256_ssse3 sha512_ssse3
nf_tables nf_conntrack nf_defrag_ipv4 nf_nat nft_chain_nat nft_masq nft_nat
nft_ct nft_fib nft_fib_ipv4 nft_fib_inet sch_ingress cls_bpf act_bpf sch_netem"
# Module parameters for the preload (dummy would otherwise create dummy0).
MOD_PARAMS="dummy:numdummies=0"

# Serialise cache preparation between concurrent runs (the VMs themselves can
# run in parallel). The lock is released before QEMU starts.
exec 9>"$cache/.lock"
flock 9

# --- Step 1: the kernel package ----------------------------------------------

# The package name linux-image-amd64 depends on today, e.g.
# linux-image-6.1.0-56-amd64.
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# Download the -unsigned variant (or else the signed one) into $1.
kernel_download() {
	local dir=$1 p
	for p in "$pkg-unsigned" "$pkg"; do
		# -o APT::Sandbox::User=root: _apt cannot write into the cache.
		if (cd "$dir" && apt-get download -q=2 -o APT::Sandbox::User=root "$p") >"$dir/apt.log" 2>&1; then
			return 0
		fi
	done
	return 1
}

# Which package linux-image-amd64 names, in $pkg (empty when apt knows none).
# apt-cache parses every package list (~0.7 s here): its answer is kept in
# $pkgfile until the lists change.
pkgfile="$cache/kernel.pkg"
resolve_kernel() {
	pkg=$(kernel_pkg || true)
	[ -z "$pkg" ] || echo "$pkg" >"$pkgfile"
}

# Download $pkg and unpack it (never install it) into <cache>/kernel/VERSION,
# unless already there. Returns non-zero when the download fails. Explicit
# checks: set -e does not apply inside a function called from a condition.
fetch_kernel() {
	local v=${pkg#linux-image-} dl="$cache/dl" kd
	kd="$cache/kernel/$v"
	[ ! -e "$kd/.ok" ] || return 0
	say "fetching kernel $pkg (first run only)"
	rm -rf "$dl" "$kd.tmp"
	mkdir -p "$dl" "$kd.tmp"
	kernel_download "$dl" || { rm -rf "$kd.tmp"; return 1; }
	# Keep only the kernel image, its config and the modules.
	dpkg-deb -x "$dl"/linux-image-*.deb "$kd.tmp" || die "cannot unpack $pkg"
	rm -rf "$kd.tmp/usr" "$dl"
	[ -f "$kd.tmp/boot/vmlinuz-$v" ] || die "no vmlinuz-$v in $pkg"
	[ -d "$kd.tmp/lib/modules/$v" ] || die "no modules for $v in $pkg"
	# The .deb ships no modules.dep: generate it.
	depmod -b "$kd.tmp" "$v" || die "depmod failed for $v"
	rm -rf "$kd"
	mv "$kd.tmp" "$kd"
	touch "$kd/.ok"
	say "kernel $v ready ($(elapsed) s)"
}

pkg=""
if [ -s "$pkgfile" ] &&
	[ -z "$(find /var/lib/apt/lists -maxdepth 1 -newer "$pkgfile" 2>/dev/null | head -n1)" ]; then
	pkg=$(cat "$pkgfile")
else
	resolve_kernel
fi
# Run apt-get update only when apt names no kernel or its download fails
# (the named version may have left the archive): then ask apt again.
if [ -z "$pkg" ] || ! fetch_kernel; then
	say "running apt-get update (kernel package unknown or not downloadable)"
	rm -rf "$cache/dl"
	apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed"
	resolve_kernel
	if [ -n "$pkg" ] && ! fetch_kernel; then
		cat "$cache/dl/apt.log" >&2 2>/dev/null || true
		rm -rf "$cache/dl"
		say "cannot download $pkg"
		pkg=""
	fi
fi
if [ -n "$pkg" ]; then
	kver=${pkg#linux-image-}
else
	# Offline, or apt knows no kernel: fall back to the newest cached one.
	kver=$(for d in "$cache"/kernel/*/.ok; do
		[ -e "$d" ] && basename "$(dirname "$d")"
	done | sort -V | tail -n1)
	[ -n "$kver" ] || die "no kernel: cannot download the one linux-image-amd64 names"
	say "using the cached kernel $kver"
fi
kdir="$cache/kernel/$kver"
moddir="$kdir/lib/modules/$kver"

# Booting the compressed bzImage spends ~3 s of emulated CPU in the kernel's
# own xz decompressor. When the kernel supports PVH entry, decompress it once
# on the host (payload offset from the bzImage header, boot protocol fields
# setup_sects at 0x1f1 and payload_offset at 0x248) and let QEMU load the
# plain ELF vmlinux directly. Needs xz-utils; falls back to the bzImage.
extract_vmlinux() {
	local z=$1 out=$2 sects off magic
	grep -q '^CONFIG_PVH=y' "$kdir/boot/config-$kver" 2>/dev/null || return 1
	sects=$(od -An -tu1 -j 497 -N 1 "$z" | tr -d ' ')
	[ "$sects" != 0 ] || sects=4
	off=$(od -An -tu4 -j 584 -N 4 "$z" | tr -d ' ')
	off=$(((sects + 1) * 512 + off))
	magic=$(od -An -tx1 -j "$off" -N 6 "$z" | tr -d ' ')
	[ "$magic" = fd377a585a00 ] || return 1
	# The payload ends with the 4-byte decompressed size: one stream only.
	tail -c +$((off + 1)) "$z" | xz -dc --single-stream >"$out.tmp" 2>/dev/null || return 1
	[ "$(od -An -tx1 -N 4 "$out.tmp" | tr -d ' ')" = 7f454c46 ] || return 1
	mv "$out.tmp" "$out"
}
kernel="$kdir/boot/vmlinuz-$kver"
if [ -f "$kdir/boot/vmlinux-$kver" ]; then
	kernel="$kdir/boot/vmlinux-$kver"
elif [ ! -e "$kdir/.no-vmlinux" ] && command -v xz >/dev/null 2>&1; then
	if extract_vmlinux "$kernel" "$kdir/boot/vmlinux-$kver"; then
		kernel="$kdir/boot/vmlinux-$kver"
	else
		rm -f "$kdir/boot/vmlinux-$kver.tmp"
		touch "$kdir/.no-vmlinux"
	fi
fi

# --- Step 2: the initramfs ---------------------------------------------------

busybox=$(command -v busybox)
# Rebuild when any input changes: kernel, busybox, init script, module lists,
# this script.
stamp=$({
	echo "$kver|$BOOT_MODS|$TEST_MODS|$MOD_PARAMS"
	sha256sum "$busybox" "$here/init.sh" "$0" | cut -d' ' -f1
} | sha256sum | cut -d' ' -f1)
initrd="$cache/initramfs-$kver.cpio"

if [ "$(cat "$initrd.stamp" 2>/dev/null)" != "$stamp" ]; then
	say "building initramfs"
	stage="$cache/initramfs.tmp"
	rm -rf "$stage"
	mkdir -p "$stage"/bin "$stage"/dev "$stage"/proc "$stage"/sys \
		"$stage"/newroot "$stage"/io "$stage"/ovl "$stage"/mods
	# busybox (static) and the applets init.sh uses.
	cp "$busybox" "$stage/bin/busybox"
	for a in sh mount umount insmod mkdir rmdir ln cat echo sleep switch_root \
		poweroff grep; do
		ln -s busybox "$stage/bin/$a"
	done
	cp "$here/init.sh" "$stage/init"
	chmod 755 "$stage/init"
	# The kernel opens /dev/console for init before anything is mounted.
	mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true

	# Resolve both module lists into load order: hard dependencies from
	# modules.dep and "pre:" soft dependencies from modules.softdep (e.g.
	# libcrc32c needs a crc32c provider) first, each module once. Names may
	# be module names or exact aliases from modules.alias. Output lines:
	# "boot PATH", "test PATH" or "missing NAME".
	awk -v boot="$BOOT_MODS" -v test="$TEST_MODS" '
		# Load the module at path p after everything it needs.
		function visit(p, list,   n, i, a, m) {
			if (p in seen) return
			seen[p] = 1
			m = modname(p)
			n = split(pre[m], a, " ")
			for (i = 1; i <= n; i++) want(a[i], list, 1)
			n = split(deps[p], a, " ")
			for (i = 1; i <= n; i++) visit(a[i], list)
			print list, p
		}
		# Module name from a path: basename, no .ko*, "-" as "_".
		function modname(p,   n) {
			n = p; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n); gsub(/-/, "_", n)
			return n
		}
		# Load a module by name or alias; quiet: no "missing" line.
		function want(w, list, quiet,   n, i, a) {
			gsub(/-/, "_", w)
			if (w == "") return
			if (w in path) { visit(path[w], list); return }
			if (w in alias) {
				n = split(alias[w], a, " ")
				for (i = 1; i <= n; i++)
					if (a[i] in path) visit(path[a[i]], list)
				return
			}
			if (!quiet) print "missing", w
		}
		function wantall(names, list,   n, i, W) {
			n = split(names, W, /[ \t\n]+/)
			for (i = 1; i <= n; i++) want(W[i], list, 0)
		}
		FILENAME ~ /modules\.dep$/ {
			p = $1; sub(/:$/, "", p)
			path[modname(p)] = p
			deps[p] = ""
			for (i = 2; i <= NF; i++) deps[p] = deps[p] " " $i
		}
		FILENAME ~ /modules\.softdep$/ && $1 == "softdep" {
			m = $2; gsub(/-/, "_", m); inpre = 0
			for (i = 3; i <= NF; i++) {
				if ($i == "pre:") inpre = 1
				else if ($i == "post:") inpre = 0
				else if (inpre) pre[m] = pre[m] " " $i
			}
		}
		FILENAME ~ /modules\.alias$/ && $1 == "alias" && $2 !~ /[*?[]/ {
			a = $2; gsub(/-/, "_", a); m = $3; gsub(/-/, "_", m)
			alias[a] = alias[a] " " m
		}
		END { wantall(boot, "boot"); wantall(test, "test") }
	' "$moddir/modules.dep" "$moddir/modules.softdep" "$moddir/modules.alias" \
		>"$stage/mods/resolved"

	# Copy the module files flat into /mods, and write the two load lists.
	: >"$stage/mods/boot.list"
	: >"$stage/mods/test.list"
	while read -r kind what; do
		case $kind in
		boot | test)
			cp "$moddir/$what" "$stage/mods/"
			# One line per module: file name, then its parameters.
			f=$(basename "$what")
			n=$(echo "${f%%.ko*}" | tr - _)
			params=""
			for mp in $MOD_PARAMS; do
				[ "${mp%%:*}" != "$n" ] || params="$params ${mp#*:}"
			done
			echo "$f$params" >>"$stage/mods/$kind.list"
			;;
		missing)
			# Built-in modules need no loading; truly absent ones are noted.
			grep -Eq "/${what}\.ko\$|/$(echo "$what" | tr _ -)\.ko\$" \
				"$moddir/modules.builtin" ||
				say "module $what does not exist in $kver: skipped"
			;;
		esac
	done <"$stage/mods/resolved"
	grep -q . "$stage/mods/boot.list" || die "no boot modules resolved"

	# Pack as an uncompressed newc cpio (loads fastest under emulation).
	(cd "$stage" && find . | sort | busybox cpio -o -H newc 2>/dev/null) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	echo "$stamp" >"$initrd.stamp"
	rm -rf "$stage"
fi

# --- Step 3: the per-run folder (second 9p share, read-write) ----------------

# The host may have no /lib/modules (no modules at all): the guest needs a
# mount point there. With merged /usr this creates /usr/lib/modules.
if [ ! -d /lib/modules ]; then
	mkdir -p /lib/modules 2>/dev/null ||
		say "no /lib/modules on the host and cannot create it: modprobe in the guest will fail"
fi

flock -u 9
exec 9>&-

run=$(mktemp -d "$cache/run.XXXXXX")
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [ "$keep" = 1 ]; then
		say "run folder kept: $run"
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$run/out"
[ "$keep" != 1 ] || touch "$run/want-dmesg"
cp "$here/stage2.sh" "$run/stage2.sh"

# Quote one argument for sh: wrap in '...', with each ' written as '\''.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# The command, as a script that stage2.sh runs from the host's cwd.
{
	echo "cd $(shq "$cwd") || { echo \"vm: cannot cd to $(shq "$cwd") in the guest\" >&2; exit 1; }"
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(shq "$a")"; done
	echo
} >"$run/cmd"

# Environment passed through to the command.
{
	env | sed -n 's/^\(CI\|V\|VERBOSE\|ESPGATE_[A-Za-z0-9_]*\|VM_[A-Za-z0-9_]*\)=.*/\1/p' |
		while read -r name; do
			printf 'export %s=%s\n' "$name" "$(shq "$(printenv "$name")")"
		done
} >"$run/env"

# Host paths that the guest's tmpfs mounts (/tmp, /root, /var/tmp) would hide:
# init.sh binds each of these back (the first component under the tmpfs).
printf '%s\n' "$cwd" "$build" "$repo" >"$run/keep"

# --- Step 4: boot ------------------------------------------------------------

# ttyS0 (stdio) carries the command's output only; ttyS1 is the kernel
# console, logged to a file. panic=-1 turns a panic into an immediate exit.
append="console=ttyS1 quiet loglevel=3 panic=-1 mitigations=off rdinit=/init"
[ "${VM_VERBOSE:-0}" != 1 ] || append="$append vmdebug"
fs="security_model=none,multidevs=remap"
# QEMU sets its stdout non-blocking: give it a pipe of its own (cat) so the
# caller's stdout is never left in O_NONBLOCK. QEMU runs in the background so
# that a signal to this script stops it at once (timeout passes TERM on).
exec 3> >(cat)
catpid=$!
timeout -k 5 "$timeout_s" qemu-system-x86_64 \
	-machine pc -accel tcg,thread=multi -cpu max -smp 2 -m 2048 \
	-nodefaults -no-reboot -display none \
	-serial stdio -serial "file:$run/console.log" \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	-fsdev "local,id=fsroot,path=/,readonly=on,$fs" \
	-device virtio-9p-pci,fsdev=fsroot,mount_tag=hostroot \
	-fsdev "local,id=fsio,path=$run,$fs" \
	-device virtio-9p-pci,fsdev=fsio,mount_tag=vmio \
	-fsdev "local,id=fsmod,path=$kdir/lib/modules,readonly=on,$fs" \
	-device virtio-9p-pci,fsdev=fsmod,mount_tag=vmmods \
	-device virtio-rng-pci \
	</dev/null >&3 2>"$run/qemu.log" &
qpid=$!
exec 3>&-
# shellcheck disable=SC2317 # called from the INT/TERM/HUP traps
stop_vm() {
	kill -TERM "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	exit "$1"
}
trap 'stop_vm 130' INT
trap 'stop_vm 143' TERM HUP
status=0
wait "$qpid" || status=$?
trap - INT TERM HUP
# Let cat write out the last bytes.
wait "$catpid" 2>/dev/null || true

# --- Step 5: exit status -------------------------------------------------------

# The console log without the power-off message every clean run ends with.
console() {
	tr -d '\r' <"$run/console.log" 2>/dev/null | grep -v 'reboot: Power down$' || true
}
# Show the last $1 console lines and QEMU's own messages on stderr.
show_console() {
	console | tail -n "$1" | sed 's/^/vm-console: /' >&2
	if [ -s "$run/qemu.log" ]; then
		sed 's/^/vm-qemu: /' "$run/qemu.log" >&2
	fi
}

if [ "$status" = 124 ] || [ "$status" = 137 ]; then
	show_console 50
	say "timeout after ${timeout_s} s: VM killed"
	exit 124
fi
rc=$(cat "$run/rc" 2>/dev/null || true)
case $rc in
'' | *[!0-9]*)
	show_console 100
	say "the guest reported no exit status (qemu status $status): kernel panic or init failure"
	exit 125
	;;
esac
if [ "${VM_VERBOSE:-0}" = 1 ]; then
	show_console 1000
	say "exit $rc in $(elapsed) s"
elif [ -n "$(console)" ]; then
	# Normally empty at loglevel=3: anything there is worth seeing.
	show_console 50
fi
exit "$rc"
