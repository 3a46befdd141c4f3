#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# webdriver.sh - a headless Chromium driven over the W3C WebDriver protocol
# (chromedriver, JSON over HTTP) with curl and jq: the browser tests need
# no language runtime of their own. Sourced by t_page.sh.
#
#   wd_start DIR          chromedriver and a session (logs in DIR)
#   wd_go URL             navigate
#   wd_js 'return ...' [ARG...]  run a script in the page, print its value
#   wd_find CSS           the element's id (empty if none)
#   wd_click CSS, wd_type CSS TEXT, wd_clear CSS
#   wd_wait DESC EXPECTED SECS 'return ...'  poll a script: check() when done
#   wd_shot FILE          a PNG of the window
#   wd_stop

WD_ELEM=element-6066-11e4-a52e-4f735466cecf

wd_req() {	# METHOD PATH [JSON]
	curl -s -m 30 -X "$1" -H 'Content-Type: application/json' \
		${3:+--data-binary "$3"} "$WD_URL/session/$WD_SID$2"
}

wd_start() {
	local port=$(( 30000 + $$ % 20000 )) i caps
	WD_DIR=$1
	chromedriver --port="$port" --log-path="$WD_DIR/chromedriver.log" >/dev/null 2>&1 &
	WD_PID=$!
	WD_URL=http://127.0.0.1:$port
	for i in $(seq 1 100); do
		[ "$(curl -s "$WD_URL/status" | jq -r .value.ready 2>/dev/null)" = true ] && break
		sleep 0.1
	done
	caps='{"capabilities":{"alwaysMatch":{"browserName":"chrome","goog:chromeOptions":{
		"binary":"/usr/bin/chromium","args":["--headless=new","--no-sandbox",
		"--disable-dev-shm-usage","--disable-gpu","--window-size=1400,1000",
		"--user-data-dir='"$WD_DIR"'/profile"]}}}}'
	WD_SID=$(curl -s -m 60 -X POST -H 'Content-Type: application/json' -d "$caps" \
		"$WD_URL/session" | jq -r .value.sessionId)
	[ -n "$WD_SID" ] && [ "$WD_SID" != null ] || {
		echo "webdriver: no session (chromedriver log: $WD_DIR/chromedriver.log)" >&2
		tail -5 "$WD_DIR/chromedriver.log" >&2
		return 1
	}
}

wd_stop() {
	[ -n "${WD_SID:-}" ] && curl -s -m 10 -X DELETE "$WD_URL/session/$WD_SID" >/dev/null
	[ -n "${WD_PID:-}" ] && kill "$WD_PID" 2>/dev/null
	WD_SID="" WD_PID=""
}

wd_go() { wd_req POST /url "$(jq -cn --arg u "$1" '{url: $u}')" >/dev/null; }

wd_js() {
	local script=$1
	shift
	wd_req POST /execute/sync "$(jq -cn --arg s "$script" '{script: $s, args: $ARGS.positional}' \
		--args "$@")" | jq -r '.value | if type == "string" then . else tojson end'
}

wd_find() {
	wd_req POST /element "$(jq -cn --arg c "$1" '{using: "css selector", value: $c}')" |
		jq -r --arg k "$WD_ELEM" '.value[$k] // empty'
}

# wd_on CSS VERB [JSON]: VERB (click, value, clear) on the element
wd_on() {
	local id
	id=$(wd_find "$1")
	[ -n "$id" ] || { echo "webdriver: no element '$1'" >&2; return 1; }
	wd_req POST "/element/$id/$2" "${3:-{\}}" >/dev/null
}
wd_click() { wd_on "$1" click; }
wd_clear() { wd_on "$1" clear; }
wd_type() { wd_on "$1" value "$(jq -cn --arg t "$2" '{text: $t}')"; }

wd_wait() {	# DESC EXPECTED SECS SCRIPT
	local got="" i
	for i in $(seq 1 $(($3 * 10))); do
		got=$(wd_js "$4" 2>/dev/null)
		[ "$got" = "$2" ] && break
		sleep 0.1
	done
	check "$1" "$2" "$got"
}

wd_shot() { wd_req GET /screenshot | jq -r .value | base64 -d >"$1"; }
