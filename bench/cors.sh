#!/usr/bin/env bash
# What CORS costs a request: the peer bench's queries (../shared/peer-bench/
# sg_queries) served side by side (bench/side_by_side.sh) by a server
# without --cors-origin and one with it, every request carrying an allowed
# Origin (so each answer gets its CORS headers).
#
# Usage: bench/cors.sh [QUERY ...]   (default q1; ROUNDS=3 DURATION=8 CONC=16 SESSIONS=100000)
set -euo pipefail
origin=http://app.example
bench_name=cors
variants=(plain cors)
start_variant() {
  local flags=()
  [[ $1 == cors ]] && flags=(--cors-origin "$origin")
  "$binary" serve --database-url "$url" --listen "127.0.0.1:$2" "${flags[@]}" >"$3" 2>&1 &
}
source "$(dirname "$0")/side_by_side.sh"

allowed=$(curl -s -D - -o /dev/null -H 'content-type: application/json' -H "Origin: $origin" \
  -d '{"query":"{ __typename }"}' "http://127.0.0.1:${port[cors]}/graphql" | tr -d '\r' | grep -i '^access-control-allow-origin:' || true)
[[ -n "$allowed" ]] || { echo "the CORS server sent no Access-Control-Allow-Origin" >&2; exit 1; }

echo "| query | server | req/s | ratio | gateway CPU ms/req | PostgreSQL CPU ms/req |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
run=("$@")
[[ ${#run[@]} -gt 0 ]] || run=(q1)
for query in "${run[@]}"; do
  side_by_side "$query" -H "Origin: $origin"
done
