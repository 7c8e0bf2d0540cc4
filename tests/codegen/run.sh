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
source ../npm_install.sh
npm_install_from_lock
rm -rf src/gql
npx --no-install graphql-codegen --config codegen.json --silent
if npx --no-install tsc -p tsconfig.json; then
    echo "codegen: 1 passed, 0 failed"
else
    echo "codegen: 0 passed, 1 failed"
    exit 1
fi
