#!/usr/bin/env bash
# Q1-Q4 of the peer bench (../shared/peer-bench/sg_queries) on one
# PostgreSQL database, served by two release servers side by side: one
# connected directly (named prepared statements), one through PgBouncer in
# transaction pooling mode (unnamed statements in one flight). Cells
# alternate (direct, pooled, direct, ...) so the machine's drift hits both.
#
# Usage: bench/pooler.sh [ROUNDS=3]   (DURATION=8 CONC=16 SESSIONS=100000)
# Prints, per query: req/s (median of rounds), the pooled/direct ratio, and
# CPU milliseconds per request of each gateway, of PostgreSQL and of PgBouncer.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
duration=${DURATION:-8}
conc=${CONC:-16}
sessions=${SESSIONS:-100000}
queries=${QUERIES:-../shared/peer-bench/sg_queries}

source bench/prepare.sh
command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed" >&2; exit 1; }
binary=$(realpath target/release/sessiongraph)
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS bench_pooler WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS bench_pooler WITH (FORCE)" -c "CREATE DATABASE bench_pooler"
direct="postgres://postgres@127.0.0.1:5432/bench_pooler?sslmode=disable"
"$binary" migrate --database-url "$direct" >/dev/null
"$binary" seed --database-url "$direct" --sessions "$sessions" >/dev/null

bouncer_port=$(free_port)
printf '"postgres" ""\n' >"$work/users.txt"
cat >"$work/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=5432
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = trust
auth_file = $work/users.txt
pool_mode = transaction
default_pool_size = 20
EOF
if [[ $(id -u) == 0 ]]; then pgbouncer -u postgres "$work/pgbouncer.ini" 2>"$work/pgbouncer.log" &
else pgbouncer "$work/pgbouncer.ini" 2>"$work/pgbouncer.log" &
fi
bouncer_pid=$!
pids+=("$bouncer_pid")
pooled="postgres://postgres@127.0.0.1:$bouncer_port/bench_pooler?sslmode=disable"

declare -A port pid
for server in direct pooled; do
  port[$server]=$(free_port)
  url=$direct
  [[ $server == pooled ]] && url=$pooled
  "$binary" serve --database-url "$url" --listen "127.0.0.1:${port[$server]}" >"$work/$server.log" 2>&1 &
  pid[$server]=$!
  pids+=("${pid[$server]}")
done
for server in direct pooled; do
  for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:${port[$server]}/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
done

# The queries' variables, from the seeded data: the largest zone, a session
# with a grandparent, the user with the most sessions.
zone=$(psql -h 127.0.0.1 -U postgres -d bench_pooler -Atc "SELECT zone_id FROM sessions GROUP BY zone_id ORDER BY count(*) DESC LIMIT 1")
q3=$(psql -h 127.0.0.1 -U postgres -d bench_pooler -Atc "SELECT id FROM sessions WHERE depth >= 2 ORDER BY id LIMIT 1")
q4=$(psql -h 127.0.0.1 -U postgres -d bench_pooler -Atc "SELECT user_id FROM sessions WHERE user_id IS NOT NULL GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1")
python3 - "$queries" "$work" "$zone" "$q3" "$q4" <<'PY'
import json, pathlib, sys
queries, work, zone, q3, q4 = sys.argv[1:]
variables = {"q1": {"zone": zone}, "q2": {"zone": zone}, "q3": {"id": q3}, "q4": {"id": q4}}
for f in sorted(pathlib.Path(queries).glob("q*.graphql")):
    q = f.name[:2]
    pathlib.Path(work, f"{q}.json").write_text(json.dumps({"query": f.read_text(), "variables": variables[q]}) + "\n")
PY

# CPU ticks (user + system) of a process, or of every process of a command.
ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
postgres_ticks() {
  local total=0
  for p in $(pgrep -x postgres); do total=$((total + $(ticks_of "$p"))); done
  echo $total
}
hz=$(getconf CLK_TCK)

results="$work/results.tsv"
for q in q1 q2 q3 q4; do
  body="$work/$q.json"
  for server in direct pooled; do
    curl -fs "http://127.0.0.1:${port[$server]}/graphql" -H 'content-type: application/json' -d @"$body" |
      python3 -c 'import json,sys; b=json.load(sys.stdin); assert "errors" not in b, b'
    BENCH_BODIES=$body BENCH_THREADS=2 wrk -t2 -c"$conc" -d2s -s bench/wrk/graphql.lua "http://127.0.0.1:${port[$server]}/graphql" >/dev/null
  done
  for round in $(seq 1 "$rounds"); do
    for server in direct pooled; do
      g0=$(ticks_of "${pid[$server]}"); p0=$(postgres_ticks); b0=$(ticks_of "$bouncer_pid")
      out=$(BENCH_BODIES=$body BENCH_THREADS=2 wrk -t2 -c"$conc" -d"${duration}s" -s bench/wrk/graphql.lua "http://127.0.0.1:${port[$server]}/graphql")
      g1=$(ticks_of "${pid[$server]}"); p1=$(postgres_ticks); b1=$(ticks_of "$bouncer_pid")
      requests=$(echo "$out" | awk '/requests in/ {print $1}')
      rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$q" "$server" "$round" "$rps" "$requests" \
        "$((g1 - g0))" "$((p1 - p0))" "$((b1 - b0))" >>"$results"
      [[ -z "$non2xx" ]] || echo "$q $server: $non2xx non-2xx answers" >&2
    done
  done
done

python3 - "$results" "$hz" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
hz = int(sys.argv[2])
print("| query | direct req/s | pooled req/s | pooled / direct | gateway CPU ms/req direct / pooled | PostgreSQL CPU ms/req direct / pooled | PgBouncer CPU ms/req |")
print("| --- | ---: | ---: | ---: | --- | --- | ---: |")
for q in ["q1", "q2", "q3", "q4"]:
    cell = {}
    for server in ["direct", "pooled"]:
        mine = [r for r in rows if r[0] == q and r[1] == server]
        rps = statistics.median(float(r[3]) for r in mine)
        requests = sum(int(r[4]) for r in mine)
        ms = lambda column: 1000 * sum(int(r[column]) for r in mine) / hz / requests
        cell[server] = (rps, ms(5), ms(6), ms(7))
    d, p = cell["direct"], cell["pooled"]
    print(f"| {q.upper()} | {d[0]:,.0f} | {p[0]:,.0f} | {p[0] / d[0]:.2f} | {d[1]:.3f} / {p[1]:.3f} | {d[2]:.3f} / {p[2]:.3f} | {p[3]:.3f} |")
PY
