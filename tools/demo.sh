#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# demo.sh BUILD - `sudo make demo`: boot the IPsec-capable VM (this host's
# kernel has no ESP) and run the narrated end-to-end scenario inside it.
set -eu
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../tests/vm/vm.sh" --build "$BUILD" --timeout 900 -- \
	"$here/demo-guest.sh" "$BUILD"
