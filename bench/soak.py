#!/usr/bin/env python3
"""Soaks the release server: a minute of mixed reads and revokes, memory watched.

Seeds a database with `sessiongraph seed` (100,000 sessions by default),
starts the server, checks the benchmark's answers against the database (the
ids come from bench.py's prepare_workloads), warms up for 2 s, then drives
64 clients for 60 s with wrk: about 80% reads (the benchmark's Q1-Q4, chosen
uniformly) and 20% `updateSession(id, input: {status: REVOKED})` of random
active leaf sessions. Prints a markdown table: requests, req/s, p50/p99,
errors (non-200 statuses and socket errors; 200 responses with GraphQL
`errors`), SQL statements from the server's /metrics, and the server's RSS
at the start, at the end and at its peak (VmHWM). Exits 1 if any request
failed, in the warm-up or the soak.

Run it through bench/soak.sh, which builds the binary and installs wrk.
"""

import argparse
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # importing bench.py leaves no __pycache__ in the checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, ZONE, Database, Server, body, log, prepare_workloads  # noqa: E402

LUA = ROOT / "bench" / "wrk" / "soak.lua"
ORG = "org_001"  # the organization `sessiongraph seed` gives ZONE
READS = ("Q1", "Q2", "Q3", "Q4")


class SoakServer(Server):
    """bench.Server started with extra flags, sending extra headers, ready on /readyz."""

    def __init__(self, db, port, log_path, binary, headers, server_args):
        super().__init__(db, port, log_path)
        self.binary = binary
        self.headers = headers
        self.server_args = server_args

    def start(self):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError as error:
                raise SystemExit(f"port {self.port} is taken ({error}); pick another with --port")
        self.log_file = open(self.log_path, "ab")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [str(self.binary), "serve", "--database-url", self.db.url, "--listen", f"127.0.0.1:{self.port}",
             *self.server_args],
            stdout=self.log_file, stderr=self.log_file, env=dict(os.environ, RUST_LOG=self.rust_log),
        )
        deadline = started + 30
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited with {self.process.returncode}; see {self.log_path}")
            try:
                status, _ = self.request("GET", "/readyz")
                if status == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.01)
        raise SystemExit(f"server was not ready within 30 s; see {self.log_path}")

    def request(self, method, path, payload=None, headers=()):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, payload, {**dict(headers), **self.headers})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def post(self, payload):
        return self.request("POST", "/graphql", payload, {
            "Content-Type": "application/json",
            "Accept": "application/graphql-response+json",
        })

    def metrics(self):
        status, raw = self.request("GET", "/metrics")
        if status != 200:
            raise SystemExit(f"/metrics answered {status}: {raw[:300]!r}")
        values = {}
        for line in raw.decode().splitlines():
            if line.startswith("sessiongraph_") and " " in line and "{" not in line:
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def memory_mib(self, field):
        """VmRSS (now) or VmHWM (peak) of the server process, in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")


def parse_header(text):
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def run_wrk(server, args, seconds, workdir, sample=None):
    """Runs the mix for `seconds`; calls `sample()` about once a second meanwhile."""
    env = dict(os.environ, SOAK_READS=str(workdir / "reads.jsonl"), SOAK_REVOKES=str(workdir / "revokes.jsonl"),
               SOAK_REVOKE_PERCENT=str(args.revoke_percent))
    command = ["wrk", "-t", str(min(2, args.clients)), "-c", str(args.clients), "-d", f"{seconds}s",
               "--timeout", "5s", "-s", str(LUA)]
    for name, value in args.header:
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{server.port}/graphql")
    out_path = workdir / "wrk.out"
    with open(out_path, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        while process.poll() is None:
            if sample:
                sample()
            time.sleep(1)
    text = out_path.read_text()
    if process.returncode != 0:
        raise SystemExit(f"wrk exited with {process.returncode}:\n{text}")
    line = next((l for l in text.splitlines() if l.startswith("SOAK ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no SOAK line:\n{text}")
    result = json.loads(line[len("SOAK "):])
    result["first_error"] = next(
        (l[len("SOAK_FIRST_ERROR "):] for l in text.splitlines() if l.startswith("SOAK_FIRST_ERROR ")), None)
    return result


def soak(kind, args, workdir):
    db = Database(kind, workdir)
    if kind == "postgres":
        db.name = "sessiongraph_soak"
        db.url = f"postgres://postgres@127.0.0.1:5432/{db.name}?sslmode=disable"
    else:
        db.path = workdir / "soak.db"
        db.url = f"sqlite://{db.path}?mode=rwc"
    log(f"[{kind}] seeding {args.sessions} sessions")
    started = time.perf_counter()
    db.recreate()
    subprocess.run([str(args.binary), "seed", "--database-url", db.url, "--sessions", str(args.sessions)],
                   check=True, stdout=subprocess.DEVNULL)
    if kind == "postgres":
        subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db.name,
                        "-c", "VACUUM ANALYZE"], check=True)
    notes = [f"{kind}: seeding took {time.perf_counter() - started:.1f} s"]

    server = SoakServer(db, args.port, workdir / f"{kind}.log", args.binary, dict(args.header), args.server_arg)
    server.start()
    try:
        log(f"[{kind}] checking answers")
        bodies = prepare_workloads(server, db)
        (workdir / "reads.jsonl").write_text("".join(bodies[q][0] + "\n" for q in READS))
        (workdir / "revokes.jsonl").write_text("".join(b + "\n" for b in bodies["M1"]))
        pool = len(bodies["M1"])
        first = server.metrics()

        log(f"[{kind}] warm-up, {args.warmup} s")
        warm = run_wrk(server, args, args.warmup, workdir)
        rss_start = server.memory_mib("VmRSS")
        before = server.metrics()

        log(f"[{kind}] soak: {args.clients} clients for {args.duration} s")
        samples = []
        t0 = time.perf_counter()
        result = run_wrk(server, args, args.duration, workdir,
                         sample=lambda: samples.append((time.perf_counter() - t0, server.memory_mib("VmRSS"))))
        rss_end = server.memory_mib("VmRSS")
        peak = server.memory_mib("VmHWM")
        after = server.metrics()
        (revoked,) = db.rows(
            "SELECT COUNT(*) FROM sessions WHERE zone_id = ? AND status = 'revoked' "
            "AND id IN (SELECT id FROM bench_m1_pool)", (ZONE,))[0]
    finally:
        server.stop()

    def delta(name, since=before):
        return after[name] - since[name]

    requests = delta("sessiongraph_graphql_requests_total")
    statements = delta("sessiongraph_sql_statements_total")
    row = {
        "kind": kind,
        "requests": result["requests"],
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "p50": result["p50_us"] / 1000,
        "p99": result["p99_us"] / 1000,
        "http_errors": result["http_errors"] + result["socket_errors"],
        "graphql_errors": result["graphql_errors"],
        "statements": statements,
        "per_request": statements / requests if requests else float("nan"),
        "rss_start": rss_start,
        "rss_end": rss_end,
        "peak": peak,
    }
    sent = dict(zip(READS + ("M1",), result["sent"]))
    total_sent = sum(sent.values()) or 1
    notes.append(f"{kind}: sent " + ", ".join(f"{k} {v}" for k, v in sent.items())
                 + f" ({sent['M1'] / total_sent:.0%} revokes); {int(revoked)} of the pool's {pool} leaves (stored active "
                 f"at the start, some past expiry) are stored revoked at the end; slowest request "
                 f"{result['max_us'] / 1000:.0f} ms")
    step = max(1, len(samples) // 6)
    shown = samples[::step] + ([samples[-1]] if samples and (len(samples) - 1) % step else [])
    notes.append(f"{kind}: RSS MiB during the soak: " + ", ".join(f"{rss:.1f} at {t:.0f} s" for t, rss in shown))
    server_failures = delta("sessiongraph_graphql_failures_total", since=first)
    warm_errors = warm["http_errors"] + warm["socket_errors"] + warm["graphql_errors"]
    row["failed"] = row["http_errors"] + row["graphql_errors"] + warm_errors + server_failures > 0
    if warm_errors or server_failures:
        notes.append(f"{kind}: {warm_errors} errors in the warm-up; the server counted {server_failures:.0f} "
                     "failed GraphQL requests over warm-up and soak")
    for r in (warm, result):
        if r["first_error"]:
            notes.append(f"{kind}: first failed response: {r['first_error']}")
            break
    return row, notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="postgres", help="comma-separated: postgres,sqlite")
    parser.add_argument("--clients", type=int, default=64, help="concurrent connections")
    parser.add_argument("--duration", type=int, default=60, help="seconds of soak")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before the start RSS is read")
    parser.add_argument("--revoke-percent", type=float, default=20, help="share of requests that revoke")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=18_500)
    parser.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "sessiongraph")
    parser.add_argument("--header", type=parse_header, action="append", default=[],
                        help="'Name: value' sent with every request (repeatable), e.g. 'Authorization: Bearer X'")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="argument appended to `sessiongraph serve` (repeatable); "
                             "use --server-arg=--flag for values that start with a dash")
    parser.add_argument("--no-auth", action="store_true",
                        help="run the server open instead of with a fresh HS256 secret and a minted token")
    args = parser.parse_args()
    if not args.binary.exists():
        raise SystemExit(f"{args.binary} does not exist; build it with cargo build --release")
    if not args.no_auth:
        # As deployed: every request carries a bearer token the server verifies.
        secret = secrets.token_hex(32)
        token = subprocess.run(
            [str(args.binary), "token", "--jwt-secret", secret, "--org", ORG, "--zones", ZONE,
             "--scope", "sessions:read sessions:write", "--ttl", str(args.duration + 3600)],
            check=True, capture_output=True, text=True).stdout.strip()
        args.server_arg.append(f"--jwt-secret={secret}")
        args.header.append(("Authorization", f"Bearer {token}"))
    workdir = Path(tempfile.mkdtemp(prefix="sessiongraph-soak-"))
    rows, notes = [], []
    for kind in args.databases.split(","):
        row, more = soak(kind, args, workdir)
        rows.append(row)
        notes += more
        log(f"[{kind}] {row['rps']:.0f} req/s, p50 {row['p50']:.2f} ms, p99 {row['p99']:.2f} ms, "
            f"{row['http_errors']} HTTP + {row['graphql_errors']} GraphQL errors, RSS {row['rss_start']:.1f} -> "
            f"{row['rss_end']:.1f} MiB, peak {row['peak']:.1f} MiB")

    print(f"Soak: {args.clients} clients, {args.duration} s, {100 - args.revoke_percent:g}% reads (Q1-Q4) / "
          f"{args.revoke_percent:g}% revokes\n")
    print("| database | requests | req/s | p50 ms | p99 ms | HTTP errors | GraphQL errors | SQL statements "
          "| statements/req | RSS start MiB | RSS end MiB | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['kind']} | {r['requests']} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
              f"{r['http_errors']} | {r['graphql_errors']} | {r['statements']:.0f} | {r['per_request']:.2f} | "
              f"{r['rss_start']:.1f} | {r['rss_end']:.1f} | {r['peak']:.1f} |")
    print()
    for note in notes:
        print(f"- {note}")
    print(f"\n(work files in {workdir})")
    if any(r["failed"] for r in rows):
        print("FAILED: some requests failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
