#!/usr/bin/env python3
"""Faults under load on the local topology (deploy/local-topology.sh up).

Clients drive the three gateways round robin with a page whose answer is
known beforehand (read on the replica) and a mutation of an unknown id
(run on the primary, through PgBouncer; it must answer NOT_FOUND), while the script, in turn:
renews PgBouncer's server connections (RECONNECT), drops them (KILL, then
RESUME), restarts the replica, and restarts Redis. It counts every answer
by outcome and fails when an answer is wrong, when an error is anything
but SERVICE_UNAVAILABLE, or when answers do not come back within 10 s of
a part serving again.

Usage: deploy/topology_faults.py [--duration 40] [--clients 6]
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

# A mutation on an unknown id: it runs on the primary through PgBouncer
# (its transaction and lookup) and must answer NOT_FOUND, changing nothing.
MISSING = 'mutation { deleteSession(id: "ses_no_such_session") { deletedCount } }'
LOOKUP = '{ sessions(zoneId: "zone_001", first: 5, filter: {includeNested: true}) { totalCount nodes { __typename ... on UserSession { id status user { email } } ... on ApplicationSession { id status } } } }'


def read_env(directory):
    env = {}
    with open(os.path.join(directory, "env")) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            env[key] = value.strip('"')
    return env


def post(url, query):
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(
        url + "/graphql",
        data=body,
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read())
        except ValueError:
            return error.code, None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return None, {"transport": str(error)}


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.wrong = []
        self.last_ok = time.monotonic()

    def record(self, phase, outcome, detail=None):
        with self.lock:
            self.counts[(phase, outcome)] += 1
            if outcome == "ok":
                self.last_ok = time.monotonic()
            if outcome.startswith("WRONG") or outcome.startswith("UNEXPECTED"):
                self.wrong.append((phase, outcome, detail))


def client(gateways, expected, tally, phase, stop, offset):
    turn = offset
    while not stop.is_set():
        url = gateways[turn % len(gateways)]
        turn += 1
        # Every third request is the mutation: reads go to the replica,
        # so only writes show what the pooler's faults cost.
        if turn % 3 == 0:
            status, body = post(url, MISSING)
            code = ((body or {}).get("errors") or [{}])[0].get("extensions", {}).get("code")
            current = phase[0]
            if code == "NOT_FOUND":
                tally.record(current, "ok")
            elif code == "SERVICE_UNAVAILABLE":
                tally.record(current, "SERVICE_UNAVAILABLE")
            else:
                tally.record(current, "UNEXPECTED " + str(code), body)
            continue
        status, body = post(url, LOOKUP)
        current = phase[0]
        if body is None or "transport" in (body or {}):
            tally.record(current, "UNEXPECTED transport error", body)
            continue
        errors = body.get("errors")
        if errors:
            code = (errors[0].get("extensions") or {}).get("code")
            if code == "SERVICE_UNAVAILABLE":
                tally.record(current, "SERVICE_UNAVAILABLE")
            else:
                tally.record(current, "UNEXPECTED " + str(code), body)
        elif body.get("data") == expected:
            tally.record(current, "ok")
        else:
            tally.record(current, "WRONG answer", body)


def run(command):
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL)


def as_db_user(command):
    return ("runuser -u postgres -- " if os.geteuid() == 0 else "") + command


def wait_recovered(tally, since, what, recoveries):
    """Waits until an answer arrives after `since`; records how long."""
    deadline = since + 10
    while time.monotonic() < deadline:
        if tally.last_ok > since:
            recoveries.append((what, tally.last_ok - since))
            return
        time.sleep(0.05)
    recoveries.append((what, None))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=40)
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()
    directory = os.environ.get("TOPOLOGY_DIR", "/tmp/sessiongraph-topology")
    env = read_env(directory)
    gateways = env["GATEWAYS"].split()
    status, body = post(gateways[0], LOOKUP)
    if status != 200 or body.get("errors"):
        sys.exit(f"the topology does not answer: {status} {body}")
    expected = body["data"]

    tally = Tally()
    phase = ["steady"]
    stop = threading.Event()
    threads = [
        threading.Thread(target=client, args=(gateways, expected, tally, phase, stop, n), daemon=True)
        for n in range(args.clients)
    ]
    for thread in threads:
        thread.start()

    step = args.duration / 6
    recoveries = []
    admin = env["PGBOUNCER_ADMIN"]
    pg_bin = env["PG_BIN"]
    replica_dir = os.path.join(directory, "replica")
    redis_port = env["REDIS_URL"].rsplit(":", 1)[1]

    time.sleep(step)
    phase[0] = "pgbouncer RECONNECT"
    run(f'{admin} -c "RECONNECT sessions"')
    time.sleep(step)

    phase[0] = "pgbouncer KILL/RESUME"
    run(f'{admin} -c "KILL sessions"')
    time.sleep(1)
    run(f'{admin} -c "RESUME sessions"')
    wait_recovered(tally, time.monotonic(), "pgbouncer RESUME", recoveries)
    time.sleep(step)

    phase[0] = "replica restart"
    run(as_db_user(f"{pg_bin}/pg_ctl -D {replica_dir} -m immediate -w stop"))
    time.sleep(1)
    replica_port = env["REPLICA_URL"].split("@127.0.0.1:", 1)[1].split("/", 1)[0]
    options = f"-p {replica_port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={directory}"
    run(as_db_user(f"{pg_bin}/pg_ctl -D {replica_dir} -l {directory}/replica.log -w -o '{options}' start"))
    wait_recovered(tally, time.monotonic(), "replica back", recoveries)
    time.sleep(step)

    phase[0] = "redis restart"
    run(f"redis-cli -p {redis_port} shutdown nosave || true")
    time.sleep(1)
    run(
        f"redis-server --port {redis_port} --bind 127.0.0.1 --save '' --appendonly no "
        f"--daemonize yes --pidfile {directory}/redis.pid --logfile {directory}/redis.log --dir {directory}"
    )
    wait_recovered(tally, time.monotonic(), "redis back", recoveries)
    time.sleep(step)

    phase[0] = "steady again"
    time.sleep(step)
    stop.set()
    for thread in threads:
        thread.join(timeout=20)

    phases = []
    for (name, _) in tally.counts:
        if name not in phases:
            phases.append(name)
    print("| phase | answered right | SERVICE_UNAVAILABLE | wrong or unexpected |")
    print("| --- | ---: | ---: | ---: |")
    for name in phases:
        ok = tally.counts[(name, "ok")]
        unavailable = tally.counts[(name, "SERVICE_UNAVAILABLE")]
        bad = sum(
            count
            for (p, outcome), count in tally.counts.items()
            if p == name and outcome not in ("ok", "SERVICE_UNAVAILABLE")
        )
        print(f"| {name} | {ok} | {unavailable} | {bad} |")
    for what, took in recoveries:
        print(f"answers after {what}: " + ("none within 10 s" if took is None else f"{took * 1000:.0f} ms"))
    failed = False
    if tally.wrong:
        failed = True
        for phase_name, outcome, detail in tally.wrong[:5]:
            print(f"{phase_name}: {outcome}: {json.dumps(detail)[:300]}", file=sys.stderr)
    if any(took is None for _, took in recoveries):
        failed = True
    if failed:
        sys.exit("FAILED: wrong answers, unexpected errors or no recovery")
    print("no wrong answers; errors only SERVICE_UNAVAILABLE; every part recovered")


if __name__ == "__main__":
    main()
