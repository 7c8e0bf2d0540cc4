#!/usr/bin/env bash
# sessiongraph beside PostGraphile (v4 or v5) on the same PostgreSQL data, the
# same four queries, the same load: the driver of the shared peer bench
# (../shared/peer-bench, its README), kept here since that bench no longer
# ships one.
#
#   PEER=v4|v5 bench/vs_peer.sh PEER_BENCH_DIR [BINARY] [ROUNDS]
#
# PEER_BENCH_DIR is a writable copy of the peer bench in which setup.sh has
# run, gen_dataset.py has written data/dataset.json and load_pg.py has loaded
# the peers' database. BINARY defaults to target/release/sessiongraph, ROUNDS
# to 3. Environment: DURATION=8s CONC=16 (per cell), SG_PORT (default: a free
# port), WARMUP=2s.
#
# It imports the same dataset into a fresh database bench_sg (`sessiongraph
# import`), starts both servers, checks that the Q2 page ids and the Q4 total
# agree, warms up, then per query runs cells peer, sessiongraph, peer, ...
# ROUNDS times with oha (wrk with bench/wrk/graphql.lua when oha is missing).
# Per cell: req/s, p50/p99, errors, and the CPU milliseconds per request of the
# server (the peer's whole node process tree) and of all PostgreSQL processes.
# Prints a markdown table and the peak RSS of both servers. Raw cells stay in
# PEER_BENCH_DIR/out/vs_peer-$PEER/.
#
# Errors are non-2xx answers, transport errors and GraphQL errors. For
# sessiongraph the GraphQL errors are exact (sessiongraph_graphql_failures_total
# of /metrics); the peer has no such counter, so its answer is probed after each
# cell and, the body being fixed, a probe with errors counts the whole cell.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() { echo "usage: PEER=v4|v5 $0 PEER_BENCH_DIR [BINARY] [ROUNDS]" >&2; exit 2; }
[ $# -ge 1 ] || usage
PB=$(cd "$1" && pwd)
binary=$(realpath "${2:-$repo/target/release/sessiongraph}")
rounds=${3:-3}
DURATION=${DURATION:-8s}
CONC=${CONC:-16}
WARMUP=${WARMUP:-2s}
PEER=${PEER:-}
[ -x "$binary" ] || { echo "no sessiongraph binary at $binary" >&2; exit 1; }
[ -f "$PB/lib.sh" ] && [ -f "$PB/data/dataset.json" ] ||
  { echo "$PB: not a peer bench with data/dataset.json (run setup.sh, gen_dataset.py, load_pg.py)" >&2; exit 1; }

# The peer bench's settings: PGURL, ports, OHA, DATASET, OUT.
source "$PB/lib.sh"
case "$PEER" in
  v4) run_peer="$PB/run_peer.sh"; peer_url=$PEER_URL; peer_port=$PEER_PORT; peer_queries=queries
      bodies="$OUT/bodies"; peer_id=id; peer_name="PostGraphile v4"
      [ -x "$PB/.peer/node_modules/.bin/postgraphile" ] || { echo "PostGraphile v4 not in $PB/.peer: run setup.sh" >&2; exit 1; } ;;
  v5) run_peer="$PB/run_peer5.sh"; peer_url=$PEER5_URL; peer_port=$PEER5_PORT; peer_queries=queries_v5
      bodies="$OUT/bodies_v5"; peer_id=rowId; peer_name="PostGraphile v5"
      [ -f "$PB/.peer5/node_modules/postgraphile/dist/cli-run.js" ] || { echo "PostGraphile v5 not in $PB/.peer5: run setup.sh" >&2; exit 1; } ;;
  *) echo "PEER must be v4 or v5, not '$PEER'" >&2; usage ;;
esac

work="$OUT/vs_peer-$PEER"
mkdir -p "$work"
hz=$(getconf CLK_TCK)
sg_port=${SG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
sg_url="http://127.0.0.1:$sg_port/graphql"
database=bench_sg
db_url="postgres://postgres@127.0.0.1:5432/$database?sslmode=disable"

if [ -x "$OHA" ]; then
  loadgen=oha
elif command -v wrk >/dev/null; then
  loadgen=wrk
  echo "oha not found at $OHA: using wrk" >&2
else
  echo "neither oha ($OHA) nor wrk found: run setup.sh" >&2; exit 1
fi

# A port already taken would mean benchmarking someone else's server.
for port in "$peer_port" "$sg_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "127.0.0.1:$port is already in use; stop what listens there first" >&2; exit 1
  fi
done

peer_pid=""
sg_pid=""
stop() {
  local p
  for p in "$@"; do
    [ -n "$p" ] || continue
    kill "$p" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
}
# The peer's tree: v5's `node` from npm is a launcher that spawns the real node.
tree_of() {
  local p=$1 c
  echo "$p"
  for c in $(pgrep -P "$p" 2>/dev/null); do tree_of "$c"; done
}
cleanup() {
  local peer_tree=""
  [ -n "$peer_pid" ] && peer_tree=$(tree_of "$peer_pid" | tac | tr '\n' ' ')
  # shellcheck disable=SC2086  # a list of pids
  stop $peer_tree "$sg_pid"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The same dataset, through sessiongraph's own import, into a fresh database.
echo "importing $DATASET into $database" >&2
PGOPTIONS=--client-min-messages=warning psql -h 127.0.0.1 -U postgres -qX -v ON_ERROR_STOP=1 \
  -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database" >/dev/null
"$binary" migrate --database-url "$db_url" >"$work/sg-migrate.log" 2>&1 ||
  { tail -20 "$work/sg-migrate.log" >&2; exit 1; }
/usr/bin/time -f 'import: %e s wall, %M KiB peak RSS' \
  "$binary" import --database-url "$db_url" "$DATASET" >"$work/sg-import.log" 2>&1 ||
  { tail -20 "$work/sg-import.log" >&2; exit 1; }
tail -1 "$work/sg-import.log" >&2

# 2. The peers' ids (queries/params.json) and bodies, from the loaded bench_peer;
#    ours from bench/queries with the same ids.
(cd "$PB" && python3 make_workload.py) 2>&1 | sed 's/^/make_workload: /' >&2
python3 - "$PB/queries/params.json" "$repo/bench/queries" "$work" <<'PY'
import json, pathlib, sys
params, queries, work = json.load(open(sys.argv[1])), pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
variables = {"q1": {"zone": params["zone"]}, "q2": {"zone": params["zone"]},
             "q3": {"id": params["q3_session_id"]}, "q4": {"id": params["q4_user_id"]}}
for q, v in variables.items():
    (source,) = queries.glob(f"{q}_*.graphql")
    (work / f"sg-{q}.json").write_text(json.dumps({"query": source.read_text(), "variables": v}) + "\n")
PY
for q in q1 q2 q3 q4; do
  [ -s "$bodies/$q.json" ] || { echo "make_workload.py wrote no $bodies/$q.json" >&2; exit 1; }
done

# 3. Both servers.
"$run_peer" >"$work/peer.log" 2>&1 &
peer_pid=$!
"$binary" serve --database-url "$db_url" --listen "127.0.0.1:$sg_port" >"$work/sg.log" 2>&1 &
sg_pid=$!
for url in "$peer_url" "$sg_url"; do
  up=""
  for _ in $(seq 300); do
    if curl -sf -o /dev/null -H 'content-type: application/json' -d '{"query":"{__typename}"}' "$url"; then up=1; break; fi
    kill -0 "$peer_pid" 2>/dev/null && kill -0 "$sg_pid" 2>/dev/null || break
    sleep 0.2
  done
  [ -n "$up" ] || { echo "$url did not come up; logs in $work" >&2; tail -20 "$work/peer.log" "$work/sg.log" >&2; exit 1; }
done

# 4. Same answers? The Q2 page (ids, in order, and the children) and the Q4 total.
python3 - "$bodies" "$work" "$peer_id" "$peer_url" "$sg_url" <<'PY'
import json, sys, urllib.request
bodies, work, pid_key, peer, sg = sys.argv[1:]
def post(url, path):
    req = urllib.request.Request(url, open(path, "rb").read(), {"content-type": "application/json"})
    answer = json.load(urllib.request.urlopen(req, timeout=120))
    if answer.get("errors") or not answer.get("data"):
        sys.exit(f"{url} answered {path} with errors: {json.dumps(answer)[:2000]}")
    return answer["data"]
def page(data, key):
    return [(n[key], [c[key] for c in (n.get("children") or {}).get("nodes", [])],
             (n.get("children") or {}).get("totalCount")) for n in data["sessions"]["nodes"]]
p2, s2 = page(post(peer, f"{bodies}/q2.json"), pid_key), page(post(sg, f"{work}/sg-q2.json"), "id")
problems = []
if [p[0] for p in p2] != [s[0] for s in s2]:
    problems.append(f"Q2 page ids differ: peer {[p[0] for p in p2][:5]}... sessiongraph {[s[0] for s in s2][:5]}...")
# The children are compared too, but only warned about: the gate is the page and the Q4 total.
differ = [p[0] for p, s in zip(p2, s2) if p[0] == s[0] and s[2] is not None and (p[1], p[2]) != (s[1], s[2])]
if differ:
    print(f"WARNING: Q2 children differ under {len(differ)} of the page's sessions, e.g. {differ[0]}: "
          + "; ".join(f"peer {p[2]} {p[1][:3]}, sessiongraph {s[2]} {s[1][:3]}" for p, s in zip(p2, s2) if p[0] == differ[0]),
          file=sys.stderr)
p4, s4 = post(peer, f"{bodies}/q4.json"), post(sg, f"{work}/sg-q4.json")
t4p, t4s = p4["user"]["sessions"]["totalCount"], s4["user"]["sessions"]["totalCount"]
if t4p != t4s:
    problems.append(f"Q4 totalCount differs: peer {t4p}, sessiongraph {t4s}")
if problems:
    sys.exit("ANSWERS DISAGREE, not timing:\n  " + "\n  ".join(problems[:10]))
children = sum(len(s[1]) for s in s2)
print(f"answers agree: Q2 page of {len(s2)} sessions with {children} children; Q4 total {t4s}", file=sys.stderr)
PY
for q in q1 q3; do  # the others were checked above
  for pair in "$peer_url $bodies/$q.json" "$sg_url $work/sg-$q.json"; do
    set -- $pair
    curl -sf -H 'content-type: application/json' -d @"$2" "$1" |
      python3 -c 'import json,sys; b=json.load(sys.stdin); sys.exit(0 if b.get("data") and not b.get("errors") else f"{sys.argv[1]}: {b}")' "$1 $q" ||
      { echo "$1 fails $q" >&2; exit 1; }
  done
done

# 5. Cells.
ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
tree_ticks() { local t=0 p; for p in $(tree_of "$1"); do t=$((t + $(ticks_of "$p"))); done; echo "$t"; }
postgres_ticks() { local t=0 p; for p in $(pgrep -x postgres); do t=$((t + $(ticks_of "$p"))); done; echo "$t"; }
sg_failures() {
  curl -sf "http://127.0.0.1:$sg_port/metrics" | awk '$1 == "sessiongraph_graphql_failures_total" {print $2; f=1} END {if (!f) print 0}'
}
# "req/s p50_ms p99_ms errors ok" for one load run: load URL BODY DURATION
load() {
  if [ "$loadgen" = oha ]; then
    "$OHA" -z "$3" -c "$CONC" -w --no-tui --output-format json -m POST \
      -H 'content-type: application/json' -D "$2" "$1" | python3 "$PB/oha_line.py"
  else
    tr -d '\n' <"$2" >"$work/wrk-body.json"; echo >>"$work/wrk-body.json"
    BENCH_BODIES="$work/wrk-body.json" BENCH_THREADS=2 wrk -t2 -c"$CONC" -d"$3" -s "$repo/bench/wrk/graphql.lua" "$1" |
      python3 -c '
import json, sys
b = json.loads(next(l for l in sys.stdin if l.startswith("BENCH "))[6:])
ok, seconds = b["requests"] - b["errors"], b["duration_us"] / 1e6
p50, p99, errors = b["p50_us"] / 1000, b["p99_us"] / 1000, b["errors"]
print(f"{ok / seconds:.0f} {p50:.1f} {p99:.1f} {errors} {ok}")'
  fi
}
# One cell: who URL BODY PID -> "req/s p50 p99 errors ok server_ticks postgres_ticks"
cell() {
  local who=$1 url=$2 body=$3 pid=$4 s0 d0 f0 line req p50 p99 err ok gql=0
  s0=$(tree_ticks "$pid"); d0=$(postgres_ticks)
  [ "$who" = sg ] && f0=$(sg_failures)
  line=$(load "$url" "$body" "$DURATION")
  local s1 d1; s1=$(tree_ticks "$pid"); d1=$(postgres_ticks)
  read -r req p50 p99 err ok <<<"$line"
  if [ "$who" = sg ]; then
    gql=$(( $(sg_failures) - f0 ))
  elif ! curl -sf -H 'content-type: application/json' -d @"$body" "$url" |
         python3 -c 'import json,sys; b=json.load(sys.stdin); sys.exit(0 if b.get("data") and not b.get("errors") else 1)'; then
    gql=$ok
    echo "WARNING: the peer answers $body with errors after a cell: its $ok answers count as errors" >&2
  fi
  # sessiongraph's counter also counts the answers it refuses (non-2xx): the larger of the two.
  [ "$who" = sg ] && { [ "$gql" -gt "$err" ] && err=$gql; gql=0; }
  echo "$req $p50 $p99 $((err + gql)) $ok $((s1 - s0)) $((d1 - d0))"
}

echo "warming up ($WARMUP per query and server, $loadgen)" >&2
for q in q1 q2 q3 q4; do
  load "$peer_url" "$bodies/$q.json" "$WARMUP" >/dev/null
  load "$sg_url" "$work/sg-$q.json" "$WARMUP" >/dev/null
done
cells="$work/cells.txt"
: >"$cells"
for q in q1 q2 q3 q4; do
  for r in $(seq "$rounds"); do
    echo "$q round $r/$rounds" >&2
    echo "$q peer $(cell peer "$peer_url" "$bodies/$q.json" "$peer_pid")" >>"$cells"
    echo "$q sg $(cell sg "$sg_url" "$work/sg-$q.json" "$sg_pid")" >>"$cells"
  done
done

# 6. Peak RSS (VmHWM). The peer's is its largest process (v5's launcher aside).
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
peer_rss=0
for p in $(tree_of "$peer_pid"); do v=$(hwm "$p"); [ "$v" -gt "$peer_rss" ] && peer_rss=$v; done
sg_rss=$(hwm "$sg_pid")

python3 - "$cells" "$hz" "$CONC" "$DURATION" "$rounds" "$loadgen" "$peer_name" "$peer_rss" "$sg_rss" <<'PY'
import statistics as st, sys
path, hz, conc, duration, rounds, loadgen, name, peer_rss, sg_rss = sys.argv[1:]
hz = int(hz)
rows = [l.split() for l in open(path) if l.strip()]
names = {"q1": "Q1 flat page", "q2": "Q2 nested graph", "q3": "Q3 point lookup", "q4": "Q4 reverse"}
print(f"{name} beside sessiongraph: c={conc}, {duration} cells, {rounds} round(s), {loadgen}; medians over rounds")
print()
print(f"| c={conc} | {name} req/s | sessiongraph req/s | ratio sg/peer | p50/p99 ms peer | p50/p99 ms sg "
      f"| gateway CPU ms/req peer / sg | PostgreSQL CPU ms/req peer / sg | errors peer / sg |")
print("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |")
for q, label in names.items():
    peer = [r for r in rows if r[0] == q and r[1] == "peer"]
    sg = [r for r in rows if r[0] == q and r[1] == "sg"]
    med = lambda rs, i: st.median(float(r[i]) for r in rs)
    ratio = st.median(float(s[2]) / max(float(p[2]), 1e-9) for p, s in zip(peer, sg))
    # CPU per request over all of a server's cells: ticks / requests answered
    cpu = lambda rs, i: 1000 * sum(int(r[i]) for r in rs) / hz / max(sum(int(r[6]) for r in rs), 1)
    errors = lambda rs: sum(int(r[5]) for r in rs)
    print(f"| {label} | {med(peer, 2):,.0f} | {med(sg, 2):,.0f} | {ratio:.2f}× "
          f"| {med(peer, 3):.1f} / {med(peer, 4):.1f} | {med(sg, 3):.1f} / {med(sg, 4):.1f} "
          f"| {cpu(peer, 7):.2f} / {cpu(sg, 7):.2f} | {cpu(peer, 8):.2f} / {cpu(sg, 8):.2f} "
          f"| {errors(peer)} / {errors(sg)} |")
print()
print(f"Peak RSS: sessiongraph {int(sg_rss) / 1024:.0f} MiB, {name} {int(peer_rss) / 1024:.0f} MiB")
PY
echo "cells and logs: $work" >&2
