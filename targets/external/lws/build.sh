#!/usr/bin/env bash
# Builds a libwebsockets program of this directory into OUTPUT_PATH: the echo
# target (echo.c, the default) or the client agent (client.c).
# Usage: targets/external/lws/build.sh OUTPUT_PATH [SOURCE]
#
# Needs gcc, pkg-config and libwebsockets-dev (Debian bookworm: 4.1.6). When
# one is missing it says so on stderr and exits 0, so a build step that
# includes it never fails for users without them; the target or client is
# then skipped (its binary does not exist). Rebuilds only when SOURCE or
# common.h is newer than OUTPUT_PATH.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ]; then
	echo "usage: $0 OUTPUT_PATH [SOURCE]" >&2
	exit 2
fi
out=$1
here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
src=$here/${2:-echo.c}
name=$(basename "$out")

if [ ! -f "$src" ]; then
	echo "$0: no such source $src" >&2
	exit 2
fi

if ! command -v gcc >/dev/null 2>&1 ||
	! command -v pkg-config >/dev/null 2>&1 ||
	! pkg-config --exists libwebsockets; then
	echo "$name: not built: libwebsockets-dev not installed (apt-get install libwebsockets-dev gcc pkg-config)" >&2
	exit 0
fi

if [ -x "$out" ] && [ ! "$src" -nt "$out" ] && [ ! "$here/common.h" -nt "$out" ]; then
	exit 0
fi

mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# shellcheck disable=SC2046 # pkg-config output is a list of flags
gcc -O2 -Wall -Wextra $(pkg-config --cflags libwebsockets) -o "$tmp" "$src" \
	$(pkg-config --libs libwebsockets)
mv -f "$tmp" "$out"
