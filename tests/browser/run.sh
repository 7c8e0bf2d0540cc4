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

cd "$here"
source ../npm_install.sh
npm_install_from_lock

if [[ -z "${SESSIONGRAPH_BIN:-}" ]]; then
    (cd "$repo" && cargo build --bin sessiongraph)
fi

node --test
