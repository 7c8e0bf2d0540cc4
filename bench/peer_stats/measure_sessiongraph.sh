#!/usr/bin/env bash
# sessiongraph's side of bench/peer_stats: `sessionStats(zoneId, filter: {includeNested: true})` with
# every part over the peer bench's 1M-session zone (imported into $SG_DB by setup.sh), measured exactly as
# measure_peer.sh measures the peer (measure_cells.sh).
# Env: PB, SG_BIN (target/release/sessiongraph), SG_DB (bench_sg_1m), PORT (5691), ZONE (zone_00),
#      WARMUP (2), DURATION (10), CONCS ("1 16").
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PB="${PB:?set PB to a copy of the peer bench prepared by bench/peer_stats/setup.sh}"
PORT="${PORT:-5691}"
ZONE="${ZONE:-zone_00}"
WARMUP="${WARMUP:-2}"
DURATION="${DURATION:-10}"
CONCS="${CONCS:-1 16}"
TIMEOUT="${TIMEOUT:-120s}"
DRAIN_MAX="${DRAIN_MAX:-300}"
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
PEER_PID=$!; SERVER_PID=$PEER_PID
for _ in $(seq 150); do up && break; sleep 0.2; done
curl -sf -m 60 -H 'content-type: application/json' --data-binary @"$BODY" "$URL" > "$WORK/check-sg.json"
python3 -c "import json; d=json.load(open('$WORK/check-sg.json')); assert not d.get('errors'), d; s=d['data']['sessionStats']; print('# check ok: total', s['total'], s['byStatus'])"
PGURL="postgresql://postgres@127.0.0.1:5432/$SG_DB"
DB="$SG_DB"
SERVER_NAME="sessiongraph $SG_BIN"
source "$HERE/measure_cells.sh"
