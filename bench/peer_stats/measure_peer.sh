#!/usr/bin/env bash
# Measure PostGraphile v4.14.1 + @graphile/pg-aggregates 0.1.1 on the "session statistics" query
# (peer of sessiongraph's `sessionStats(zoneId, filter: {includeNested: true})`) over the 1M-session
# database. Starts the peer if nothing answers on $PORT (and stops it at the end only if it started it),
# checks one response, then per concurrency: WARMUP s of wrk, TIMED s of wrk, printing
# req/s (non-error responses only), p50/p99 latency, errors, requests abandoned in flight at the end of the
# window (wrk does not count them; approximate, can read +1 per wrk thread), and CPU ms per completed request of node and PostgreSQL during the window.
# NB: with VARIANT=distinct one request takes seconds; a 10 s window at c=16 may complete none of them
# (all 16 "abandoned"); raise DURATION (e.g. 60-120) for meaningful c=16 figures.
#
# Usage: measure_peer.sh                 (defaults: c=1 and c=16, 2 s warm-up + 10 s each)
#   DURATION=2 measure_peer.sh           smoke test
#   VARIANT=rowcount measure_peer.sh     count groups with sum { rowCount } (COUNT(*)-like; needs the
#                                              sessions_row_count(sessions) SQL function, see README below)
# Env: PB (peer-bench copy with .peer/ installed), DB (bench_peer_1m), PORT (5690), ZONE (zone_00),
#      VARIANT (distinct|rowcount), WARMUP (2), DURATION (10), CONCS ("1 16"), TIMEOUT (wrk --timeout, 120s),
#      DRAIN_MAX (max seconds to wait for PostgreSQL to go idle between runs, 300).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PB="${PB:?set PB to a copy of the peer bench prepared by bench/peer_stats/setup.sh}"
DB="${DB:-bench_peer_1m}"
PORT="${PORT:-5690}"
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

case "$VARIANT" in
  distinct) QUERY="$HERE/stats_query.graphql" ;;            # distinctCount { id } = count(distinct id)
  rowcount) QUERY="$HERE/stats_query_rowcount.graphql" ;;   # sum { rowCount } = sum(1) per group
  *) echo "VARIANT must be distinct or rowcount" >&2; exit 2 ;;
esac
command -v wrk >/dev/null || { echo "wrk not on PATH (apt-get install wrk)" >&2; exit 1; }
[ -f "$PB/.peer/node_modules/@graphile/pg-aggregates/package.json" ] || { echo "no pg-aggregates in $PB/.peer" >&2; exit 1; }

BODY="$WORK/body-$VARIANT.json"
python3 - "$QUERY" "$ZONE" > "$BODY" <<'PY'
import json, sys
print(json.dumps({"query": open(sys.argv[1]).read(), "variables": {"zone": sys.argv[2]}}, separators=(",", ":")))
PY

up() { curl -sf -o /dev/null -m 5 -H 'content-type: application/json' -d '{"query":"{__typename}"}' "$URL"; }
PEER_PID=""
stop_peer() {
  if [ -n "$PEER_PID" ]; then
    kill "$PEER_PID" 2>/dev/null || true
    while kill -0 "$PEER_PID" 2>/dev/null; do sleep 0.1; done
    echo "# stopped peer (pid $PEER_PID)"; PEER_PID=""
  fi
}
trap stop_peer EXIT INT TERM

if up; then
  SERVER_PID=$(ss -ltnpH "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
  echo "# peer already answering on :$PORT (pid ${SERVER_PID:-?}); using it, will not stop it"
else
  # run_peer.sh's flags (production set, simplify-inflector) + pg-aggregates + connection-filter.
  # A second --append-plugins replaces run_peer.sh's, so it lists simplify-inflector again.
  PGURL="$PGURL" PEER_PORT="$PORT" "$PB/run_peer.sh" \
    --append-plugins @graphile-contrib/pg-simplify-inflector,@graphile/pg-aggregates,postgraphile-plugin-connection-filter \
    > "$WORK/peer.log" 2>&1 &
  PEER_PID=$!; SERVER_PID=$PEER_PID
  for _ in $(seq 150); do up && break; kill -0 "$PEER_PID" 2>/dev/null || { cat "$WORK/peer.log"; exit 1; }; sleep 0.2; done
  up || { echo "peer did not come up; see $WORK/peer.log" >&2; exit 1; }
  echo "# started peer pid $PEER_PID on :$PORT (log $WORK/peer.log)"
fi

# One checked response: no errors, total = the zone's row count, group sums add up.
curl -sf -m 600 -H 'content-type: application/json' --data-binary @"$BODY" "$URL" > "$WORK/check-$VARIANT.json"
EXPECT=$(psql -XAtc "select count(*), count(application_id), count(user_agent_id) from sessions where zone_id = '$ZONE'" "$PGURL")
python3 - "$WORK/check-$VARIANT.json" "$EXPECT" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); total, apps, uas = map(int, sys.argv[2].split("|"))
assert not d.get("errors"), d["errors"]
x = d["data"]
n = lambda g: int(g["distinctCount"]["id"] if "distinctCount" in g else g["sum"]["rowCount"])
groups = {"byStatus": x["all"]["byStatus"], "byType": x["all"]["byType"],
          "byApplication": x["byApplication"]["groupedAggregates"], "byUserAgent": x["byUserAgent"]["groupedAggregates"]}
assert x["all"]["total"] == total, (x["all"]["total"], total)
for k, want in [("byStatus", total), ("byType", total), ("byApplication", apps), ("byUserAgent", uas)]:
    assert sum(map(n, groups[k])) == want, (k, sum(map(n, groups[k])), want)
print(f"# check ok: total {total}; groups: " + ", ".join(f"{k} {len(v)}" for k, v in groups.items()))
PY

SERVER_NAME="PostGraphile $(node -p "require('$PB/.peer/node_modules/postgraphile/package.json').version") + pg-aggregates $(node -p "require('$PB/.peer/node_modules/@graphile/pg-aggregates/package.json').version"), variant $VARIANT"
source "$HERE/measure_cells.sh"
