#!/bin/sh
# Runs Apache (apache.conf) in the foreground for wsharness: one process
# (-X), its pid file and mutexes in a temporary directory removed on exit.
# Usage: run.sh 127.0.0.1:PORT BACKEND_HOST:PORT
#        run.sh -t    (the target's check: the configuration parses, so
#                      mod_http2 has H2WebSockets, Apache 2.4.58 or later)
set -eu
cd "$(dirname "$0")"
# Debian puts apache2 in /usr/sbin, which is not on every user's PATH.
bin=$(command -v apache2 || echo /usr/sbin/apache2)
if [ "${1:-}" = -t ]; then
	WSH_LISTEN=127.0.0.1:1 WSH_BACKEND=127.0.0.1:1 WSH_RUNDIR=/tmp
	export WSH_LISTEN WSH_BACKEND WSH_RUNDIR
	exec "$bin" -t -d . -f apache.conf
fi
[ $# -eq 2 ] || { echo "usage: $0 LISTEN_ADDR BACKEND_ADDR | -t" >&2; exit 2; }
WSH_LISTEN=$1 WSH_BACKEND=$2
WSH_RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/wsh-apache.XXXXXX")
export WSH_LISTEN WSH_BACKEND WSH_RUNDIR
root=
if [ "$(id -u)" -eq 0 ]; then
	root=-DWSH_ROOT
	chown www-data "$WSH_RUNDIR"
fi
"$bin" -X -DFOREGROUND $root -d . -f apache.conf &
pid=$!
# The harness stops its process group with SIGTERM: pass it on, wait for
# Apache to exit, then clean up.
trap 'kill -TERM $pid 2>/dev/null || :' TERM INT
rc=0
wait $pid || rc=$?
# A trapped signal interrupts the first wait; Apache is still exiting.
wait $pid 2>/dev/null || :
rm -rf "$WSH_RUNDIR"
exit $rc
