#!/usr/bin/env bash
# Browser tests of the offline GraphiQL explorer and of a browser app on
# another origin (CORS, batches): installs what they need when missing
# (Debian's Chromium, playwright-core from package-lock.json), builds the
# binary and runs the tests with Node's built-in runner.
#
#   bash tests/browser/run.sh
#
# SESSIONGRAPH_BIN picks a prebuilt binary instead (the build is then skipped).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [[ ! -x /usr/bin/chromium ]]; then
    echo "run.sh: installing Debian's chromium" >&2
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "run.sh: node and npm are needed (Node 20 or later)" >&2
    exit 1
fi

cd "$here"
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
    # playwright-core downloads no browser: the test drives /usr/bin/chromium.
    npm ci --no-audit --no-fund
fi

if [[ -z "${SESSIONGRAPH_BIN:-}" ]]; then
    (cd "$repo" && cargo build --bin sessiongraph)
fi

node --test
