#!/usr/bin/env bash
# What CORS costs a request: the peer bench's Q1 (../shared/peer-bench/
# sg_queries) on one PostgreSQL database, served by two release servers side
# by side, one without --cors-origin, one with it and every request carrying
# an allowed Origin (so each answer gets its CORS headers). Cells alternate.
#
# Usage: bench/cors.sh [ROUNDS=3]   (DURATION=8 CONC=16 SESSIONS=100000 QUERY=q1)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
duration=${DURATION:-8}
conc=${CONC:-16}
sessions=${SESSIONS:-100000}
query=${QUERY:-q1}
queries=${QUERIES:-../shared/peer-bench/sg_queries}
origin=http://app.example

source bench/prepare.sh
binary=$(realpath target/release/sessiongraph)
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS bench_cors WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS bench_cors WITH (FORCE)" -c "CREATE DATABASE bench_cors"
url="postgres://postgres@127.0.0.1:5432/bench_cors?sslmode=disable"
"$binary" migrate --database-url "$url" >/dev/null
"$binary" seed --database-url "$url" --sessions "$sessions" >/dev/null
zone=$(psql -h 127.0.0.1 -U postgres -d bench_cors -Atc "SELECT zone_id FROM sessions GROUP BY zone_id ORDER BY count(*) DESC LIMIT 1")
python3 - "$queries/${query}"_*.graphql "$work/body.json" "$zone" <<'PY'
import json, sys
source, target, zone = sys.argv[1:]
open(target, "w").write(json.dumps({"query": open(source).read(), "variables": {"zone": zone}}) + "\n")
PY

declare -A port pid
for server in plain cors; do
  port[$server]=$(free_port)
  flags=()
  [[ $server == cors ]] && flags=(--cors-origin "$origin")
  "$binary" serve --database-url "$url" --listen "127.0.0.1:${port[$server]}" "${flags[@]}" >"$work/$server.log" 2>&1 &
  pid[$server]=$!
  pids+=("${pid[$server]}")
done
for server in plain cors; do
  for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:${port[$server]}/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
done
allowed=$(curl -s -D - -o /dev/null -H 'content-type: application/json' -H "Origin: $origin" \
  -d @"$work/body.json" "http://127.0.0.1:${port[cors]}/graphql" | tr -d '\r' | grep -i '^access-control-allow-origin:' || true)
[[ -n "$allowed" ]] || { echo "the CORS server sent no Access-Control-Allow-Origin" >&2; exit 1; }

ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
results="$work/results.tsv"
for server in plain cors; do
  BENCH_BODIES=$work/body.json BENCH_THREADS=2 wrk -t2 -c"$conc" -d2s -H "Origin: $origin" \
    -s bench/wrk/graphql.lua "http://127.0.0.1:${port[$server]}/graphql" >/dev/null
done
for round in $(seq 1 "$rounds"); do
  for server in plain cors; do
    g0=$(ticks_of "${pid[$server]}")
    out=$(BENCH_BODIES=$work/body.json BENCH_THREADS=2 wrk -t2 -c"$conc" -d"${duration}s" -H "Origin: $origin" \
      -s bench/wrk/graphql.lua "http://127.0.0.1:${port[$server]}/graphql")
    g1=$(ticks_of "${pid[$server]}")
    printf '%s\t%s\t%s\t%s\t%s\n' "$server" \
      "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
      "$(echo "$out" | awk '/requests in/ {print $1}')" \
      "$((g1 - g0))" \
      "$(echo "$out" | awk '/Latency/ {print $2}')" >>"$results"
  done
done
python3 - "$results" "$hz" "$query" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
hz = int(sys.argv[2])
cell = {}
for server in ["plain", "cors"]:
    mine = [r for r in rows if r[0] == server]
    rps = statistics.median(float(r[1]) for r in mine)
    ms = 1000 * sum(int(r[3]) for r in mine) / hz / sum(int(r[2]) for r in mine)
    cell[server] = (rps, ms)
print(f"| {sys.argv[3].upper()} | without CORS req/s | with --cors-origin req/s | ratio | gateway CPU ms/req without / with |")
print("| --- | ---: | ---: | ---: | --- |")
p, c = cell["plain"], cell["cors"]
print(f"| | {p[0]:,.0f} | {c[0]:,.0f} | {c[0] / p[0]:.3f} | {p[1]:.3f} / {c[1]:.3f} |")
PY
