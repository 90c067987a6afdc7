#!/bin/sh
# Runs Apache (apache.conf) in the foreground for wsharness: one process
# (-X), its pid file and mutexes in a temporary directory removed on exit.
# Usage: run.sh 127.0.0.1:PORT BACKEND_HOST:PORT [wstunnel]
#        (wstunnel: proxy with mod_proxy_wstunnel rather than mod_proxy_http)
#        run.sh -t    (the target's check: the configuration parses, so
#                      mod_http2 has H2WebSockets, Apache 2.4.58 or later)
set -eu
cd "$(dirname "$0")"
# Debian puts apache2 in /usr/sbin, which is not on every user's PATH.
bin=$(command -v apache2 || echo /usr/sbin/apache2)
if [ "${1:-}" = -t ]; then
	WSH_LISTEN=127.0.0.1:1 WSH_BACKEND=127.0.0.1:1 WSH_RUNDIR=/tmp
	export WSH_LISTEN WSH_BACKEND WSH_RUNDIR
	"$bin" -t -d . -f apache.conf
	exec "$bin" -t -DWSH_WSTUNNEL -d . -f apache.conf
fi
case "$#:${3:-}" in
2: | 3:wstunnel) ;;
*) echo "usage: $0 LISTEN_ADDR BACKEND_ADDR [wstunnel] | -t" >&2; exit 2 ;;
esac
WSH_LISTEN=$1 WSH_BACKEND=$2
defines=
[ "${3:-}" = wstunnel ] && defines=-DWSH_WSTUNNEL
WSH_RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/wsh-apache.XXXXXX")
export WSH_LISTEN WSH_BACKEND WSH_RUNDIR
if [ "$(id -u)" -eq 0 ]; then
	defines="$defines -DWSH_ROOT"
	chown www-data "$WSH_RUNDIR"
fi
# The harness stops its process group with SIGTERM: pass it on, wait for
# Apache to exit, then clean up. Set before Apache starts, so that an early
# signal does not leave the directory behind.
pid=
trap '[ -z "$pid" ] || kill -TERM $pid 2>/dev/null || :' TERM INT
# $defines is unquoted on purpose: zero, one or two words.
"$bin" -X -DFOREGROUND $defines -d . -f apache.conf &
pid=$!
rc=0
wait $pid || rc=$?
# A trapped signal interrupts the first wait; Apache is still exiting.
wait $pid 2>/dev/null || :
rm -rf "$WSH_RUNDIR"
exit $rc
