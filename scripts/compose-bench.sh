#!/usr/bin/env bash
# make compose-bench: one echo load split over WORKERS loadgen containers
# against the target container WSH_LOAD_TARGET. Compose gives the replicas
# of a scaled service no index, so each worker is its own `run` with
# WSH_WORKER_INDEX set; all of them wait for one WSH_START_AT. Each writes
# WSH_OUT/load/worker-<i>.json (log: worker-<i>.log) and the merge step
# writes WSH_OUT/load/merged.json. The stack is always torn down.
set -euo pipefail
. "$(dirname "$0")/compose-lib.sh"

workers="${WORKERS:-2}"
target="${WSH_LOAD_TARGET:-gws}"
case "$workers" in '' | *[!0-9]*) echo "WORKERS=$workers: want a number" >&2; exit 2 ;; esac
case "$target" in gorilla | gobwas | gws) ;; *) echo "LOAD_TARGET=$target: want gorilla, gobwas or gws" >&2; exit 2 ;; esac
if [ "$workers" -lt 1 ] || [ "$workers" -gt 64 ]; then
	echo "WORKERS=$workers: want 1 to 64 on one Docker host" >&2
	exit 2
fi

out="${WSH_OUT:-$PWD/out/compose}"
export WSH_OUT="$out" WSH_LOAD_TARGET="$target" WSH_WORKERS="$workers"
export WSH_USER="${WSH_USER:-$(id -u):$(id -g)}"
rm -rf "$out/load"
mkdir -p "$out/load"

with_teardown
echo "== compose: starting $target (project $COMPOSE_PROJECT_NAME)"
compose up -d "$target"
wait_healthy "$target"

# Starting a one-off container takes a second or two; leave room for all.
lead=$((5 + workers))
start_at=$(date -u -d "@$(($(date +%s) + lead))" +%Y-%m-%dT%H:%M:%SZ)
echo "== compose: $workers workers, ${WSH_CONNS:-1000} connections and ${WSH_RATE:-4000} msg/s in total, starting at $start_at"
pids=()
for ((i = 0; i < workers; i++)); do
	compose run --rm -T --no-deps -e WSH_WORKER_INDEX="$i" -e WSH_WORKERS="$workers" -e WSH_START_AT="$start_at" \
		loadgen >"$out/load/worker-$i.log" 2>&1 &
	pids+=($!)
done
rc=0
for i in "${!pids[@]}"; do
	if ! wait "${pids[$i]}"; then
		echo "compose: worker $i failed; its log ($out/load/worker-$i.log) ends:" >&2
		tail -n 15 "$out/load/worker-$i.log" >&2
		rc=1
	fi
done
if [ $rc -ne 0 ]; then
	exit $rc
fi
for ((i = 0; i < workers; i++)); do
	echo "-- worker $i"
	grep -vE '^(Creating|Starting) ' "$out/load/worker-$i.log" | grep -vE '^ *[0-9]+s (ramp|warmup|measure|drain|hold) ' || true
done

echo "== compose: merging the $workers results"
compose run --rm -T --no-deps loadgen merge --out /out/load/merged.json /out/load
