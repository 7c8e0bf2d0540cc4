#!/usr/bin/env bash
# Trusted documents end to end with the real tools: relay-compiler
# (persistConfig) writes persisted_queries.json, Apollo's
# generate-persisted-query-manifest writes its manifest, GraphQL Code
# Generator's client preset (persistedDocuments) writes
# persisted-documents.json; the gateway loads all three under
# --trusted-documents-only, and Relay's runtime (doc_id), Apollo Client's
# persisted query link (sha256Hash) and a codegen-typed fetcher
# (documentId) each get their answers while text is refused. Installs its
# npm packages from package-lock.json.
#
#   bash tests/trusted_documents/run.sh   (SESSIONGRAPH_BIN=target/debug/sessiongraph)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
binary="$(realpath "${SESSIONGRAPH_BIN:-$root/target/debug/sessiongraph}")"
cd "$here"
source ../npm_install.sh
npm_install_from_lock

rm -rf out src/gql src/relay/__generated__
mkdir -p out
# relay-compiler adds to the file it persists into; it must exist.
echo '{}' >out/persisted_queries.json
npx --no-install relay-compiler >/dev/null
npx --no-install generate-persisted-query-manifest --config persisted-query-manifest.config.json >/dev/null
npx --no-install graphql-codegen --config codegen.json --silent
npx --no-install tsc -p tsconfig.json

work="$(mktemp -d)"
server=
cleanup() {
    [[ -n "$server" ]] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# The embedded default database, with its demo data, in a directory of its own.
(cd "$work" && exec "$binary" serve --listen "127.0.0.1:$port" --trusted-documents-only \
    --trusted-documents "$here/out/persisted_queries.json" \
    --trusted-documents "$here/out/persisted-query-manifest.json" \
    --trusted-documents "$here/src/gql/persisted-documents.json") >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.2
done
read -r session zone < <(python3 - "$work/sessiongraph.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(*db.execute(
    "SELECT id, zone_id FROM sessions WHERE session_type = 'user' AND user_id IS NOT NULL ORDER BY id LIMIT 1"
).fetchone())
PY
)
if node --test-reporter=dot e2e.mjs "http://127.0.0.1:$port/graphql" "$session" "$zone"; then
    echo "trusted documents: 1 passed, 0 failed"
else
    cat "$work/server.log" >&2
    echo "trusted documents: 0 passed, 1 failed"
    exit 1
fi
