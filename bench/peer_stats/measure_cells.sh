# Sourced by measure_peer.sh and measure_sessiongraph.sh once their server answers: times each
# concurrency of $CONCS the same way for both. Needs URL, BODY (the request), LUA, WORK, PGURL, DB,
# SERVER_PID (the server process whose CPU is counted), SERVER_NAME (for the header), WARMUP, DURATION, TIMEOUT, DRAIN_MAX.
# CPU ticks (utime+stime) of one process, and of all PostgreSQL server processes together (as vs_peer.sh).
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { local t=0 p; for p in $(pgrep -u postgres); do t=$((t + $(ticks "$p"))); done; echo "$t"; }
# wrk abandons in-flight requests at the end of a run, but PostgreSQL keeps running their statements:
# wait until no statement of this database is active, so one run's leftovers do not load the next.
drain() {
  local i n
  for i in $(seq $((DRAIN_MAX * 5))); do
    n=$(psql -XAtc "select count(*) from pg_stat_activity where datname = '$DB' and state = 'active' and pid <> pg_backend_pid()" "$PGURL")
    [ "$n" = 0 ] && return 0; sleep 0.2
  done
  echo "# warning: PostgreSQL still busy after ${DRAIN_MAX}s" >&2
}
run_wrk() {  # concurrency seconds -> PEERSTATS json line (and FIRST_ERROR line if any)
  local c=$1 threads=$(( $1 < 2 ? $1 : 2 ))
  BENCH_BODY="$BODY" wrk -t "$threads" -c "$c" -d "${2}s" --timeout "$TIMEOUT" -s "$LUA" "$URL" > "$WORK/wrk.out"
  grep '^PEERSTATS' "$WORK/wrk.out"
}

echo "# $SERVER_NAME; db $DB zone $ZONE; warm-up ${WARMUP}s, timed ${DURATION}s, wrk --timeout $TIMEOUT"
printf '%-5s %9s %10s %10s %7s %8s %10s %12s %10s\n' conc req/s p50_ms p99_ms errors ok_reqs abandoned server_ms/req pg_ms/req
for c in $CONCS; do
  drain; run_wrk "$c" "$WARMUP" > /dev/null; drain
  n0=$(ticks "$SERVER_PID"); p0=$(pg_ticks)
  line=$(run_wrk "$c" "$DURATION")
  n1=$(ticks "$SERVER_PID"); p1=$(pg_ticks)
  python3 - "$c" "$line" $((n1 - n0)) $((p1 - p0)) "$HZ" <<'PY'
import json, sys
c, line, nt, pt, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r = json.loads(line.splitlines()[0].split(" ", 1)[1])
errors = r["socket_errors"] + r["timeouts"] + r["http_errors"] + r["graphql_errors"]
ok = r["requests"] - r["http_errors"] - r["graphql_errors"]
per = lambda t: f"{t * 1000 / hz / ok:.0f}" if ok else "-"
lat = lambda us: f"{us / 1000:.1f}" if ok else "-"
print(f"{c:<5} {ok / (r['duration_us'] / 1e6):9.2f} {lat(r['p50_us']):>10} {lat(r['p99_us']):>10} {errors:7d} {ok:8d} {r['abandoned']:10d} {per(nt):>12} {per(pt):>10}")
for l in line.splitlines()[1:]:
    print("#", l)
PY
done
drain
