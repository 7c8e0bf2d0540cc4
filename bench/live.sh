#!/usr/bin/env bash
# The subscription benchmark (see bench/live/live.mjs): builds the release
# server, seeds a PostgreSQL database with `sessiongraph seed` defaults
# (100,000 sessions) and runs 1,000 subscribers over two gateway processes
# against 200 revokes a second for 30 s.
# Usage: bench/live.sh   (SUBSCRIBERS, FIREHOSE, REVOKES_PER_SECOND, DURATION override)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! pg_isready -q -h 127.0.0.1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
cargo build --release --quiet
(cd bench/live && { [[ -d node_modules/graphql-ws ]] || npm ci --no-audit --no-fund --silent; })
name=sessiongraph_live_bench
psql -X -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name"
url="postgres://postgres@127.0.0.1:5432/$name?sslmode=disable"
echo "seeding 100000 sessions" >&2
target/release/sessiongraph --database-url "$url" seed >/dev/null
psql -X -q -h 127.0.0.1 -U postgres -d "$name" -c "VACUUM ANALYZE"
SESSIONGRAPH_BIN="$PWD/target/release/sessiongraph" BENCH_DATABASE_URL="$url" node bench/live/live.mjs
