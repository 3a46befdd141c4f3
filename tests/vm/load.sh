# SPDX-License-Identifier: GPL-2.0
# load.sh - many branches against one POP, for tools/ikeload (t_25 and the
# IKE benchmark, tests/bench/vm_ike.sh). Source after lib.sh.
#
#   load 10.200.0.0/16 (one /32 per branch) 198.51.100.2 --- 198.51.100.1 pop
#
# Branch k sends from 10.200.0.0 + 1 + k, identity load<k>.example.com,
# PSK LOAD_PSK (one for all: charon looks a PSK up by identity in a list,
# which would make thousands of distinct ones its cost, not the exchange's),
# TSi 10.1.0.0/24; IKE AES-CBC-256/SHA2-256/MODP-2048, ESP AES-CBC-256/
# HMAC-SHA2-256-128 (ikeload's proposals, the same for every responder).

LOAD_PSK=load-secret-0123456789
LOAD_FIRST=10.200.0.1

# load_topo N: the two namespaces and N branch addresses
load_topo() {
	local n=$1 k
	ns_add pop
	ns_add load
	ip -n pop link add eth0 type veth peer name eth0 netns load
	ip -n pop addr add 198.51.100.1/24 dev eth0
	ip -n load addr add 198.51.100.2/24 dev eth0
	ip -n pop link set eth0 up
	ip -n load link set eth0 up
	ip -n pop route add 10.200.0.0/16 via 198.51.100.2
	for k in $(seq 0 $((n - 1))); do
		echo "addr add 10.200.$(((k + 1) / 256)).$(((k + 1) % 256))/32 dev eth0"
	done | ip -n load -batch -
}

# load_sites N: N sites on the running ipsecd, one CSV import
load_sites() {
	local n=$1 k
	ctl pop add POP1 gateway 198.51.100.1 probe 100.64.0.1 location Lab >/dev/null
	{
		echo "tunnel name,source identity,source ip address,primary pop,psk,encryption cipher"
		for k in $(seq 0 $((n - 1))); do
			echo "load$k,load$k.example.com,10.200.$(((k + 1) / 256)).$(((k + 1) % 256)),POP1,$LOAD_PSK,AES256-CBC"
		done
	} >"$T/load.csv"
	ctl site import "$T/load.csv" >/dev/null || die "site import of $n sites"
}

# swan_write_responder NAME: charon as the POP, any identity, the one PSK;
# a branch's new IKE SA replaces its older one (unique = replace), as ipsecd
# keeps one IKE SA per site
swan_write_responder() {
	local d=$T/sw-$1
	cat >"$d/swanctl/swanctl.conf" <<-CONF
	connections {
		load {
			local_addrs = 198.51.100.1
			proposals = aes256-sha256-modp2048
			unique = replace
			local {
				auth = psk
				id = 198.51.100.1
			}
			remote {
				auth = psk
				id = %any
			}
			children {
				net {
					local_ts = 0.0.0.0/0
					remote_ts = 10.1.0.0/24
					esp_proposals = aes256-sha256
					mode = tunnel
				}
			}
		}
	}
	secrets {
		ike-load {
			secret = "$LOAD_PSK"
		}
	}
	CONF
}

# charon_responder: strongSwan's charon as the POP's responder, its DH and
# ciphers from OpenSSL as ipsecd's are (the openssl plugin first), with the
# counters plugin (swanctl --counters) and no logging
charon_responder() {
	SW_WRITER=swan_write_responder SW_PLUGINS="openssl counters" SW_LOG=0 SW_LOG_IKE=0 \
		charon_start pop resp
}

# swan_counter NAME: one of charon's counters (swanctl --counters)
swan_counter() {
	swan resp --counters 2>/dev/null |
		awk -F: -v k="$1" '{ gsub(/ /, "") } $1 == k { print $2; f = 1 } END { if (!f) print "none" }'
}

# ikeload_run JSON ARGS...: the generator from the load namespace, against
# the POP, branches from LOAD_FIRST; the report on stdout, JSON in $T/JSON
ikeload_run() {
	local json=$1
	shift
	in_ns load "$IKELOAD" -t 198.51.100.1 -s "$LOAD_FIRST" --psk "$LOAD_PSK" \
		-o "$T/$json" "$@"
}

# proc_cpu PID: user + system CPU seconds so far; proc_rss PID: RSS in kB
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
proc_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
charon_pid() { pgrep -f '^/usr/lib/ipsec/charon' | head -n 1; }
