#!/usr/bin/env bash
# Builds the release server and soaks it: mixed reads and revokes for 60 s,
# memory watched; see bench/soak.py --help. Kept out of the default test run.
# Usage: bench/soak.sh [--clients 64] [--duration 60] [--databases postgres,sqlite]
#                      [--header 'Authorization: Bearer X'] [--server-arg=--flag] ...
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/prepare.sh
exec python3 bench/soak.py "$@"
