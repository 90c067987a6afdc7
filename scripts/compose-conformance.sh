#!/usr/bin/env bash
# make compose-conformance: start the three target containers, run the
# conformance container against them, and write results.json, junit.xml
# and index.html into WSH_OUT (out/compose). The stack is always torn
# down. Exit status: the suite's (non-zero on any unexpected FAILED case).
set -euo pipefail
. "$(dirname "$0")/compose-lib.sh"

out="${WSH_OUT:-$PWD/out/compose}"
export WSH_OUT="$out"
export WSH_USER="${WSH_USER:-$(id -u):$(id -g)}"
mkdir -p "$out"
rm -f "$out/results.json" "$out/junit.xml" "$out/index.html"

with_teardown
started=$SECONDS
echo "== compose: starting the targets (project $COMPOSE_PROJECT_NAME)"
compose up -d gorilla gobwas gws
wait_healthy gorilla gobwas gws

echo "== compose: conformance suites against gorilla, gobwas and gws"
rc=0
compose run --rm -T --no-deps conformance || rc=$?

if [ ! -f "$out/results.json" ]; then
	echo "compose: the conformance container wrote no $out/results.json" >&2
	exit $((rc == 0 ? 1 : rc))
fi
compose run --rm -T --no-deps --entrypoint /wsharness conformance summary /out/results.json || rc=$((rc == 0 ? $? : rc))
compose run --rm -T --no-deps --entrypoint /wsharness conformance report --out /out /out/results.json >/dev/null || rc=$((rc == 0 ? $? : rc))
echo "results: $out/results.json  junit: $out/junit.xml  report: $out/index.html ($((SECONDS - started)) s)"

# The plain image's 'wsharness conformance' against the same containers:
# the same catalog without Ginkgo or Go. Its verdicts must be the suite's,
# case by case (scripts/same-verdicts.py).
echo "== compose: wsharness conformance (the plain image) against gorilla, gobwas and gws"
cli_started=$SECONDS
mkdir -p "$out/cli"
compose run --rm -T --no-deps conformance-cli || rc=$((rc == 0 ? $? : rc))
echo "wsharness conformance in a container: $((SECONDS - cli_started)) s"
python3 scripts/same-verdicts.py "$out/results.json" "$out/cli/results.json" || rc=$((rc == 0 ? 1 : rc))
exit $rc
