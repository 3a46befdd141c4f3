#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_deps.sh - every program the build, the demo and the tests run comes from
# a package that tools/deps.sh installs (issue: `sysctl` was missing on a
# minimal Debian because procps was not in the list).
#
#  1. each program in deps.sh's table is really in the package named there
#     (dpkg -S of the file on PATH);
#  2. each word of the Makefile and the scripts that names a program on PATH
#     is in the table, unless it is in IGNORE: words that appear in the
#     scripts but are never run as commands (names of namespaces, jq
#     functions, config values...).
set -u
cd "$(dirname "$0")/../.."
FAILS=0
fail() { echo "not ok: $*" >&2; FAILS=$((FAILS + 1)); }

IGNORE=" pc dir init link join split yes top w wall route hostname file as tty
 uptime x86_64 install debugfs poweroff reboot shutdown time last lan watch
 host which test kill column script ipsec comm service open
 clear login sync view "
IGNORE=$(echo "$IGNORE" | tr '\n' ' ')

declare -A owner
while read -r pkg progs; do
	for prog in $progs; do
		[ "$prog" = - ] && continue
		owner[$prog]=$pkg
		path=$(type -P "$prog" 2>/dev/null) || { fail "$prog ($pkg): not on PATH"; continue; }
		got=""
		for cand in "$path" "$(readlink -f "$path")" "/usr${path#/usr}" "${path#/usr}"; do
			got=$(dpkg -S "$cand" 2>/dev/null | grep -v '^diversion' | head -1 | cut -d: -f1)
			[ -n "$got" ] && break
		done
		case ",$got," in
		*",$pkg,"*|*", $pkg,"*) ;;
		*) fail "$prog: table says package $pkg, dpkg -S says '${got:-none}'" ;;
		esac
	done
done < <(tools/deps.sh --list)
echo "ok: ${#owner[@]} programs of the table checked against dpkg -S"

# deps.sh's own table and this file name every program: not evidence of use
files=(Makefile .ci/run $(ls tools/*.sh tests/*.sh tests/*/*.sh | grep -v -e tools/deps.sh -e t_deps.sh))
words=$(grep -hv '^[[:space:]]*#' "${files[@]}" | tr -c 'A-Za-z0-9_.+-' '\n' | sort -u)
n=0
for w in $words; do
	case "$IGNORE" in *" $w "*) continue ;; esac
	[ -n "${owner[$w]:-}" ] && continue
	t=$(type -t "$w" 2>/dev/null) || continue
	[ "$t" = file ] || continue
	n=$((n + 1))
	fail "'$w' is run by a script (or looks like it) but no package in tools/deps.sh provides it ($(type -P "$w"))"
done
[ "$n" = 0 ] && echo "ok: every program the scripts name is in the table"
[ "$FAILS" = 0 ] && echo "t_deps: all checks passed" || echo "t_deps: $FAILS check(s) failed" >&2
exit $((FAILS != 0))
