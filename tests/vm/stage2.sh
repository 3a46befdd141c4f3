#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# stage2.sh: stage 2 of the test VM. init.sh switch_roots into it, so it runs
# as PID 1 on the host's root with the guest's own /proc, /sys, /dev, /run,
# /tmp, ... already mounted. vm.sh copies it into the run share (/run/vm) with
#   cmd  the command as a script (cd to the host cwd, then exec)
#   env  "export NAME='value'" lines passed through from the host
# Runs the command with its output on ttyS0 (the runner's stdout), then writes
# the exit status to /run/vm/rc and powers off. No `set -e`: this script must
# reach the power-off whatever happens (PID 1 exiting panics the kernel).
set -u
io=/run/vm
tty=/dev/ttyS0
name=espgate-vm
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH="$path"

# Uptime marks on the console when vm.sh runs with VM_VERBOSE=1.
debug=""
read -r cmdline </proc/cmdline
case " $cmdline " in *" vmdebug "*) debug=1 ;; esac
mark() {
	[ -n "$debug" ] || return 0
	read -r up _ </proc/uptime
	echo "vm-stage2: ${up}s $*"
}
mark "stage 2 started"

# Step 1: hostname, loopback.
echo "$name" >/proc/sys/kernel/hostname
echo "$name" >/etc/hostname
printf '127.0.1.1\t%s\n' "$name" >>/etc/hosts
ip link set lo up 2>/dev/null || busybox ip link set lo up

# Step 2: ttyS0 raw, so "\n" is not turned into "\r\n" on the way out.
stty -F "$tty" raw -echo 2>/dev/null

# Step 3: run the command with a clean environment, stdin from /dev/null and
# stdout+stderr on ttyS0. This shell (PID 1) reaps orphans while it waits.
env -i PATH="$path" HOME=/root TERM=dumb LANG=C.UTF-8 SHELL=/bin/sh \
	USER=root LOGNAME=root VM_OUT="$io/out" \
	/bin/sh -c ". $io/env && . $io/cmd" </dev/null >"$tty" 2>&1
rc=$?
mark "command exited with $rc"

# True while a user process other than PID 1 is alive (zombies included, PID
# 1 reaps them while it sleeps). kill -0 -1 cannot tell: it counts kernel
# threads, which are kthreadd (PID 2) and its children. No forks here.
others() {
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" = 1 ] || [ "$p" = 2 ] && continue
		while read -r k v; do
			[ "$k" = PPid: ] || continue
			[ "$v" = 2 ] || return 0
			break
		done 2>/dev/null <"$d/status"
	done
	return 1
}

# Step 4: stop whatever the command left running (kill -1 spares PID 1),
# politely first; closing the last ttyS0 handle then waits until the serial
# port has sent everything.
if others; then
	kill -TERM -1 2>/dev/null
	i=0
	while [ $i -lt 20 ] && others; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL -1 2>/dev/null
fi
: >"$tty"

# Step 5: the kernel log when the run folder is kept (vm.sh --keep), then
# the exit status. The share is mounted with the "sync" behaviour of
# cache=none and the host reads rc only after QEMU exits: no fsync needed.
[ ! -e "$io/want-dmesg" ] || dmesg >"$io/dmesg.txt" 2>/dev/null
echo "$rc" >"$io/rc"

mark "powering off"

# Step 6: power off at once (ACPI); QEMU then exits.
busybox poweroff -f
sleep 10
