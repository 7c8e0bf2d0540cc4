#!/usr/bin/env bash
# Builds the release server and benchmarks it; see bench/bench.py --help.
# Usage: bench/run.sh [--databases postgres,sqlite] [--duration 10] ...
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  echo "installing wrk (the load generator)" >&2
  apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
if ! pg_isready -q -h 127.0.0.1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
cargo build --release --quiet
exec python3 bench/bench.py "$@"
