#!/usr/bin/env bash
# CI: wsharness in containers, end to end. Where no Docker daemon answers,
# say so and skip this part only (exit 0). Otherwise: the compose file is
# valid, `make compose-conformance` writes the three Go targets with every
# non-browser case, a 2-worker compose load run writes two worker results
# and a merged one whose counts are the sums, and no container is left.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== docker-compose: targets, conformance and a 2-worker load in containers"
if ! command -v docker >/dev/null 2>&1; then
	echo "compose: SKIPPED: no docker command on this machine"
	exit 0
fi
if ! docker info >/dev/null 2>&1; then
	echo "compose: SKIPPED: no Docker daemon answers (docker info failed)"
	exit 0
fi
if command -v docker-compose >/dev/null 2>&1; then
	compose="docker-compose"
elif docker compose version >/dev/null 2>&1; then
	compose="docker compose"
else
	echo "compose: a Docker daemon answers, but neither docker-compose nor 'docker compose' is installed" >&2
	exit 1
fi
project="wsharness-ci"
out="out/compose-ci"
left_behind() { docker ps -aq --filter "label=com.docker.compose.project=$project"; }

echo "-- $compose config -q"
$compose -f docker-compose.yml config -q
if [ "$compose" = docker-compose ] && docker compose version >/dev/null 2>&1; then
	docker compose -f docker-compose.yml config -q
fi

echo "-- make compose-conformance"
t0=$SECONDS
make compose-conformance COMPOSE="$compose" COMPOSE_PROJECT="$project" COMPOSE_OUT="$out"
echo "compose-conformance: $((SECONDS - t0)) s"
if [ -n "$(left_behind)" ]; then
	echo "compose-conformance left containers behind: $(left_behind)" >&2
	exit 1
fi
out/docker/wsharness cases --json >"$out/catalog.json"
python3 - "$out/results.json" "$out/catalog.json" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))
# The default profile leaves out the slow families and says so.
skipped = set(run.get("skipped_families", {}))
catalog = {c["id"] for c in json.load(open(sys.argv[2]))
           if c["family"] != "browser" and c["family"] not in skipped and "HTTP/1.1" in c["transports"]}
names = [t["name"] for t in run["targets"]]
assert names == ["gorilla", "gobwas", "gws"], f"targets {names}"
assert not run.get("incomplete"), "the run is marked incomplete"
for t in run["targets"]:
    ids = [c["id"] for c in t["cases"]]
    assert not t.get("unavailable"), f"{t['name']} unavailable: {t['unavailable']}"
    assert len(ids) == len(set(ids)), f"{t['name']}: duplicate case IDs"
    assert set(ids) == catalog, f"{t['name']}: {len(ids)} cases, missing {sorted(catalog - set(ids))[:5]}, extra {sorted(set(ids) - catalog)[:5]}"
    assert t["library"].startswith("github.com/"), f"{t['name']}: library {t['library']!r}"
print(f"results.json: {', '.join(names)} with all {len(catalog)} cases of the default profile (no browser) each")
EOF

echo "-- make compose-bench WORKERS=2 (small)"
t0=$SECONDS
make compose-bench COMPOSE="$compose" COMPOSE_PROJECT="$project" COMPOSE_OUT="$out" \
	WORKERS=2 LOAD_CONNS=200 LOAD_RATE=1000 LOAD_DURATION=3s LOAD_WARMUP=1s
echo "compose-bench: $((SECONDS - t0)) s"
if [ -n "$(left_behind)" ]; then
	echo "compose-bench left containers behind: $(left_behind)" >&2
	exit 1
fi
python3 - "$out/load" <<'EOF'
import json, os, sys
d = sys.argv[1]
w = [json.load(open(os.path.join(d, f"worker-{i}.json"))) for i in range(2)]
m = json.load(open(os.path.join(d, "merged.json")))
for i, r in enumerate(w):
    assert r["worker"]["index"] == i and r["worker"]["count"] == 2, f"worker {i}: {r.get('worker')}"
    assert r["connections"]["established"] > 0, f"worker {i} established no connection"
assert "worker" not in m and [p["index"] for p in m["merged_from"]] == [0, 1], "merged_from"
def total(path):
    def get(r):
        for k in path.split("."):
            r = r[k]
        return r
    return sum(get(r) for r in w), get(m)
for path in ["connections.target", "connections.established", "connections.failed", "params.conns", "params.rate",
             "messages.sent", "messages.received", "messages.lost", "messages.errors", "latency_us.count",
             "service_time_us.count", "connect_latency_us.count"]:
    want, got = total(path)
    assert got == want, f"merged {path} {got}, workers sum to {want}"
for key in ["latency_us", "service_time_us", "connect_latency_us"]:
    lo = min(r[key]["p99"] for r in w); hi = max(r[key]["p99"] for r in w)
    assert lo <= m[key]["p99"] <= hi, f"merged {key} p99 {m[key]['p99']} outside the workers' [{lo}, {hi}]"
    assert m[key]["max"] == max(r[key]["max"] for r in w), f"merged {key} max"
    assert key in m["histograms"], f"merged histogram {key} missing"
print(f"merged.json: {m['connections']['established']} connections and {m['messages']['received']} replies "
      f"= the workers' sums; latency p99 {m['latency_us']['p99']} µs from the merged histogram")
EOF
echo "compose: OK, nothing left behind"
