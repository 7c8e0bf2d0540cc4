#!/usr/bin/env python3
"""What keeping `session_counts` costs a revoke, measured in one server.

Seeds `--sessions` sessions like bench.py, starts one release server, and
runs M1 (revoking active leaves, each once) in alternating cells with the
counts kept and not kept: a zone without a `session_count_marks` row keeps
no counts, so removing the row turns the count changes off in the same
server, on the same data. Per cell it reports req/s and the CPU per revoke
of the gateway and of every PostgreSQL process (WAL writer included);
medians of the rounds at the end. Alternating cells in one server keeps the
machine's drift (fsync latency varies by the minute here) out of the ratio.

Usage: bench/revoke_counts.py [--databases postgres,sqlite] [--rounds 6]
       [--duration 5] [--concurrency 1,16] [--sessions 100000]
(bench/run.sh builds the release binary first; run this after it.)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a backend that ended meanwhile
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def postgres_pids(kind):
    if kind != "postgres":
        return []
    out = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def keep_counts(db, mark):
    """Keeps the zone's counts from the mark `mark` on, or none (`None`)."""
    db.execute("DELETE FROM session_count_marks WHERE zone_id = ?", (bench.ZONE,))
    if mark is not None:
        db.execute("INSERT INTO session_count_marks (zone_id, swept_until) VALUES (?, ?)", (bench.ZONE, mark))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=int, default=5, help="seconds per cell")
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=18_450)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sessiongraph-revoke-counts-"))
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    print("| database | c | counts kept req/s | not kept req/s | ratio | gateway CPU ms/revoke, kept / not "
          "| PostgreSQL CPU ms/revoke, kept / not |")
    print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
    for kind in args.databases.split(","):
        db = bench.Database(kind, workdir)
        bench.log(f"[{kind}] seeding {args.sessions} sessions")
        db.recreate()
        subprocess.run([str(bench.BINARY), "--database-url", db.url, "seed", "--sessions", str(args.sessions)],
                       check=True, stdout=subprocess.DEVNULL)
        tree = workdir / "tree.json"
        (user_id,), = db.rows(f"SELECT id FROM users WHERE zone_id = '{bench.ZONE}' ORDER BY id LIMIT 1")
        tree.write_text(json.dumps(bench.tree_document(user_id)))
        subprocess.run([str(bench.BINARY), "--database-url", db.url, "import", str(tree)],
                       check=True, stdout=subprocess.DEVNULL)
        server = bench.Server(db, args.port, workdir / f"{kind}.log")
        server.start()
        cells = {}
        mark = None
        try:
            pool = bench.prepare_workloads(server, db)["M1"]
            (mark,), = db.rows("SELECT swept_until FROM session_count_marks WHERE zone_id = ?", (bench.ZONE,))
            for round_ in range(args.rounds):
                order = [True, False] if round_ % 2 == 0 else [False, True]
                for keep in order:
                    keep_counts(db, mark if keep else None)
                    for concurrency in concurrencies:
                        db.execute("UPDATE sessions SET status = 'active' WHERE zone_id = ? "
                                   "AND id IN (SELECT id FROM bench_m1_pool)", (bench.ZONE,))
                        pids = postgres_pids(kind)
                        gateway_before = cpu_seconds([server.process.pid])
                        postgres_before = cpu_seconds(pids)
                        result = bench.wrk(server.port, pool, concurrency, args.duration, workdir)
                        requests = result["requests"]
                        rps = requests / (result["duration_us"] / 1e6)
                        gateway = (cpu_seconds([server.process.pid]) - gateway_before) / requests * 1000
                        postgres = (cpu_seconds(postgres_pids(kind)) - postgres_before) / requests * 1000
                        if result["errors"]:
                            raise SystemExit(f"{result['errors']} revokes failed")
                        cells.setdefault((keep, concurrency), []).append((rps, gateway, postgres))
                        bench.log(f"  {'kept' if keep else 'not kept'} c={concurrency}: {rps:.0f} req/s, "
                                  f"gateway {gateway:.3f} ms, PostgreSQL {postgres:.3f} ms CPU per revoke")
        finally:
            server.stop()
            # The pool's leaves were reset behind the gateway's back.
            if mark is not None:
                keep_counts(db, mark)
            subprocess.run([str(bench.BINARY), "--database-url", db.url, "recount"], check=True,
                           stdout=subprocess.DEVNULL)
        for concurrency in concurrencies:
            kept = [statistics.median(column) for column in zip(*cells[(True, concurrency)])]
            not_kept = [statistics.median(column) for column in zip(*cells[(False, concurrency)])]
            postgres = f"{kept[2]:.2f} / {not_kept[2]:.2f}" if kind == "postgres" else "—"
            print(f"| {kind} | {concurrency} | {kept[0]:.0f} | {not_kept[0]:.0f} | {kept[0] / not_kept[0]:.2f} "
                  f"| {kept[1]:.2f} / {not_kept[1]:.2f} | {postgres} |", flush=True)
    print(f"\n(medians of {args.rounds} rounds of {args.duration} s cells; work files in {workdir})")


if __name__ == "__main__":
    main()
