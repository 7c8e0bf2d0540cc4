#!/usr/bin/env python3
"""Counts the CPU instructions the server spends per request, with callgrind.

Wall-clock figures on a shared 2-core machine move by 10-20% between runs;
instruction counts move by about 1%, so they compare binaries (and show
what one change saved) where req/s cannot. Seeds a PostgreSQL database with
`sessiongraph seed` (100,000 sessions), then, for each binary and workload:
starts the server under `valgrind --tool=callgrind`, sends 20 warm-up
requests, zeroes the counters, sends --requests sequential requests and
reads the total. Every thread of the process is counted (resolvers,
batches, the HTTP stack); PostgreSQL's own work is not.

Usage: bench/instructions.sh [--workloads Q1,Q2,Q3,Q4] [--requests 100] [--by-id] [BINARY ...]
(the release build by default; pass two binaries to compare them). With
--by-id the server also loads the workloads as trusted documents, and each
workload is counted twice, side by side: sent as text and named by
`documentId`.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the workloads, the database and the server)


def post(port, payload):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=payload.encode(),
        headers={"Content-Type": "application/json", "Accept": "application/graphql-response+json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        if response.status != 200:
            raise SystemExit(f"request failed with {response.status}")
        response.read()


def control(process, command):
    """`-z` zeroes the counters, `-d` dumps them."""
    subprocess.run(["callgrind_control", command, str(process.pid)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def by_id(payload):
    """The same request naming its document by `documentId`."""
    request = json.loads(payload)
    text = request.pop("query")
    request["documentId"] = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return json.dumps(request)


def instructions_per_request(binary, db, payload, requests, port, workdir, extra_args=()):
    out = workdir / f"callgrind.{port}"
    process = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p",
         str(binary), "--database-url", db.url, *extra_args, "serve", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).read()
                break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise SystemExit(f"{binary} did not start under valgrind")
                time.sleep(0.2)
        for _ in range(20):
            post(port, payload)
        control(process, "-z")
        for _ in range(requests):
            post(port, payload)
        control(process, "-d")
        dump = Path(f"{out}.{process.pid}.1")
        for _ in range(100):
            if dump.exists() and "summary:" in dump.read_text(errors="replace"):
                break
            time.sleep(0.1)
        total = next(int(line.split()[1]) for line in dump.read_text(errors="replace").splitlines()
                     if line.startswith("summary:"))
        return total / requests
    finally:
        process.terminate()
        process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="Q1,Q2,Q3,Q4")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=18_500)
    parser.add_argument("--by-id", action="store_true",
                        help="also count each workload named by documentId (a trusted document)")
    parser.add_argument("binaries", nargs="*", default=[str(bench.BINARY)])
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sessiongraph-instructions-"))
    db = bench.Database("postgres", workdir)
    db.name = "sessiongraph_instructions"
    db.url = f"postgres://postgres@127.0.0.1:5432/{db.name}?sslmode=disable"
    bench.log(f"seeding {args.sessions} sessions")
    db.recreate()
    subprocess.run([str(bench.BINARY), "--database-url", db.url, "seed", "--sessions", str(args.sessions)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The tree the T1 workload reads, imported beside the seed as bench.py does:
    # preparing the workloads checks every one of them.
    (user_id,), = db.rows(f"SELECT id FROM users WHERE zone_id = '{bench.ZONE}' ORDER BY id LIMIT 1")
    tree = workdir / "tree.json"
    tree.write_text(json.dumps(bench.tree_document(user_id)))
    subprocess.run([str(bench.BINARY), "--database-url", db.url, "import", str(tree)],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db.name,
                    "-c", "VACUUM ANALYZE"], check=True)
    server = bench.Server(db, args.port, workdir / "prepare.log")
    server.start()
    try:
        bodies = bench.prepare_workloads(server, db)
    finally:
        server.stop()
    workloads = args.workloads.split(",")
    extra_args = ()
    modes = [("text", lambda payload: payload)]
    if args.by_id:
        manifest = workdir / "trusted-documents.json"
        texts = [json.loads(bodies[workload][0])["query"] for workload in workloads]
        manifest.write_text(json.dumps({hashlib.sha256(t.encode()).hexdigest(): t for t in texts}))
        extra_args = ("--trusted-documents", str(manifest))
        modes.append(("documentId", by_id))
    print("| binary | workload | sent as | instructions per request |")
    print("| --- | --- | --- | ---: |")
    for workload in workloads:
        for binary in args.binaries:
            for mode, shape in modes:
                bench.log(f"{binary}: {workload} by {mode}")
                count = instructions_per_request(binary, db, shape(bodies[workload][0]), args.requests,
                                                 args.port + 1, workdir, extra_args)
                print(f"| {binary} | {workload} | {mode} | {count / 1e6:.3f} M |", flush=True)
    print(f"\n(work files in {workdir})")


if __name__ == "__main__":
    main()
