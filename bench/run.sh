#!/usr/bin/env bash
# Builds the release server and benchmarks it; see bench/bench.py --help.
# Usage: bench/run.sh [--databases postgres,sqlite] [--duration 10] ...
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/prepare.sh
exec python3 bench/bench.py "$@"
