#!/usr/bin/env bash
# Two builds of the server side by side: the peer bench's queries
# (../shared/peer-bench/sg_queries) served by each binary on one seeded PostgreSQL
# database, in alternating cells (bench/side_by_side.sh), so that what a
# change saves shows as a ratio measured in one run. The first binary is
# the base.
#
# Usage: bench/builds.sh BASE_BINARY NEW_BINARY [QUERY ...]
#        (default q1 q2 q3 q4; ROUNDS=3 DURATION=8 CONC=16 SESSIONS=100000)
# For example, the last commit against the working tree:
#   git worktree add /tmp/base HEAD~1 && (cd /tmp/base && cargo build --release)
#   cargo build --release
#   bench/builds.sh /tmp/base/target/release/sessiongraph target/release/sessiongraph
set -euo pipefail
if [[ $# -lt 2 ]]; then
  sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
base=$(realpath "$1")
new=$(realpath "$2")
shift 2
bench_name=builds
variants=(base new)
start_variant() {
  local chosen=$base
  [[ $1 == new ]] && chosen=$new
  "$chosen" serve --database-url "$url" --listen "127.0.0.1:$2" >"$3" 2>&1 &
}
source "$(dirname "$0")/side_by_side.sh"

echo "| query | build | req/s | ratio | gateway CPU ms/req | PostgreSQL CPU ms/req |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
run=("$@")
[[ ${#run[@]} -gt 0 ]] || run=(q1 q2 q3 q4)
for query in "${run[@]}"; do
  side_by_side "$query"
done
