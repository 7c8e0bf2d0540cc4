#!/usr/bin/env bash
# sessiongraph's side of bench/peer_stats: `sessionStats(zoneId, filter: {includeNested: true})` with
# every part over the peer bench's 1M-session zone (imported into $SG_DB by setup.sh), measured exactly as
# measure_peer.sh measures the peer: wrk at each concurrency after a warm-up, CPU ms per request of the
# server process and of PostgreSQL.
# Env: PB, SG_BIN (target/release/sessiongraph), SG_DB (bench_sg_1m), PORT (5691), ZONE (zone_00),
#      WARMUP (2), DURATION (10), CONCS ("1 16").
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PB="${PB:?set PB to a copy of the peer bench prepared by bench/peer_stats/setup.sh}"
DB="${DB:-bench_peer_1m}"
PORT="${PORT:-5691}"
ZONE="${ZONE:-zone_00}"
VARIANT="${VARIANT:-distinct}"
WARMUP="${WARMUP:-2}"
DURATION="${DURATION:-10}"
CONCS="${CONCS:-1 16}"
TIMEOUT="${TIMEOUT:-120s}"
DRAIN_MAX="${DRAIN_MAX:-300}"
PGURL="postgresql://bench:bench@127.0.0.1:5432/$DB"
URL="http://127.0.0.1:$PORT/graphql"
LUA="$HERE/peer_stats.lua"
WORK="${WORK:-$PB/stats-out}"; mkdir -p "$WORK"

SG_BIN="${SG_BIN:-$HERE/../../target/release/sessiongraph}"
SG_DB="${SG_DB:-bench_sg_1m}"
QUERY="$WORK/sg_stats_query.graphql"
cat > "$QUERY" <<'GQL'
query S1($zone: ID!) {
  sessionStats(zoneId: $zone, filter: {includeNested: true}) {
    total
    byStatus { status count }
    byType { type count }
    byApplication { application { name } count }
    byUserAgent { userAgent { name } count }
  }
}
GQL
BODY="$WORK/body-sg.json"
python3 - "$QUERY" "$ZONE" > "$BODY" <<'PY'
import json, sys
print(json.dumps({"query": open(sys.argv[1]).read(), "variables": {"zone": sys.argv[2]}}, separators=(",", ":")))
PY
up() { curl -sf -o /dev/null -m 5 -H 'content-type: application/json' -d '{"query":"{__typename}"}' "$URL"; }
PEER_PID=""
stop_peer() { if [ -n "$PEER_PID" ]; then kill "$PEER_PID" 2>/dev/null || true; wait "$PEER_PID" 2>/dev/null || true; PEER_PID=""; fi; }
trap stop_peer EXIT INT TERM
"$SG_BIN" --database-url "postgres://postgres@127.0.0.1/$SG_DB?sslmode=disable" serve --listen 127.0.0.1:$PORT > "$WORK/sg.log" 2>&1 &
PEER_PID=$!; NODE_PID=$PEER_PID
for _ in $(seq 150); do up && break; sleep 0.2; done
curl -sf -m 60 -H 'content-type: application/json' --data-binary @"$BODY" "$URL" > "$WORK/check-sg.json"
python3 -c "import json; d=json.load(open('$WORK/check-sg.json')); assert not d.get('errors'), d; s=d['data']['sessionStats']; print('# check ok: total', s['total'], s['byStatus'])"
PGURL="postgresql://postgres@127.0.0.1:5432/$SG_DB"
DB="$SG_DB"
# CPU ticks (utime+stime) of one process, and of all PostgreSQL server processes together (as vs_peer.sh).
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { local t=0 p; for p in $(pgrep -u postgres); do t=$((t + $(ticks "$p"))); done; echo "$t"; }
# wrk abandons in-flight requests at the end of a run, but PostgreSQL keeps running their statements:
# wait until no statement of this database is active, so one run's leftovers do not load the next.
drain() {
  local i n
  for i in $(seq $((DRAIN_MAX * 5))); do
    n=$(psql -XAtc "select count(*) from pg_stat_activity where datname = '$DB' and state = 'active' and pid <> pg_backend_pid()" "$PGURL")
    [ "$n" = 0 ] && return 0; sleep 0.2
  done
  echo "# warning: PostgreSQL still busy after ${DRAIN_MAX}s" >&2
}
run_wrk() {  # concurrency seconds -> PEERSTATS json line (and FIRST_ERROR line if any)
  local c=$1 threads=$(( $1 < 2 ? $1 : 2 ))
  BENCH_BODY="$BODY" wrk -t "$threads" -c "$c" -d "${2}s" --timeout "$TIMEOUT" -s "$LUA" "$URL" > "$WORK/wrk.out"
  grep '^PEERSTATS' "$WORK/wrk.out"
}

echo "# sessiongraph $SG_BIN; db $SG_DB zone $ZONE; warm-up ${WARMUP}s, timed ${DURATION}s"
printf '%-5s %9s %10s %10s %7s %8s %10s %12s %10s\n' conc req/s p50_ms p99_ms errors ok_reqs abandoned node_ms/req pg_ms/req
for c in $CONCS; do
  drain; run_wrk "$c" "$WARMUP" > /dev/null; drain
  n0=$(ticks "$NODE_PID"); p0=$(pg_ticks)
  line=$(run_wrk "$c" "$DURATION")
  n1=$(ticks "$NODE_PID"); p1=$(pg_ticks)
  python3 - "$c" "$line" $((n1 - n0)) $((p1 - p0)) "$HZ" <<'PY'
import json, sys
c, line, nt, pt, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r = json.loads(line.splitlines()[0].split(" ", 1)[1])
errors = r["socket_errors"] + r["timeouts"] + r["http_errors"] + r["graphql_errors"]
ok = r["requests"] - r["http_errors"] - r["graphql_errors"]
per = lambda t: f"{t * 1000 / hz / ok:.0f}" if ok else "-"
lat = lambda us: f"{us / 1000:.1f}" if ok else "-"
print(f"{c:<5} {ok / (r['duration_us'] / 1e6):9.2f} {lat(r['p50_us']):>10} {lat(r['p99_us']):>10} {errors:7d} {ok:8d} {r['abandoned']:10d} {per(nt):>12} {per(pt):>10}")
for l in line.splitlines()[1:]:
    print("#", l)
PY
done
drain
