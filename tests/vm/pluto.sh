# SPDX-License-Identifier: GPL-2.0
# pluto.sh - Libreswan's pluto as a branch-office peer, sourced after lib.sh.
#
# pluto runs from the package unpacked by tests/vm/libreswan.sh (host side,
# before the VM boots) with its own config, rundir, secrets and NSS db under
# $T/ls-NAME, in the branch's namespace and a private /run, so it never
# meets an installed Libreswan or strongSwan.
#
# Settings (environment, like SW_* for charon): LS_ID (our FQDN id), LS_PSK,
# LS_LOCAL_TS (default 10.1.0.0/24), LS_REMOTE (default 198.51.100.1),
# LS_IKE / LS_ESP (proposals), LS_IKE_LIFE / LS_CHILD_LIFE (Libreswan rekeys
# LS_MARGIN before them), LS_DPD (dpddelay; 0 = off; IKEv2 liveness gives
# up after retransmit-timeout, 60 s, not dpdtimeout).

LSW=$BUILD/vm/libreswan
PLUTO=$LSW/usr/libexec/ipsec/pluto

# pluto_write NAME: that branch's ipsec.conf and ipsec.secrets (ipsec.conf
# wants its settings indented: tabs go to <<-, two spaces stay)
pluto_write() {
	local d=$T/ls-$1 dpd=""
	[ "${LS_DPD:-0}" = 0 ] ||
		dpd=$(printf 'dpddelay=%s\n  dpdaction=restart' "$LS_DPD")
	cat >"$d/ipsec.conf" <<-CONF
	config setup
	  uniqueids=yes

	conn pop
	  ikev2=insist
	  authby=secret
	  left=%defaultroute
	  leftid=@$LS_ID
	  leftsubnet=${LS_LOCAL_TS:-10.1.0.0/24}
	  right=${LS_REMOTE:-198.51.100.1}
	  rightid=${LS_REMOTE:-198.51.100.1}
	  rightsubnet=0.0.0.0/0
	  narrowing=yes
	  ike=${LS_IKE:-aes256-sha2_256-modp2048}
	  esp=${LS_ESP:-aes_gcm256-null}
	  ikelifetime=${LS_IKE_LIFE:-8h}
	  salifetime=${LS_CHILD_LIFE:-8h}
	  rekeymargin=${LS_MARGIN:-9m}
	  rekeyfuzz=0%
	  leftupdown=%disabled
	  $dpd
	  auto=add
	CONF
	printf '@%s %s : PSK "%s"\n' "$LS_ID" "${LS_REMOTE:-198.51.100.1}" "$LS_PSK" >"$d/ipsec.secrets"
	chmod 600 "$d/ipsec.secrets"
}

# pluto_start NS NAME: start pluto in NS and load the connection "pop"
pluto_start() {
	local ns=$1 name=$2 d=$T/ls-$2 i
	[ -x "$PLUTO" ] ||
		die "no Libreswan at $LSW: tests/vm/libreswan.sh unpacks it on the host (suite.sh runs it)"
	mkdir -p "$d/run"
	pluto_write "$name"
	[ -e "$d/cert9.db" ] || certutil -N -d "sql:$d" --empty-password ||
		die "certutil: cannot create the NSS db for $name"
	# pluto runs /usr/libexec/ipsec/addconn by its compiled-in path: in its own mount
	# namespace, /usr/libexec/ipsec is the unpacked one
	in_ns "$ns" unshare -m sh -c "mount -t tmpfs none /run && \
		mount -t tmpfs none /usr/libexec && mkdir /usr/libexec/ipsec && \
		mount --bind $LSW/usr/libexec/ipsec /usr/libexec/ipsec && \
		exec $PLUTO --nofork --config $d/ipsec.conf --rundir $d/run \
		--ipsecdir $d --nssdir $d --secretsfile $d/ipsec.secrets \
		--logfile $d/pluto.log --dumpdir $d/run --no-dnssec --nhelpers 1" >"$d/pluto.out" 2>&1 &
	for i in $(seq 1 100); do
		[ -S "$d/run/pluto.ctl" ] && break
		sleep 0.1
	done
	[ -S "$d/run/pluto.ctl" ] || { cat "$d/pluto.out" "$d/pluto.log" >&2; die "pluto $name did not start"; }
	in_ns "$ns" "$LSW/usr/libexec/ipsec/addconn" --config "$d/ipsec.conf" \
		--ctlsocket "$d/run/pluto.ctl" pop >"$d/addconn.out" 2>&1 ||
		{ cat "$d/addconn.out" >&2; die "addconn ($name)"; }
	pluto_whack "$name" --listen >/dev/null 2>&1 || die "whack --listen ($name)"
}

# pluto_whack NAME ARGS...: whack against that pluto, for at most 40 s
# (--initiate waits for the outcome)
pluto_whack() {
	local d=$T/ls-$1
	shift
	timeout 40 "$LSW/usr/libexec/ipsec/whack" --ctlsocket "$d/run/pluto.ctl" "$@"
}

pluto_log() { cat "$T/ls-$1/pluto.log"; }
