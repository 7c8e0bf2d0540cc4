#!/usr/bin/env bash
# Conformance of sessiongraph's GraphQL answers, on both
# databases: for a fresh SQLite file and a fresh PostgreSQL database, it
# imports one seeded dataset, starts `sessiongraph serve` on a free port and
# runs against it
#   - schema_identity.mjs: the served schema equals schema.graphql;
#   - audit.mjs: graphql-http's server audits, every MUST and SHOULD;
#   - diff.mjs: generated documents against the graphql-js reference
#     (reference.mjs, generate.mjs) over the same dataset.
#
#   bash tests/conformance/run.sh [--count N] [--seed S]
#
# Defaults: 300 documents per database, seed "ci-1" (CONFORMANCE_COUNT and
# CONFORMANCE_SEED set them too). Twenty thousand documents with another
# seed, each database (3 to 5 minutes per database on 2 cores):
#
#   bash tests/conformance/run.sh --count 20000 --seed my-seed
#
# One document again, from a failure report (seed S, index I), against a
# server already running on the dataset (a failing run keeps it as
# target/conformance-dataset.json; it is the same on every run):
#
#   node tests/conformance/diff.mjs --url http://127.0.0.1:PORT/graphql \
#       --dataset target/conformance-dataset.json --seed S --start I --count 1
#
# (SHRINK_DEBUG=1 shows the shrinker's steps.) A graphql-js server over the
# same dataset, for poking at by hand:
#
#   node tests/conformance/reference.mjs --dataset FILE --port 4000
#
# SESSIONGRAPH_BIN picks a prebuilt binary (the cargo build is then
# skipped); TEST_DATABASE_URL names the PostgreSQL server to create the
# database on (default postgres://postgres@127.0.0.1/postgres); node and npm
# (Node 20 or later) are needed. Exits non-zero if anything failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

count="${CONFORMANCE_COUNT:-300}"
seed="${CONFORMANCE_SEED:-ci-1}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --count) count="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        *) echo "run.sh: unknown argument $1 (expected --count N, --seed S)" >&2; exit 2 ;;
    esac
done

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "run.sh: node and npm are needed (Node 20 or later)" >&2
    exit 1
fi

cd "$here"
# Reinstall only when node_modules is missing or not what the lock file pins.
installed_matches() {
    node -e '
        const lock = require("./package-lock.json").packages;
        for (const [path, entry] of Object.entries(lock)) {
            if (!path.startsWith("node_modules/")) continue;
            let version;
            try { version = require("./" + path + "/package.json").version; } catch { process.exit(1); }
            if (version !== entry.version) process.exit(1);
        }' 2>/dev/null
}
if ! installed_matches; then
    npm ci --no-audit --no-fund
fi

if [[ -z "${SESSIONGRAPH_BIN:-}" ]]; then
    (cd "$repo" && cargo build --bin sessiongraph)
    bin="$repo/target/debug/sessiongraph"
else
    bin="$SESSIONGRAPH_BIN"
fi

work="$(mktemp -d)"
server_pid=""
pg_admin="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1/postgres}"
pg_name=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -n "$pg_name" ]]; then
        psql "$pg_admin" -qc "DROP DATABASE IF EXISTS \"$pg_name\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A small dataset: two zones (so cross-zone ids exist), trees up to depth 4,
# plus hand-made edge cases (ties, nulls, odd ids and timestamps).
"$bin" seed --seed 2026 --zones 2 --sessions 400 --users 24 --applications 8 --user-agents 10 \
    --out "$work/seed.json" >/dev/null
node "$here/edge_cases.mjs" "$work/seed.json" "$work/dataset.json"

free_port() {
    node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

failures=()
run_database() {
    local name="$1" url="$2"
    echo "== conformance on $name"
    "$bin" import "$work/dataset.json" --database-url "$url" </dev/null
    local port
    port="$(free_port)"
    "$bin" serve --database-url "$url" --listen "127.0.0.1:$port" </dev/null >"$work/$name-server.log" 2>&1 &
    server_pid=$!
    local ready=""
    for _ in $(seq 1 100); do
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)" == "200" ]]; then
            ready=1
            break
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
        sleep 0.2
    done
    if [[ -z "$ready" ]]; then
        echo "run.sh: the server on $name did not become ready; its log:" >&2
        cat "$work/$name-server.log" >&2
        failures+=("$name: server")
    else
        local endpoint="http://127.0.0.1:$port/graphql"
        node "$here/schema_identity.mjs" --url "$endpoint" || failures+=("$name: schema identity")
        node "$here/audit.mjs" --url "$endpoint" || failures+=("$name: audit")
        if ! node "$here/diff.mjs" --url "$endpoint" --dataset "$work/dataset.json" \
            --count "$count" --seed "$seed" --label "conformance ($name)"; then
            failures+=("$name: differential test")
            mkdir -p "$repo/target"
            cp "$work/dataset.json" "$repo/target/conformance-dataset.json"
            echo "run.sh: the dataset is kept as target/conformance-dataset.json (diff.mjs --dataset)"
        fi
        # The last documents again: the server still remembers their texts
        # (256 of them) and now validates them only against their variables
        # (src/admission/documents.rs), which must not change an answer.
        local again=$(( count < 200 ? count : 200 ))
        node "$here/diff.mjs" --url "$endpoint" --dataset "$work/dataset.json" \
            --start "$(( count - again ))" --count "$again" --seed "$seed" \
            --label "conformance ($name, remembered documents)" ||
            failures+=("$name: differential test, remembered documents")
    fi
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

run_database sqlite "sqlite://$work/conformance.db?mode=rwc"

pg_name="sgconf_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
psql "$pg_admin" -qc "CREATE DATABASE \"$pg_name\"" >/dev/null
run_database postgres "$(node -e '
    const u = new URL(process.argv[1]); u.pathname = "/" + process.argv[2]; console.log(u.href);' "$pg_admin" "$pg_name")"

if [[ ${#failures[@]} -gt 0 ]]; then
    echo "conformance: FAILED: ${failures[*]}"
    exit 1
fi
echo "conformance: every check passed on sqlite and postgres"
