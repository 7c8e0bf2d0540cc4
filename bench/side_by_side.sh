#!/usr/bin/env bash
# Sourced by the benchmarks that compare one server setting against another
# (bench/cors.sh, bench/tracing.sh): release servers side by side on one
# seeded PostgreSQL database, driven in alternating cells so the machine's
# drift hits every variant alike.
#
# The caller sets, before sourcing:
#   bench_name  names the database (bench_<name>)
#   variants    the variants' names, in column order
#   sidecar_pids (optional) processes to stop at the end
# and defines `start_variant NAME PORT LOG`, which starts one server in the
# background on PORT (the database is $url) and echoes nothing; then calls
#   side_by_side QUERY [WRK_ARGS...]
# for each peer-bench query (q1..q4), which prints one markdown table row
# set: req/s (median of rounds), the ratio to the first variant, and the
# CPU milliseconds per request of the gateway and of PostgreSQL.
#
# Environment: ROUNDS=3 DURATION=8 CONC=16 SESSIONS=100000
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${ROUNDS:-3}
duration=${DURATION:-8}
conc=${CONC:-16}
sessions=${SESSIONS:-100000}
queries=${QUERIES:-../shared/peer-bench/sg_queries}

source bench/prepare.sh
binary=$(realpath target/release/sessiongraph)
work=$(mktemp -d)
# Processes the caller started for its variants (a sink, say), stopped too.
pids=(${sidecar_pids[@]+"${sidecar_pids[@]}"})
database="bench_${bench_name}"
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database"
url="postgres://postgres@127.0.0.1:5432/$database?sslmode=disable"
"$binary" migrate --database-url "$url" >/dev/null
"$binary" seed --database-url "$url" --sessions "$sessions" >/dev/null
zone=$(psql -h 127.0.0.1 -U postgres -d "$database" -Atc "SELECT zone_id FROM sessions GROUP BY zone_id ORDER BY count(*) DESC LIMIT 1")
# A session with a grandparent (Q3) and the user with the most sessions (Q4).
session=$(psql -h 127.0.0.1 -U postgres -d "$database" -Atc "SELECT id FROM sessions WHERE depth >= 2 ORDER BY id LIMIT 1")
user=$(psql -h 127.0.0.1 -U postgres -d "$database" -Atc "SELECT user_id FROM sessions WHERE user_id IS NOT NULL GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1")

declare -A port pid
for variant in "${variants[@]}"; do
  port[$variant]=$(free_port)
  start_variant "$variant" "${port[$variant]}" "$work/$variant.log"
  pid[$variant]=$!
  pids+=("${pid[$variant]}")
done
for variant in "${variants[@]}"; do
  for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:${port[$variant]}/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
done

ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Every PostgreSQL process: the cells alternate, so what the database spends
# during one belongs to that cell's variant.
postgres_ticks() {
  local total=0
  for p in $(pgrep -x postgres); do total=$((total + $(ticks_of "$p"))); done
  echo $total
}
hz=$(getconf CLK_TCK)

# The body of peer-bench query $1 (q1..q4) with its variables.
body_of() {
  python3 - "$queries/$1"_*.graphql "$work/$1.json" "$zone" "$session" "$user" <<'PY'
import json, sys
source, target, zone, session, user = sys.argv[1:]
text = open(source).read()
variables = {"zone": zone} if "$zone" in text else {"id": session if "session(" in text else user}
open(target, "w").write(json.dumps({"query": text, "variables": variables}) + "\n")
PY
  echo "$work/$1.json"
}

side_by_side() {
  local query=$1
  shift
  local body results
  body=$(body_of "$query")
  results="$work/$query.tsv"
  : >"$results"
  for variant in "${variants[@]}"; do
    curl -fs "http://127.0.0.1:${port[$variant]}/graphql" -H 'content-type: application/json' -d @"$body" |
      python3 -c 'import json,sys; b=json.load(sys.stdin); assert "errors" not in b and b["data"], b'
    BENCH_BODIES=$body BENCH_THREADS=2 wrk -t2 -c"$conc" -d2s "$@" \
      -s bench/wrk/graphql.lua "http://127.0.0.1:${port[$variant]}/graphql" >/dev/null
  done
  for _ in $(seq 1 "$rounds"); do
    for variant in "${variants[@]}"; do
      local g0 g1 p0 p1 out
      g0=$(ticks_of "${pid[$variant]}")
      p0=$(postgres_ticks)
      out=$(BENCH_BODIES=$body BENCH_THREADS=2 wrk -t2 -c"$conc" -d"${duration}s" "$@" \
        -s bench/wrk/graphql.lua "http://127.0.0.1:${port[$variant]}/graphql")
      g1=$(ticks_of "${pid[$variant]}")
      p1=$(postgres_ticks)
      if echo "$out" | grep -q 'Non-2xx'; then
        echo "$variant answered errors on $query: $out" >&2
        exit 1
      fi
      printf '%s\t%s\t%s\t%s\t%s\n' "$variant" \
        "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
        "$(echo "$out" | awk '/requests in/ {print $1}')" \
        "$((g1 - g0))" "$((p1 - p0))" >>"$results"
    done
  done
  python3 - "$results" "$hz" "$query" "${variants[@]}" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
hz = int(sys.argv[2])
query, variants = sys.argv[3].upper(), sys.argv[4:]
cells = []
for variant in variants:
    mine = [r for r in rows if r[0] == variant]
    rps = statistics.median(float(r[1]) for r in mine)
    requests = sum(int(r[2]) for r in mine)
    ms = 1000 * sum(int(r[3]) for r in mine) / hz / requests
    database = 1000 * sum(int(r[4]) for r in mine) / hz / requests
    cells.append((variant, rps, ms, database))
base = cells[0][1]
for variant, rps, ms, database in cells:
    print(f"| {query} | {variant} | {rps:,.0f} | {rps / base:.3f} | {ms:.3f} | {database:.3f} |")
PY
}
