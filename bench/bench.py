#!/usr/bin/env python3
"""Benchmarks the release server over HTTP on PostgreSQL and SQLite.

Seeds each database with `sessiongraph seed` (100,000 sessions by default),
starts the server, checks every workload's answer against the database, then
drives each workload with wrk at each concurrency and prints a markdown
table: req/s, p50/p99 latency, errors, SQL statements per request (from the
server's /metrics) and the server's peak RSS (VmHWM). For Q2 on PostgreSQL
it also replays the statements the server issues for one request with
pgbench (the database floor) and reports the gateway's share of it.

Run it through bench/run.sh, which builds the binary and installs wrk.
"""

import argparse
import datetime
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "sessiongraph"
LUA = ROOT / "bench" / "wrk" / "graphql.lua"
ZONE = "zone_001"

# Q1-Q4, the shapes of the peer bench's four queries over this benchmark's
# seeded data (the peer bench's own copies, ../shared/peer-bench/sg_queries,
# are what side_by_side.sh sends to servers beside each other).
QUERIES = ROOT / "bench" / "queries"


def query_file(stem):
    """A query of `bench/queries`, without its leading comment lines."""
    lines = (QUERIES / f"{stem}.graphql").read_text().splitlines()
    return "\n".join(line for line in lines if not line.startswith("#")).strip()


Q1 = query_file("q1_flat_page")
Q2 = query_file("q2_nested_graph")
Q3 = query_file("q3_point_lookup")
Q4 = query_file("q4_reverse")

T1 = """query T1($id: ID!) {
  session(id: $id) {
    ... on UserSession {
      descendants(first: 50) { totalCount pageInfo { hasNextPage endCursor } nodes { ... on UserSession { id status depth } } }
    }
  }
}"""

S1 = """query S1($zone: ID!) {
  sessionStats(zoneId: $zone, filter: {includeNested: true}) {
    total
    byStatus { status count }
    byType { type count }
    byApplication { application { name } count }
    byUserAgent { userAgent { name } count }
  }
}"""

# T1's tree: a root with 10 children, each with 9 children, each of those
# with 10: 10 + 90 + 900 = 1,000 descendants, imported beside the seed.
TREE_ROOT = "bench_tree_root"

M1 = """mutation M1($id: ID!) {
  updateSession(id: $id, input: {status: REVOKED}) { revokedCount session { ... on UserSession { id status } } }
}"""


def log(message):
    print(message, file=sys.stderr, flush=True)


def body(query, variables):
    return json.dumps({"query": query, "variables": variables}, separators=(",", ":"))


class Database:
    """A benchmark database and direct SQL access to it, for checking answers."""

    def __init__(self, kind, workdir):
        self.kind = kind
        if kind == "postgres":
            self.name = "sessiongraph_bench"
            # Loopback: TLS would only add cost, to the server and to the
            # floor's pgbench alike, so both go without it.
            self.url = f"postgres://postgres@127.0.0.1:5432/{self.name}?sslmode=disable"
        else:
            self.path = workdir / "bench.db"
            self.url = f"sqlite://{self.path}?mode=rwc"

    def recreate(self):
        if self.kind == "postgres":
            psql = ["psql", "-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c"]
            subprocess.run(psql + [f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"], check=True)
            subprocess.run(psql + [f"CREATE DATABASE {self.name}"], check=True)
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def execute(self, sql, params=(), stdin=None):
        """Runs a writing statement; with `stdin`, a COPY/insert of many ids."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as conn:
                if stdin is not None:
                    conn.executemany(sql, [(line,) for line in stdin.splitlines()])
                else:
                    conn.execute(sql, params)
            return
        for value in params:
            sql = sql.replace("?", "'" + str(value).replace("'", "''") + "'", 1)
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", self.name,
             "-c", sql],
            check=True, input=stdin, text=True, stdout=subprocess.DEVNULL,
        )

    def rows(self, sql, params=()):
        """Runs a read-only query; `params` fill `?` placeholders (quoted here)."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as conn:
                return [tuple(r) for r in conn.execute(sql, params).fetchall()]
        for value in params:
            sql = sql.replace("?", "'" + str(value).replace("'", "''") + "'", 1)
        out = subprocess.run(
            ["psql", "-X", "-At", "-F", "\t", "-h", "127.0.0.1", "-U", "postgres", "-d", self.name, "-c", sql],
            check=True, capture_output=True, text=True,
        ).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line]


class Server:
    def __init__(self, db, port, log_path, rust_log="warn"):
        self.db = db
        self.port = port
        self.log_path = log_path
        self.rust_log = rust_log
        self.process = None

    def start(self):
        env = dict(os.environ, RUST_LOG=self.rust_log)
        self.log_file = open(self.log_path, "ab")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [str(BINARY), "--database-url", self.db.url, "serve", "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log_file, stderr=self.log_file, env=env,
        )
        deadline = started + 30
        probe = body("{ __typename }", {})
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited with {self.process.returncode}; see {self.log_path}")
            try:
                status, _ = self.post(probe)
                if status == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.001)
        raise SystemExit("server did not answer within 30 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log_file.close()

    def post(self, payload):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", "/graphql", payload, {
                "Content-Type": "application/json",
                "Accept": "application/graphql-response+json",
            })
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def query(self, query, variables):
        status, raw = self.post(body(query, variables))
        answer = json.loads(raw)
        if status != 200 or answer.get("errors"):
            raise SystemExit(f"request failed ({status}): {raw[:500]!r}")
        return answer["data"]

    def metrics(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", "/metrics")
            text = conn.getresponse().read().decode()
        finally:
            conn.close()
        values = {}
        for line in text.splitlines():
            if line.startswith("sessiongraph_") and " " in line and "{" not in line:
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def peak_rss_mib(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def check(condition, message):
    if not condition:
        raise SystemExit(f"wrong answer: {message}")


def prepare_workloads(server, db):
    """Picks the ids the workloads need and checks each answer against SQL."""
    # Q1: the page is the zone's newest 50 sessions (keys are never null in seeded data).
    q1 = server.query(Q1, {"zone": ZONE})["sessions"]["nodes"]
    expected = [r[0] for r in db.rows(
        "SELECT id FROM sessions WHERE zone_id = ? ORDER BY created_at DESC, id DESC LIMIT 50", (ZONE,))]
    check([n["id"] for n in q1] == expected, "Q1 page differs from ORDER BY created_at DESC, id DESC")

    # Q2: every user's email and every child count agree with the tables.
    q2 = server.query(Q2, {"zone": ZONE})["sessions"]["nodes"]
    check([n["id"] for n in q2] == expected, "Q2 page differs from Q1's")
    for node in q2:
        if node["__typename"] != "UserSession":
            continue
        (email,) = db.rows(
            "SELECT u.email FROM sessions s JOIN users u ON u.zone_id = s.zone_id AND u.id = s.user_id "
            "WHERE s.zone_id = ? AND s.id = ?", (ZONE, node["id"]))[0]
        check(node["user"]["email"] == email, f"Q2 user of {node['id']}")
        (children,) = db.rows(
            "SELECT COUNT(*) FROM sessions WHERE zone_id = ? AND parent_id = ?", (ZONE, node["id"]))[0]
        check(node["children"]["totalCount"] == int(children), f"Q2 children count of {node['id']}")
        check(len(node["children"]["nodes"]) == min(10, int(children)), f"Q2 children page of {node['id']}")

    # Q3: a session with a grandparent.
    (q3_id, grandparent) = db.rows(
        "SELECT s.id, p.parent_id FROM sessions s JOIN sessions p ON p.zone_id = s.zone_id AND p.id = s.parent_id "
        "WHERE s.zone_id = ? AND p.parent_id IS NOT NULL ORDER BY s.id LIMIT 1", (ZONE,))[0]
    q3 = server.query(Q3, {"id": q3_id})["session"]
    check(q3["parent"]["parent"]["id"] == grandparent, "Q3 grandparent")

    # Q4: a user with more than 20 sessions.
    (q4_id, total) = db.rows(
        "SELECT user_id, COUNT(*) AS n FROM sessions WHERE zone_id = ? AND user_id IS NOT NULL "
        "GROUP BY user_id HAVING COUNT(*) > 20 ORDER BY n DESC, user_id LIMIT 1", (ZONE,))[0]
    q4 = server.query(Q4, {"id": q4_id})["user"]["sessions"]
    check(q4["totalCount"] == int(total), "Q4 totalCount")
    check(len(q4["nodes"]) == 20, "Q4 page size")

    # M1: active leaves, each revoked once.
    leaves = [r[0] for r in db.rows(
        "SELECT s.id FROM sessions s WHERE s.zone_id = ? AND s.session_type = 'user' AND s.status = 'active' "
        "AND NOT EXISTS (SELECT 1 FROM sessions c WHERE c.zone_id = s.zone_id AND c.parent_id = s.id) "
        "ORDER BY s.id", (ZONE,))]
    first = server.query(M1, {"id": leaves[0]})["updateSession"]
    check(first["session"]["status"] == "REVOKED", "M1 revokes")
    (stored,) = db.rows("SELECT status FROM sessions WHERE zone_id = ? AND id = ?", (ZONE, leaves[0]))[0]
    check(stored == "revoked", "M1 stored status")
    # Each M1 cell starts from these leaves active again (see reset_leaves).
    db.execute("CREATE TABLE bench_m1_pool (id TEXT PRIMARY KEY)")
    if db.kind == "sqlite":
        db.execute("INSERT INTO bench_m1_pool (id) VALUES (?)", stdin="\n".join(leaves))
    else:
        db.execute("COPY bench_m1_pool (id) FROM STDIN", stdin="\n".join(leaves) + "\n")
    # T1: the newest 50 of the tree's 1,000 descendants.
    t1 = server.query(T1, {"id": TREE_ROOT})["session"]["descendants"]
    check(t1["totalCount"] == 1000, "T1 totalCount")
    expected = [r[0] for r in db.rows(
        f"SELECT id FROM sessions WHERE zone_id = '{ZONE}' AND root_id = '{TREE_ROOT}' AND depth > 0 "
        "ORDER BY created_at DESC, id DESC LIMIT 50")]
    check([n["id"] for n in t1["nodes"]] == expected, "T1 page differs from the tree's newest 50")

    # S1: the zone's statistics agree with plain counts.
    s1 = server.query(S1, {"zone": ZONE})["sessionStats"]
    (total,), = db.rows(f"SELECT COUNT(*) FROM sessions WHERE zone_id = '{ZONE}'")
    check(s1["total"] == int(total), "S1 total")
    check(sum(s["count"] for s in s1["byStatus"]) == int(total), "S1 statuses add up")
    check(sum(s["count"] for s in s1["byType"]) == int(total), "S1 types add up")

    return {
        "T1": [body(T1, {"id": TREE_ROOT})],
        "S1": [body(S1, {"zone": ZONE})],
        "Q1": [body(Q1, {"zone": ZONE})],
        "Q2": [body(Q2, {"zone": ZONE})],
        "Q3": [body(Q3, {"id": q3_id})],
        "Q4": [body(Q4, {"id": q4_id})],
        "M1": [body(M1, {"id": leaf}) for leaf in leaves],
    }


def tree_document(user_id):
    """The T1 tree, owned by one seeded user, one second apart."""
    sessions = []

    def add(session_id, parent, n):
        created = f"2020-01-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"
        sessions.append({
            "session_type": "user", "id": session_id, "zone_id": ZONE, "organization_id": "org_001",
            "user_id": user_id, "parent_id": parent, "status": "active" if n % 7 else "revoked",
            "created_at": created, "expires_at": "2099-01-01T00:00:00Z",
        })

    add(TREE_ROOT, None, 0)
    n = 1
    for a in range(10):
        child = f"{TREE_ROOT}_{a}"
        add(child, TREE_ROOT, n)
        n += 1
        for b in range(9):
            grandchild = f"{child}_{b}"
            add(grandchild, child, n)
            n += 1
            for c in range(10):
                add(f"{grandchild}_{c}", grandchild, n)
                n += 1
    return {"sessions": sessions}


def reset_leaves(db):
    db.execute("UPDATE sessions SET status = 'active' WHERE zone_id = ? AND id IN (SELECT id FROM bench_m1_pool)",
               (ZONE,))
    # Written behind the gateway's back, so its kept counts are rebuilt
    # (later S1 cells read them).
    subprocess.run([str(BINARY), "--database-url", db.url, "recount"], check=True, stdout=subprocess.DEVNULL)


def wrk(port, bodies, concurrency, seconds, workdir):
    threads = min(2, concurrency)
    path = workdir / "bodies.jsonl"
    path.write_text("\n".join(bodies) + "\n")
    env = dict(os.environ, BENCH_BODIES=str(path), BENCH_THREADS=str(threads))
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{seconds}s", "--timeout", "5s",
         "-s", str(LUA), f"http://127.0.0.1:{port}/graphql"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    line = next(l for l in out.splitlines() if l.startswith("BENCH "))
    return json.loads(line[len("BENCH "):])


def run_cell(server, bodies, concurrency, args, workdir):
    """Warms up, then times one cell. With a pool of bodies (M1) the timed
    run starts past what the warm-up used; returns how much of it was used."""
    warm = wrk(server.port, bodies, concurrency, args.warmup, workdir)
    skip = warm["used"] if len(bodies) > 1 else 0
    before = server.metrics()
    result = wrk(server.port, bodies[skip:], concurrency, args.duration, workdir)
    after = server.metrics()
    requests = after["sessiongraph_graphql_requests_total"] - before["sessiongraph_graphql_requests_total"]
    statements = after["sessiongraph_sql_statements_total"] - before["sessiongraph_sql_statements_total"]
    failures = after["sessiongraph_graphql_failures_total"] - before["sessiongraph_graphql_failures_total"]
    return {
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "p50": result["p50_us"] / 1000,
        "p99": result["p99_us"] / 1000,
        "errors": int(result["errors"] + failures),
        "statements": statements / requests if requests else float("nan"),
        "rss": server.peak_rss_mib(),
        "used": skip + result["used"],
    }


def statements_of_one_request(db, payload, port, workdir):
    """The SQL the server runs for one request, values inlined, from its debug log."""
    log_path = workdir / "statements.log"
    log_path.unlink(missing_ok=True)
    server = Server(db, port, log_path, rust_log="warn,sessiongraph::sql=debug")
    server.start()
    try:
        server.query(*payload)  # warm the pool's connections
        offset = log_path.stat().st_size
        server.query(*payload)
        text = log_path.read_bytes()[offset:].decode()
    finally:
        server.stop()
    pattern = re.compile(r"sessiongraph::sql: (.*?) elapsed_us=\d+ failed=(?:true|false)$")
    return [m.group(1) for m in map(pattern.search, text.splitlines()) if m]


def stats_scan_statements(kind):
    """S1 as counting the rows answers it: one grouped scan of the zone per
    part, what `sessionStats` ran before it kept counts (and still runs for a
    `userId` filter)."""
    now = "now()" if kind == "postgres" else "?"
    status = (f"CASE WHEN status = 'revoked' THEN 'revoked' WHEN status = 'expired' OR "
              f"(status = 'active' AND expires_at <= {now}) THEN 'expired' ELSE 'active' END")
    zone = f"zone_id = '{ZONE}'"
    return [
        f"SELECT COUNT(*) FROM sessions WHERE {zone}",
        f"SELECT {status} AS group_key, COUNT(*) AS total FROM sessions WHERE {zone} GROUP BY 1",
        f"SELECT session_type, COUNT(*) AS total FROM sessions WHERE {zone} GROUP BY 1",
        f"SELECT application_id AS group_key, COUNT(*) AS total FROM sessions WHERE {zone} "
        "AND application_id IS NOT NULL GROUP BY application_id ORDER BY total DESC, group_key LIMIT 10",
        f"SELECT user_agent_id AS group_key, COUNT(*) AS total FROM sessions WHERE {zone} "
        "AND user_agent_id IS NOT NULL GROUP BY user_agent_id ORDER BY total DESC, group_key LIMIT 10",
    ]


def sqlite_floor(db, statements, concurrency, seconds):
    """pgbench's part for SQLite: `concurrency` threads, each on its own
    connection, running the statements in turn; returns (req/s, p50 ms)."""
    import threading
    latencies = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker():
        conn = sqlite3.connect(db.path, check_same_thread=False)
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            now = datetime.datetime.now(datetime.timezone.utc).isoformat()
            for statement in statements:
                conn.execute(statement, (now,) if "?" in statement else ()).fetchall()
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return len(latencies) / seconds, latencies[len(latencies) // 2] * 1000


def floor(db, statements, concurrency, seconds, workdir):
    script = workdir / "floor.sql"
    script.write_text("".join(s.rstrip(";") + ";\n" for s in statements))
    out = subprocess.run(
        ["pgbench", "-n", "-M", "prepared", "-c", str(concurrency), "-j", str(min(2, concurrency)),
         "-T", str(seconds), "-f", str(script), "-h", "127.0.0.1", "-U", "postgres", db.name],
        check=True, capture_output=True, text=True, env=dict(os.environ, PGSSLMODE="disable"),
    ).stdout
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
    return tps, latency


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--workloads", default="Q1,Q2,Q3,Q4,T1,S1,M1")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--duration", type=int, default=10, help="seconds per cell")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per cell")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=18_400)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sessiongraph-bench-"))
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    workloads = args.workloads.split(",")
    table = []
    notes = []
    for kind in args.databases.split(","):
        db = Database(kind, workdir)
        log(f"[{kind}] seeding {args.sessions} sessions")
        db.recreate()
        subprocess.run([str(BINARY), "--database-url", db.url, "seed", "--sessions", str(args.sessions)],
                       check=True, stdout=subprocess.DEVNULL)
        (user_id,), = db.rows(f"SELECT id FROM users WHERE zone_id = '{ZONE}' ORDER BY id LIMIT 1")
        tree = workdir / "tree.json"
        tree.write_text(json.dumps(tree_document(user_id)))
        subprocess.run([str(BINARY), "--database-url", db.url, "import", str(tree)],
                       check=True, stdout=subprocess.DEVNULL)
        if kind == "postgres":
            subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db.name,
                            "-c", "VACUUM ANALYZE"], check=True)
        server = Server(db, args.port, workdir / f"{kind}.log")
        startup = server.start()
        notes.append(f"{kind}: start-up (migrated database to first answered request) {startup * 1000:.0f} ms")
        try:
            log(f"[{kind}] checking answers")
            bodies = prepare_workloads(server, db)
            floor_statements = None
            for workload in workloads:
                pool = bodies[workload]
                for concurrency in concurrencies:
                    log(f"[{kind}] {workload} c={concurrency}")
                    if workload == "M1":
                        reset_leaves(db)
                    cell = run_cell(server, pool, concurrency, args, workdir)
                    if cell["used"] > len(pool):
                        raise SystemExit(f"M1 needs more than the {len(pool)} active leaves: it revoked some twice")
                    table.append((kind, workload, concurrency, cell))
                    log(f"  {cell['rps']:.0f} req/s, p50 {cell['p50']:.2f} ms, p99 {cell['p99']:.2f} ms, "
                        f"{cell['errors']} errors, {cell['statements']:.2f} statements/req, {cell['rss']:.1f} MiB")
        finally:
            server.stop()
        if kind == "postgres" and "Q2" in workloads:
            floor_statements = statements_of_one_request(db, (Q2, {"zone": ZONE}), args.port + 1, workdir)
            (workdir / "q2-statements.sql").write_text("\n".join(floor_statements) + "\n")
            for concurrency in concurrencies:
                log(f"[{kind}] Q2 floor c={concurrency}")
                tps, latency = floor(db, floor_statements, concurrency, args.duration, workdir)
                q2 = next(c for k, w, cc, c in table if k == kind and w == "Q2" and cc == concurrency)
                notes.append(
                    f"postgres: Q2 floor at c={concurrency}: pgbench replays the server's "
                    f"{len(floor_statements)} statements at {tps:.0f} req/s (mean {latency:.2f} ms); "
                    f"gateway reaches {q2['rps'] / tps:.0%} of it")

        if "S1" in workloads:
            statements = stats_scan_statements(kind)
            for concurrency in concurrencies:
                log(f"[{kind}] S1 by scanning c={concurrency}")
                if kind == "postgres":
                    tps, latency = floor(db, statements, concurrency, args.duration, workdir)
                    measure = f"mean {latency:.2f} ms"
                else:
                    tps, latency = sqlite_floor(db, statements, concurrency, args.duration)
                    measure = f"p50 {latency:.2f} ms"
                s1 = next(c for k, w, cc, c in table if k == kind and w == "S1" and cc == concurrency)
                notes.append(
                    f"{kind}: S1 by scanning the zone at c={concurrency} (its {len(statements)} grouped "
                    f"counts run directly): {tps:.1f} req/s ({measure}); the gateway's kept counts "
                    f"answer {s1['rps'] / tps:.0f}x as many")

    print("| database | workload | concurrency | req/s | p50 ms | p99 ms | errors | statements/req | peak RSS MiB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind, workload, concurrency, c in table:
        print(f"| {kind} | {workload} | {concurrency} | {c['rps']:.0f} | {c['p50']:.2f} | {c['p99']:.2f} | "
              f"{c['errors']} | {c['statements']:.2f} | {c['rss']:.1f} |")
    print()
    for note in notes:
        print(f"- {note}")
    print(f"\n(work files in {workdir})")


if __name__ == "__main__":
    main()
