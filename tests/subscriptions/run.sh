#!/usr/bin/env bash
# Subscriptions end to end on a fresh SQLite file and a fresh PostgreSQL
# database: real graphql-ws and graphql-sse clients against real server
# processes.
# SESSIONGRAPH_BIN picks a prebuilt binary (the debug build otherwise);
# TEST_DATABASE_URL the PostgreSQL server (the local one by default).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"
installed() {
    [[ -d "node_modules/$1" ]] && diff -q <(node -p "require('./package-lock.json').packages['node_modules/$1'].version") <(node -p "require('./node_modules/$1/package.json').version") >/dev/null 2>&1
}
if ! installed graphql-ws || ! installed graphql-sse; then
    npm ci --no-audit --no-fund
fi
if [[ -z "${SESSIONGRAPH_BIN:-}" ]]; then
    (cd "$repo" && cargo build --bin sessiongraph)
    export SESSIONGRAPH_BIN="$repo/target/debug/sessiongraph"
fi
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1/postgres}"
exec node --test --test-concurrency=1 --test-reporter=spec "$here/live.test.mjs"
