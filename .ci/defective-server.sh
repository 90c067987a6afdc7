#!/usr/bin/env bash
# Runs `make conformance URL=... NAME=... OUT=...` against a real defective
# server (gorilla/websocket's README echo, which echoes invalid UTF-8) under
# a name with no listed deviations, and checks that the run fails, names
# failed cases with their RFC clause, and writes its results where asked.
set -uo pipefail
cd "$(dirname "$0")/.."
make build >/dev/null
port=39001
out=out/ci-defective
rm -rf "$out"
out/bin/wsharness serve --target gorilla-default --addr 127.0.0.1:$port >/dev/null &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

make conformance URL=ws://127.0.0.1:$port/echo NAME=defective OUT=$out >"$out.log" 2>&1
rc=$?
tail -n 20 "$out.log"
fail() { echo "defective-server check: $*" >&2; exit 1; }
[ $rc -ne 0 ] || fail "make conformance exited 0 against a defective server"
[ -s "$out/results.json" ] || fail "no $out/results.json"
[ -s "$out/junit.xml" ] || fail "no $out/junit.xml"
grep -q "6.3.1 .*RFC 6455 §8.1" "$out.log" || fail "the summary does not name 6.3.1 with its RFC clause"
echo "defective-server check: OK (exit $rc, failures listed, results in $out)"
