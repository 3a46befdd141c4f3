#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# init.sh: stage 1 of the test VM, /init of the initramfs that vm.sh builds.
# Runs as PID 1 under busybox. Loads the modules, mounts the host's / (9p,
# read-only) on /newroot with writable tmpfs and overlay mounts on top, then
# switch_roots into stage2.sh, which the host copied into the run share.
#
# Shares (mount tags set by vm.sh): hostroot = host /, read-only;
# vmio = the per-run folder, read-write; vmmods = the kernel's module tree.
# Everything printed here goes to the kernel console (ttyS1), which vm.sh logs.
export PATH=/bin

# Never return: PID 1 exiting panics the kernel. Powering off without an exit
# status makes vm.sh report 125 and show this message from the console log.
fail() {
	echo "vm-init: $*"
	poweroff -f
	sleep 10
}

# With "vmdebug" on the kernel command line (VM_VERBOSE=1), log the uptime at
# each step to the console.
debug=""
mark() {
	[ -n "$debug" ] || return 0
	up="?"
	read -r up _ 2>/dev/null </proc/uptime || read -r up _ </newroot/proc/uptime
	echo "vm-init: ${up}s $*"
}

# True when $1 is a mount point (this busybox has no `mountpoint` applet).
is_mnt() {
	grep -q "^[^ ]* $1 " /proc/mounts
}

# Step 1: kernel filesystems for stage 1 itself, and a console on stdio.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
grep -qw vmdebug /proc/cmdline && debug=1
mark "stage 1 started"

# Step 2: the boot modules (virtio PCI, 9p, overlay, virtio-rng), deps first.
# Each line of a list: module file, then its parameters.
while read -r m params; do
	# shellcheck disable=SC2086
	insmod "/mods/$m" $params || fail "insmod $m failed"
done </mods/boot.list
mark "boot modules loaded"

# Mount a 9p share, retrying briefly while the virtio device is probed.
mount9p() {
	i=0
	until mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,$3" "$1" "$2" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 50 ] || fail "cannot mount 9p share $1 on $2"
		sleep 0.1
	done
}

# Step 3: the host root (read-only, cached) and the run folder (read-write,
# uncached so the host sees every write at once).
mount9p hostroot /newroot ro,cache=loose
mount9p vmio /io rw
[ -f /io/stage2.sh ] || fail "no stage2.sh in the run share"
mark "9p shares mounted"

# Step 4: preload the test modules; a failure is reported, not fatal.
while read -r m params; do
	# shellcheck disable=SC2086
	insmod "/mods/$m" $params 2>/dev/null || echo "vm-init: insmod $m failed (ignored)"
done </mods/test.list
mark "test modules loaded"

# Step 5: /run is a fresh tmpfs (ip netns needs a writable /run/netns).
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /newroot/run

# Step 6: writable /etc and /var: overlayfs, host content below, tmpfs above.
# The upper layers live on a tmpfs that only stage 1 can see.
mount -t tmpfs -o mode=0755 tmpfs /ovl
for d in etc var; do
	mkdir -p "/ovl/$d/upper" "/ovl/$d/work"
	mount -t overlay overlay \
		-o "lowerdir=/newroot/$d,upperdir=/ovl/$d/upper,workdir=/ovl/$d/work" \
		"/newroot/$d" || fail "cannot mount overlay on /$d"
done

# Step 7: tmpfs on /tmp, /root and /var/tmp. A tmpfs hides the host's files
# below it, so each host path listed in /io/keep (the cwd, the build dir, the
# repo) that lies below one of them gets its first component bound back
# (read-only) from a saved view of the host directory.
saved=/newroot/run/.vmhost
mkdir -p "$saved"
tmpfs_over() {
	mount -o bind "/newroot$1" "$saved"
	mount -t tmpfs -o "mode=$2,nosuid,nodev" tmpfs "/newroot$1"
	while read -r k; do
		case $k in
		"$1"/?*)
			rest=${k#"$1"/}
			top=${rest%%/*}
			[ -d "$saved/$top" ] || continue
			is_mnt "/newroot$1/$top" && continue
			mkdir -p "/newroot$1/$top"
			mount -o bind "$saved/$top" "/newroot$1/$top"
			;;
		esac
	done </io/keep
	umount -l "$saved"
}
tmpfs_over /tmp 1777
tmpfs_over /root 0700
tmpfs_over /var/tmp 1777
rmdir "$saved"

# Step 8: move the kernel filesystems and the run share into the new root.
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
mkdir -p /newroot/run/vm
mount --move /io /newroot/run/vm

# Step 9: the rest of /dev and /sys: shm, pts, fd links, bpffs, cgroup2,
# debugfs and tracefs.
mkdir -p /newroot/dev/shm /newroot/dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /newroot/dev/pts
ln -sf /proc/self/fd /newroot/dev/fd
ln -sf /proc/self/fd/0 /newroot/dev/stdin
ln -sf /proc/self/fd/1 /newroot/dev/stdout
ln -sf /proc/self/fd/2 /newroot/dev/stderr
mount -t bpf -o mode=0700 bpf /newroot/sys/fs/bpf || echo "vm-init: no bpffs"
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup || echo "vm-init: no cgroup2"
mount -t debugfs debugfs /newroot/sys/kernel/debug || echo "vm-init: no debugfs"
mount -t tracefs tracefs /newroot/sys/kernel/tracing 2>/dev/null || true

# Step 10: the kernel's module tree on /lib/modules, so modprobe works (the
# host needs an empty /lib/modules as mount point; vm.sh creates it).
if [ -d /newroot/lib/modules ]; then
	mount9p vmmods /newroot/lib/modules ro,cache=loose
else
	echo "vm-init: no /lib/modules mount point on the host: modprobe will fail"
fi

mark "mounts done"

# Step 11: hand over to stage 2 on the host's root.
# shellcheck disable=SC2093 # the next line only runs if exec fails
exec switch_root /newroot /bin/sh /run/vm/stage2.sh
fail "switch_root failed"
