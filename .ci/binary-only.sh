#!/usr/bin/env bash
# CI: 'wsharness conformance' from the static binary alone, in an empty
# directory with a PATH that has no Go on it, as a team without a checkout
# runs it: the full profile against the three Go reference targets (in the
# binary) and against one of them served by 'wsharness serve' and tested by
# URL. Its verdicts must equal those of make conformance (the file given),
# case by case.
#
#   .ci/binary-only.sh MAKE-CONFORMANCE-RESULTS.json
set -euo pipefail
cd "$(dirname "$0")/.."
reference=$(realpath "$1")
same=$(realpath scripts/same-verdicts.py)
dir=$(mktemp -d)
srv=
trap '[ -z "$srv" ] || kill "$srv" 2>/dev/null; rm -rf "$dir"' EXIT
CGO_ENABLED=0 go build -o "$dir/wsharness" ./cmd/wsharness
cd "$dir"
export PATH=/usr/bin:/bin
if command -v go >/dev/null 2>&1; then
	echo "binary-only: go is still on PATH ($(command -v go))" >&2
	exit 1
fi
./wsharness serve --target gws --addr 127.0.0.1:39301 >serve.log 2>&1 &
srv=$!
for _ in $(seq 50); do ./wsharness probe --quiet ws://127.0.0.1:39301/echo && break; sleep 0.1; done
t0=$(date +%s.%N)
rc=0
./wsharness conformance --target gorilla --target gobwas --target gws --profile full --out full >full.log 2>&1 || rc=$?
t1=$(date +%s.%N)
tail -n 20 full.log
echo "wsharness conformance --profile full on gorilla, gobwas, gws: exit $rc, $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"
[ "$rc" -eq 0 ]
python3 "$same" --subset "$reference" full/results.json
./wsharness conformance --url gws=ws://127.0.0.1:39301/echo --out url >url.log 2>&1 || { tail -n 30 url.log; exit 1; }
python3 "$same" --subset "$reference" url/results.json
echo "binary-only: the binary alone, without Go, gives make conformance's verdicts"
