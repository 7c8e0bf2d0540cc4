#!/usr/bin/env bash
# Typed clients of the schema: GraphQL Code Generator's client preset
# generates types from schema.graphql for src/sessions.ts (a fragment on
# IdentitySession, a query using it), and `tsc --strict` must accept its
# reads of the shared fields without narrowing and refuse a member's own
# field unnarrowed. Installs its npm packages from package-lock.json.
#
#   bash tests/codegen/run.sh
set -euo pipefail
cd "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "run.sh: node and npm are needed (Node 20 or later)" >&2
    exit 1
fi
# Reinstall only when node_modules is missing or not what the lock file pins.
stale="$(node -e "
const fs = require('fs');
const { packages } = require('./package-lock.json');
for (const [where, { version }] of Object.entries(packages)) {
  if (!where) continue;
  let installed;
  try { installed = JSON.parse(fs.readFileSync(where + '/package.json')).version; } catch {}
  if (installed !== version) { console.log(where); break; }
}")"
if [[ -n "$stale" ]]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
rm -rf src/gql
npx --no-install graphql-codegen --config codegen.json --silent
if npx --no-install tsc -p tsconfig.json; then
    echo "codegen: 1 passed, 0 failed"
else
    echo "codegen: 0 passed, 1 failed"
    exit 1
fi
