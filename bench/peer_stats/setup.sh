#!/usr/bin/env bash
# Prepares the sessionStats comparison with PostGraphile v4 + @graphile/pg-aggregates over 1,000,000
# sessions in one zone, in a copy of the peer bench ($PB, see its README; its setup.sh installs
# PostGraphile v4 in $PB/.peer):
#   - adds @graphile/pg-aggregates 0.1.1 (the v4 line) and postgraphile-plugin-connection-filter 2.3.0
#     (the only way to leave the sessions without an application or user agent out of a grouping,
#     whose null key PostGraphile refuses) to $PB/.peer, from the lock file npm writes there;
#   - generates the peer bench's dataset with 1M sessions in one zone (zone_00; 695 MB, about 45 s);
#   - loads the peers' copy into bench_peer_1m (about 40 s) with one SQL function for the
#     `sum { rowCount }` variant of the query (pg-aggregates has no per-group row count);
#   - imports the same document into bench_sg_1m with sessiongraph (about 90 s).
# Usage: PB=/path/to/peer-bench bench/peer_stats/setup.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PB="${PB:?set PB to a copy of the peer bench}"
SG_BIN="${SG_BIN:-$HERE/../../target/release/sessiongraph}"
DATA="$PB/data/dataset_1m.json"

(cd "$PB/.peer" && npm install --no-audit --no-fund --save-exact \
  @graphile/pg-aggregates@0.1.1 postgraphile-plugin-connection-filter@2.3.0)
[ -f "$DATA" ] || python3 "$PB/gen_dataset.py" --zones 1 --sessions 1000000 --out "$DATA"
psql -X -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS bench_peer_1m WITH (FORCE)" \
  -c "CREATE DATABASE bench_peer_1m OWNER bench"
python3 "$PB/load_pg.py" "$DATA" --dsn postgresql://bench:bench@127.0.0.1:5432/bench_peer_1m
psql -X -q "postgresql://bench:bench@127.0.0.1:5432/bench_peer_1m" -c \
  "CREATE FUNCTION sessions_row_count(s sessions) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT 1'"
psql -X -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS bench_sg_1m WITH (FORCE)" \
  -c "CREATE DATABASE bench_sg_1m"
"$SG_BIN" import "$DATA" --database-url "postgres://postgres@127.0.0.1/bench_sg_1m?sslmode=disable"
