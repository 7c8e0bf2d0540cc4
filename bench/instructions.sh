#!/usr/bin/env bash
# Builds the release server and counts instructions per request with
# callgrind; see bench/instructions.py --help.
# Usage: bench/instructions.sh [--workloads Q1,Q2,Q3,Q4] [--requests 100] [BINARY ...]
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/prepare.sh
if ! command -v valgrind >/dev/null; then
  echo "installing valgrind (callgrind counts the instructions)" >&2
  apt-get install -y -qq valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
fi
exec python3 bench/instructions.py "$@"
