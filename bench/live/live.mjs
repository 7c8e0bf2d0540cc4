// The subscription benchmark: SUBSCRIBERS graphql-ws clients spread over
// two gateway processes on one PostgreSQL database, REVOKES_PER_SECOND
// revokes a second for DURATION seconds, each through one of the two
// processes in turn. Reports delivery latency from commit (the event's
// occurredAt) to the client, events lost, and the servers' RSS per 1,000
// idle subscribers. Run by bench/live.sh, which builds and seeds.
//
// Every subscriber but FIREHOSE of them watches one user's sessions
// (filter: {userId}); the FIREHOSE ones watch the whole zone. Each revoke
// is of an active leaf session of a watched user, so it causes exactly one
// event, delivered to that user's subscriber and to every firehose one.

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const BIN = process.env.SESSIONGRAPH_BIN;
const DATABASE_URL = process.env.BENCH_DATABASE_URL;
const SUBSCRIBERS = Number(process.env.SUBSCRIBERS || 1000);
const FIREHOSE = Number(process.env.FIREHOSE || 10);
const RATE = Number(process.env.REVOKES_PER_SECOND || 200);
const DURATION = Number(process.env.DURATION || 30);
const ZONE = 'zone_001';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message) => process.stderr.write(`${message}\n`);

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function psql(statement) {
  return execFileSync('psql', ['-X', '-qAt', '-F', '\t', DATABASE_URL, '-c', statement], { encoding: 'utf8', maxBuffer: 1 << 26 })
    .trim().split('\n').filter(Boolean).map((line) => line.split('\t'));
}

function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

async function startServer() {
  const port = await freePort();
  const child = spawn(BIN, ['serve', '--database-url', DATABASE_URL, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' },
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
    } catch { /* starting */ }
    await sleep(100);
  }
  await sleep(500); // the listener connects once the database is ready
  return { port, child, url: `http://127.0.0.1:${port}/graphql`, ws: `ws://127.0.0.1:${port}/graphql` };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const revokes = RATE * DURATION;
// Active leaves of the users with the most of them: each revoke is one event.
const leaves = psql(`
  SELECT s.user_id, s.id FROM sessions s
  WHERE s.zone_id = '${ZONE}' AND s.session_type = 'user' AND s.status = 'active'
    AND (s.expires_at IS NULL OR s.expires_at > now())
    AND NOT EXISTS (SELECT 1 FROM sessions c WHERE c.zone_id = s.zone_id AND c.parent_id = s.id)
  ORDER BY s.user_id, s.id`);
const byUser = new Map();
for (const [user, id] of leaves) {
  if (!byUser.has(user)) byUser.set(user, []);
  byUser.get(user).push(id);
}
const users = [...byUser.keys()].sort((a, b) => byUser.get(b).length - byUser.get(a).length).slice(0, SUBSCRIBERS - FIREHOSE);
const targets = [];
for (let round = 0; targets.length < revokes; round++) {
  let added = false;
  for (const user of users) {
    const id = byUser.get(user)[round];
    if (id) { targets.push({ user, id }); added = true; }
    if (targets.length >= revokes) break;
  }
  if (!added) break;
}
if (targets.length < revokes) throw new Error(`only ${targets.length} active leaves for ${revokes} revokes`);
log(`${users.length} watched users, ${targets.length} leaf sessions to revoke`);

const servers = [await startServer(), await startServer()];
// A process's first subscriptions allocate what every later one shares (the
// pool's connection, the parsed-document cache, the allocator's pages), so
// the baseline is taken after a few have come and gone: the figure is what
// each further subscriber costs.
for (const server of servers) {
  for (let i = 0; i < 20; i++) {
    const client = createClient({ url: server.ws, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
    await new Promise((resolve) => {
      client.subscribe({ query: `subscription { sessionEvents(zoneId: "${ZONE}") { kind sessionId occurredAt } }` }, { next() {}, error: resolve, complete: resolve });
      client.on('connected', () => setTimeout(resolve, 20));
    });
    await client.dispose();
  }
}
await sleep(1000);
const baseline = servers.map((s) => rssKiB(s.child.pid));

// Subscribers, alternating between the two processes.
const received = new Map(); // session id -> count
const latencies = [];
let errors = 0;
const clients = [];
const acknowledged = [];
for (let i = 0; i < SUBSCRIBERS; i++) {
  const server = servers[i % 2];
  // One document for all, the user in a variable, as clients send it.
  const variables = i < FIREHOSE ? {} : { filter: { userId: users[(i - FIREHOSE) % users.length] } };
  const client = createClient({ url: server.ws, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
  acknowledged.push(new Promise((resolve) => client.on('connected', resolve)));
  client.subscribe({ query: `subscription ($filter: SessionEventFilter) { sessionEvents(zoneId: "${ZONE}", filter: $filter) { kind sessionId occurredAt } }`, variables }, {
    next: ({ data }) => {
      const now = Date.now();
      const event = data?.sessionEvents;
      if (!event || event.kind !== 'REVOKED') return;
      latencies.push(now - Date.parse(event.occurredAt));
      received.set(event.sessionId, (received.get(event.sessionId) ?? 0) + 1);
    },
    error: () => { errors += 1; },
    complete: () => {},
  });
  clients.push(client);
  if (i % 100 === 99) await sleep(20);
}
await Promise.all(acknowledged);
await sleep(2000);
const idle = servers.map((s) => rssKiB(s.child.pid));
const perThousandMiB = ((idle[0] - baseline[0]) + (idle[1] - baseline[1])) / 1024 / (SUBSCRIBERS / 1000);
log(`${SUBSCRIBERS} subscribers connected; RSS ${baseline.map((k) => (k / 1024).toFixed(1))} -> ${idle.map((k) => (k / 1024).toFixed(1))} MiB`);

// The revokes, paced, alternating processes.
let failed = 0;
const started = Date.now();
const inFlight = [];
for (let i = 0; i < targets.length; i++) {
  const due = started + (i * 1000) / RATE;
  const wait = due - Date.now();
  if (wait > 0) await sleep(wait);
  const server = servers[i % 2];
  inFlight.push(fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `mutation { updateSession(id: "${targets[i].id}", input: {status: REVOKED}) { revokedCount } }` }),
  }).then((r) => r.json()).then((body) => {
    if (body.errors || body.data.updateSession.revokedCount !== 1) failed += 1;
  }).catch(() => { failed += 1; }));
}
await Promise.all(inFlight);
const elapsed = (Date.now() - started) / 1000;
await sleep(3000);
const peak = servers.map((s) => rssKiB(s.child.pid));

let expected = 0;
let lost = 0;
for (const { id } of targets) {
  const want = 1 + FIREHOSE;
  expected += want;
  lost += Math.max(0, want - (received.get(id) ?? 0));
}
latencies.sort((a, b) => a - b);
for (const client of clients) client.dispose();
for (const server of servers) server.child.kill('SIGTERM');

console.log(`| subscribers | processes | revokes/s (achieved) | duration s | deliveries | lost | delivery p50 ms | p99 ms | max ms | RSS per 1,000 idle subscribers MiB | peak RSS MiB (each) | failed revokes | subscription errors |`);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
console.log(`| ${SUBSCRIBERS} | 2 | ${RATE} (${(targets.length / elapsed).toFixed(0)}) | ${DURATION} | ${latencies.length} of ${expected} | ${lost} | ${percentile(latencies, 50)} | ${percentile(latencies, 99)} | ${latencies[latencies.length - 1]} | ${perThousandMiB.toFixed(1)} | ${peak.map((k) => (k / 1024).toFixed(0)).join(' / ')} | ${failed} | ${errors} |`);
process.exit(0);
