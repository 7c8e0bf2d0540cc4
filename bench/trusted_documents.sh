#!/usr/bin/env bash
# What naming a trusted document by id saves against sending its text:
# Q1-Q4 of bench/bench.py on one PostgreSQL database and one server whose
# --trusted-documents manifest holds them, each workload driven by text
# and by `documentId` in alternating cells. Reports req/s and the
# gateway's CPU time per request (from /proc) for both.
#
# Usage: bench/trusted_documents.sh [ROUNDS=3]
#   (DURATION=8 CONC=16 SESSIONS=100000 BINARY=target/release/sessiongraph)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
duration=${DURATION:-8}
conc=${CONC:-16}
sessions=${SESSIONS:-100000}

if ! command -v wrk >/dev/null; then
  echo "installing wrk (the load generator)" >&2
  apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
if ! pg_isready -q -h 127.0.0.1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
if [[ -z ${BINARY:-} ]]; then
  cargo build --release --quiet
fi
binary=$(realpath "${BINARY:-target/release/sessiongraph}")
work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS bench_trusted WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS bench_trusted WITH (FORCE)" -c "CREATE DATABASE bench_trusted"
url="postgres://postgres@127.0.0.1:5432/bench_trusted?sslmode=disable"
"$binary" migrate --database-url "$url" >/dev/null
"$binary" seed --database-url "$url" --sessions "$sessions" >/dev/null
read -r session user < <(psql -h 127.0.0.1 -U postgres -d bench_trusted -AF' ' -tc \
  "SELECT s.id, s.user_id FROM sessions s WHERE s.zone_id = 'zone_001' AND s.parent_id IS NOT NULL
     AND s.user_id IS NOT NULL ORDER BY s.id LIMIT 1")

# The manifest (Apollo's format) and, per workload, a body by text and one by id.
python3 - "$work" "$session" "$user" <<'PY'
import hashlib, json, sys
sys.path.insert(0, "bench")
import bench
work, session, user = sys.argv[1:]
variables = {"Q1": {"zone": bench.ZONE}, "Q2": {"zone": bench.ZONE},
             "Q3": {"id": session}, "Q4": {"id": user}}
operations = []
for name, vars in variables.items():
    text = getattr(bench, name)
    digest = hashlib.sha256(text.encode()).hexdigest()
    operations.append({"id": digest, "name": name, "type": "query", "body": text})
    with open(f"{work}/{name}.text.json", "w") as f:
        f.write(json.dumps({"query": text, "variables": vars}) + "\n")
    with open(f"{work}/{name}.id.json", "w") as f:
        f.write(json.dumps({"documentId": f"sha256:{digest}", "variables": vars}) + "\n")
with open(f"{work}/manifest.json", "w") as f:
    json.dump({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}, f)
PY

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$binary" serve --database-url "$url" --listen "127.0.0.1:$port" \
  --trusted-documents "$work/manifest.json" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
for query in Q1 Q2 Q3 Q4; do
  for how in text id; do
    answer=$(curl -s -H 'content-type: application/json' -d @"$work/$query.$how.json" "http://127.0.0.1:$port/graphql")
    if [[ $answer == *'"errors"'* || $answer != *'"data"'* ]]; then
      echo "$query by $how failed: $answer" >&2
      exit 1
    fi
  done
done

ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
hz=$(getconf CLK_TCK)
results="$work/results.tsv"
run() {  # QUERY HOW SECONDS
  BENCH_BODIES="$work/$1.$2.json" BENCH_THREADS=2 wrk -t2 -c"$conc" -d"$3s" \
    -s bench/wrk/graphql.lua "http://127.0.0.1:$port/graphql"
}
for query in Q1 Q2 Q3 Q4; do
  for how in text id; do run "$query" "$how" 2 >/dev/null; done
done
for round in $(seq 1 "$rounds"); do
  for query in Q1 Q2 Q3 Q4; do
    for how in text id; do
      t0=$(ticks)
      out=$(run "$query" "$how" "$duration")
      t1=$(ticks)
      printf '%s\t%s\t%s\t%s\t%s\n' "$query" "$how" \
        "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
        "$(echo "$out" | awk '/requests in/ {print $1}')" \
        "$((t1 - t0))" >>"$results"
    done
  done
done
python3 - "$results" "$hz" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
hz = int(sys.argv[2])
print("| workload | by text req/s | by id req/s | ratio | gateway CPU ms/req by text / by id |")
print("| --- | ---: | ---: | ---: | --- |")
for query in ["Q1", "Q2", "Q3", "Q4"]:
    cell = {}
    for how in ["text", "id"]:
        mine = [r for r in rows if r[0] == query and r[1] == how]
        rps = statistics.median(float(r[2]) for r in mine)
        ms = 1000 * sum(int(r[4]) for r in mine) / hz / sum(int(r[3]) for r in mine)
        cell[how] = (rps, ms)
    t, i = cell["text"], cell["id"]
    print(f"| {query} | {t[0]:,.0f} | {i[0]:,.0f} | {i[0] / t[0]:.3f} | {t[1]:.3f} / {i[1]:.3f} |")
PY
