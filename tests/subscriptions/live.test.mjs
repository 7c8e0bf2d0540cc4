// Subscriptions end to end: real `sessiongraph serve` processes on a fresh
// SQLite file and a fresh PostgreSQL database, a real graphql-ws client, and
// raw sockets for the protocol's bad input; then the same events over
// server-sent events with a real graphql-sse client. Run by run.sh
// (SESSIONGRAPH_BIN, TEST_DATABASE_URL).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { createClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import WebSocket from 'ws';

const BIN = process.env.SESSIONGRAPH_BIN;
const PG_ADMIN = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1/postgres';
const SECRET = 'subscription-tests-secret-0123456789abcdef';
const ZONE = 'zone_live';
const OTHER_ZONE = 'zone_other';

const work = mkdtempSync(join(tmpdir(), 'sg-live-'));
const cleanups = [];
after(() => {
  for (const cleanup of cleanups) cleanup();
  rmSync(work, { recursive: true, force: true });
});

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function token(zones, org, ttl = 3600, scope = 'sessions:read sessions:write') {
  return execFileSync(BIN, ['token', '--jwt-secret', SECRET, '--org', org, '--zones', zones.join(','), '--scope', scope, '--ttl', String(ttl)], { encoding: 'utf8' }).trim();
}

/// Sessions of two zones and two organizations: a tree in ZONE (org_a)
/// with a subtree, a session of org_b in ZONE, a session in OTHER_ZONE.
function dataset() {
  const s = (id, zone, org, parent, extra = {}) => ({
    session_type: 'user', id, zone_id: zone, organization_id: org, user_id: zone === ZONE ? 'usr_live' : 'usr_other',
    parent_id: parent, status: 'active', created_at: '2026-01-01T00:00:00Z', expires_at: '2099-01-01T00:00:00Z', ...extra,
  });
  return {
    applications: [],
    users: [
      { id: 'usr_live', zone_id: ZONE, organization_id: 'org_a', email: 'live@example.com', email_verified: true, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' },
      { id: 'usr_other', zone_id: OTHER_ZONE, organization_id: 'org_a', email: 'other@example.com', email_verified: true, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' },
      { id: 'usr_b', zone_id: ZONE, organization_id: 'org_b', email: 'b@example.com', email_verified: true, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' },
    ],
    user_agents: [],
    sessions: [
      s('ses_root', ZONE, 'org_a', null),
      s('ses_child1', ZONE, 'org_a', 'ses_root'),
      s('ses_child2', ZONE, 'org_a', 'ses_root'),
      s('ses_grandchild', ZONE, 'org_a', 'ses_child1'),
      s('ses_victim_root', ZONE, 'org_a', null),
      s('ses_victim', ZONE, 'org_a', 'ses_victim_root'),
      s('ses_doomed', ZONE, 'org_a', null),
      s('ses_doomed_child', ZONE, 'org_a', 'ses_doomed'),
      { ...s('ses_org_b', ZONE, 'org_b', null), user_id: 'usr_b' },
      s('ses_elsewhere', OTHER_ZONE, 'org_a', null),
    ],
  };
}

function importFile(url, document, name) {
  const file = join(work, name);
  writeFileSync(file, JSON.stringify(document));
  execFileSync(BIN, ['import', file, '--database-url', url], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function sql(url, statement) {
  return execFileSync('psql', ['-X', '-qAt', url, '-c', statement], { encoding: 'utf8' }).trim();
}

class Server {
  constructor(url, extra = []) {
    this.url = url;
    this.extra = extra;
  }

  async start() {
    this.port = await freePort();
    this.log = '';
    this.process = spawn(BIN, ['serve', '--database-url', this.url, '--listen', `127.0.0.1:${this.port}`, '--jwt-secret', SECRET, ...this.extra], {
      stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: process.env.TEST_LOG || 'info' },
    });
    this.process.stderr.on('data', (chunk) => { this.log += chunk; });
    this.exited = new Promise((resolve) => this.process.on('exit', (code, signal) => resolve({ code, signal })));
    for (let i = 0; i < 150; i++) {
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/readyz`);
        if (response.status === 200) {
          // The event source starts once the database is ready.
          await sleep(300);
          return this;
        }
      } catch { /* not listening yet */ }
      await sleep(100);
    }
    throw new Error(`the server did not become ready:\n${this.log}`);
  }

  get ws() { return `ws://127.0.0.1:${this.port}/graphql`; }

  get http() { return `http://127.0.0.1:${this.port}/graphql`; }

  /// A gauge of /metrics.
  async gauge(name) {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`sessiongraph_${name} `));
    return Number(line?.split(' ')[1]);
  }

  /// Waits until no event stream and no subscription is open.
  async untilNothingOpen() {
    for (let waited = 0; waited < 5000; waited += 50) {
      if (await this.gauge('sse_streams') === 0 && await this.gauge('subscriptions') === 0) return;
      await sleep(50);
    }
    throw new Error(`still open: ${await this.gauge('sse_streams')} streams, ${await this.gauge('subscriptions')} subscriptions`);
  }

  async graphql(query, bearer) {
    const response = await fetch(`http://127.0.0.1:${this.port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: JSON.stringify({ query }),
    });
    return response.json();
  }

  async stop() {
    if (this.process && this.process.exitCode === null) {
      this.process.kill('SIGTERM');
      await this.exited;
    }
  }
}

/// A subscription that collects what arrives.
function watch(server, bearer, query) {
  const client = createClient({ url: server.ws, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, connectionParams: { Authorization: `Bearer ${bearer}` } });
  const received = [];
  const errors = [];
  let closed = null;
  client.on('closed', (event) => { closed = event; });
  let ready;
  const acknowledged = new Promise((resolve) => { ready = resolve; });
  client.on('connected', () => ready());
  client.subscribe({ query }, {
    next: (value) => received.push(value),
    error: (error) => errors.push(error),
    complete: () => {},
  });
  return {
    client, received, errors, get closed() { return closed; }, acknowledged,
    async until(predicate, what, ms = 5000) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (predicate(received)) return received;
        await sleep(25);
      }
      throw new Error(`${what}: got ${JSON.stringify(received)} errors ${JSON.stringify(errors)}`);
    },
  };
}

/// A subscription over server-sent events (graphql-sse, distinct
/// connections mode) that collects what arrives.
function watchSse(server, bearer, query) {
  const client = createSseClient({ url: server.http, singleConnection: false, headers: { Authorization: `Bearer ${bearer}` }, retryAttempts: 0 });
  const received = [];
  const errors = [];
  let completed = false;
  const dispose = client.subscribe({ query }, {
    next: (value) => received.push(value),
    error: (error) => errors.push(error),
    complete: () => { completed = true; },
  });
  return {
    client, dispose, received, errors, get completed() { return completed; },
    async until(predicate, what, ms = 5000) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (predicate(this)) return;
        await sleep(25);
      }
      throw new Error(`${what}: got ${JSON.stringify(received)} errors ${errors.map(String)} completed ${completed}`);
    },
  };
}

const EVENTS = `subscription { sessionEvents(zoneId: "${ZONE}") { kind sessionId zoneId occurredAt session { __typename ... on UserSession { id status } } } }`;
const kinds = (received) => received.map((r) => r.data?.sessionEvents?.kind);
const ids = (received) => received.map((r) => r.data?.sessionEvents?.sessionId);

/// Opens a raw socket speaking graphql-transport-ws; resolves its close.
function raw(server, messages, { init = true, bearer } = {}) {
  return new Promise((resolve) => {
    const socket = new WebSocket(server.ws, 'graphql-transport-ws');
    const seen = [];
    socket.on('open', async () => {
      if (init) socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${bearer}` } }));
      await sleep(150);
      for (const message of messages) {
        socket.send(typeof message === 'string' ? message : JSON.stringify(message));
        await sleep(50);
      }
    });
    socket.on('message', (data) => seen.push(JSON.parse(data.toString())));
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString(), seen }));
    setTimeout(() => { socket.terminate(); resolve({ code: 'open', seen }); }, 5000);
  });
}

function suite(name, makeDatabase) {
  describe(`subscriptions on ${name}`, () => {
    let url;
    let server;
    let reader;
    let writer;
    before(async () => {
      url = makeDatabase();
      importFile(url, dataset(), `${name}-dataset.json`);
      server = await new Server(url, ['--websocket-init-timeout', '1']).start();
      reader = token([ZONE], 'org_a', 3600, 'sessions:read');
      writer = token([ZONE, OTHER_ZONE], 'org_a');
    });
    after(async () => { await server?.stop(); });

    test('a revoke, a delete and an import arrive in order, with the session resolved', async () => {
      const live = watch(server, reader, EVENTS);
      await live.acknowledged;
      await sleep(200);
      const revoke = await server.graphql('mutation { updateSession(id: "ses_root", input: {status: REVOKED}) { revokedCount } }', writer);
      assert.equal(revoke.data.updateSession.revokedCount, 4);
      await live.until((r) => r.length >= 4, 'four REVOKED events');
      assert.deepEqual(kinds(live.received), ['REVOKED', 'REVOKED', 'REVOKED', 'REVOKED']);
      assert.deepEqual([...ids(live.received)].sort(), ['ses_child1', 'ses_child2', 'ses_grandchild', 'ses_root']);
      for (const r of live.received) {
        assert.equal(r.data.sessionEvents.zoneId, ZONE);
        assert.equal(r.data.sessionEvents.session.status, 'REVOKED');
        assert.ok(!Number.isNaN(Date.parse(r.data.sessionEvents.occurredAt)));
      }
      const deleted = await server.graphql('mutation { deleteSession(id: "ses_doomed") { deletedCount } }', writer);
      assert.equal(deleted.data.deleteSession.deletedCount, 2);
      await live.until((r) => r.length >= 6, 'two DELETED events');
      assert.deepEqual(kinds(live.received.slice(4)), ['DELETED', 'DELETED']);
      assert.deepEqual(ids(live.received.slice(4)), ['ses_doomed', 'ses_doomed_child']);
      assert.equal(live.received[4].data.sessionEvents.session, null);
      // An import by another process on the same database.
      const started = Date.now();
      importFile(url, { applications: [], users: [], user_agents: [], sessions: [
        { session_type: 'user', id: 'ses_imported', zone_id: ZONE, organization_id: 'org_a', user_id: 'usr_live', parent_id: null, status: 'active', created_at: '2026-02-01T00:00:00Z', expires_at: '2099-01-01T00:00:00Z' },
      ] }, `${name}-import.json`);
      await live.until((r) => r.length >= 7, 'the CREATED event of an import', 3000);
      assert.ok(Date.now() - started < 3000);
      assert.equal(live.received[6].data.sessionEvents.kind, 'CREATED');
      assert.equal(live.received[6].data.sessionEvents.session.id, 'ses_imported');
      assert.equal(live.received[6].data.sessionEvents.session.status, 'ACTIVE');
      assert.deepEqual(live.errors, []);
      await live.client.dispose();
    });

    test('a revoke that fails mid-cascade sends nothing', async () => {
      if (name === 'postgres') {
        sql(url, "CREATE FUNCTION refuse_victim() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$");
        sql(url, "CREATE TRIGGER refuse_victim BEFORE UPDATE ON sessions FOR EACH ROW WHEN (NEW.id = 'ses_victim') EXECUTE FUNCTION refuse_victim()");
      } else {
        const db = url.replace('sqlite://', '').replace(/\?.*$/, '');
        execFileSync('python3', ['-c', `import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("CREATE TRIGGER refuse_victim BEFORE UPDATE ON sessions WHEN NEW.id = 'ses_victim' BEGIN SELECT RAISE(ABORT, 'refused'); END"); c.commit()`, db]);
      }
      const live = watch(server, reader, EVENTS);
      await live.acknowledged;
      await sleep(200);
      const failed = await server.graphql('mutation { updateSession(id: "ses_victim_root", input: {status: REVOKED}) { revokedCount } }', writer);
      assert.ok(failed.errors?.length, JSON.stringify(failed));
      const ok = await server.graphql('mutation { updateSession(id: "ses_imported", input: {status: REVOKED}) { revokedCount } }', writer);
      assert.equal(ok.data.updateSession.revokedCount, 1);
      await live.until((r) => r.length >= 1, 'the later revoke');
      await sleep(300);
      assert.deepEqual(ids(live.received), ['ses_imported']);
      await live.client.dispose();
    });

    test('a token sees its zone and organization only', async () => {
      const live = watch(server, reader, `subscription { sessionEvents(zoneId: "${ZONE}") { kind sessionId } }`);
      await live.acknowledged;
      await sleep(200);
      // Another organization's session in the zone, and another zone.
      const admin = token([ZONE, OTHER_ZONE], 'org_b');
      await server.graphql('mutation { updateSession(id: "ses_org_b", input: {status: REVOKED}) { revokedCount } }', admin);
      await server.graphql('mutation { updateSession(id: "ses_elsewhere", input: {status: REVOKED}) { revokedCount } }', writer);
      await server.graphql('mutation { updateSession(id: "ses_child2", input: {status: REVOKED}) { revokedCount } }', writer);
      await sleep(700);
      assert.ok(!ids(live.received).includes('ses_org_b'));
      assert.ok(!ids(live.received).includes('ses_elsewhere'));
      const forbidden = watch(server, reader, `subscription { sessionEvents(zoneId: "${OTHER_ZONE}") { kind } }`);
      await forbidden.until((r) => r.length >= 1, 'a FORBIDDEN answer');
      assert.equal(forbidden.received[0].errors[0].extensions.code, 'FORBIDDEN');
      // A document that fails validation never runs: graphql-ws hands its
      // errors to the sink's `error`, as the protocol's `error` message.
      const invalid = watch(server, reader, `subscription { sessionEvents(zoneId: "${ZONE}") { noSuchField } }`);
      for (let waited = 0; invalid.errors.length === 0 && waited < 5000; waited += 25) await sleep(25);
      assert.equal(invalid.received.length, 0, JSON.stringify(invalid.received));
      assert.equal(invalid.errors[0]?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(invalid.errors));
      await invalid.client.dispose();
      await live.client.dispose();
      await forbidden.client.dispose();
    });

    test('bad input on the socket closes with the protocol codes and harms nothing', async () => {
      const subscribe = (id) => ({ id, type: 'subscribe', payload: { query: EVENTS } });
      assert.equal((await raw(server, ['{not json'], { bearer: reader })).code, 4400);
      assert.equal((await raw(server, [{ type: 'bogus' }], { bearer: reader })).code, 4400);
      assert.equal((await raw(server, [subscribe('1')], { init: false })).code, 4401);
      assert.equal((await raw(server, [subscribe('1'), subscribe('1')], { bearer: reader })).code, 4409);
      assert.equal((await raw(server, [], { bearer: 'not-a-token' })).code, 4403);
      assert.equal((await raw(server, [], { init: false })).code, 4408);
      const big = { id: '1', type: 'subscribe', payload: { query: `{ __typename } #${'x'.repeat(2 * 1024 * 1024)}` } };
      assert.equal((await raw(server, [big], { bearer: reader })).code, 1009);
      const expiring = token([ZONE], 'org_a', 2, 'sessions:read');
      const expired = await raw(server, [subscribe('1')], { bearer: expiring });
      assert.equal(expired.code, 4403);
      assert.equal(expired.seen[0].type, 'connection_ack');
      const alive = await server.graphql('{ __typename }', reader);
      assert.equal(alive.data.__typename, 'Query');
    });

    if (name === 'postgres') {
      test('a revoke through one process reaches a subscriber of another', async () => {
        const other = await new Server(url).start();
        try {
          const live = watch(other, reader, EVENTS);
          await live.acknowledged;
          await sleep(200);
          const revoke = await server.graphql('mutation { updateSession(id: "ses_victim_root", input: {status: REVOKED}) { revokedCount } }', writer);
          assert.ok(revoke.errors?.length); // the trigger still refuses its subtree
          sql(url, 'DROP TRIGGER refuse_victim ON sessions');
          const again = await server.graphql('mutation { updateSession(id: "ses_victim_root", input: {status: REVOKED}) { revokedCount } }', writer);
          assert.equal(again.data.updateSession.revokedCount, 2);
          await live.until((r) => r.length >= 2, 'the events on the other process');
          assert.deepEqual([...ids(live.received)].sort(), ['ses_victim', 'ses_victim_root']);
          await live.client.dispose();
        } finally {
          await other.stop();
        }
      });

      test('the listening connection killed: RESYNC arrives and events flow again', async () => {
        const live = watch(server, reader, `subscription { sessionEvents(zoneId: "${ZONE}", filter: {kinds: [CREATED]}) { kind sessionId zoneId session { __typename } } }`);
        await live.acknowledged;
        await sleep(200);
        const killed = sql(url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'");
        assert.notEqual(killed, '0');
        await live.until((r) => kinds(r).includes('RESYNC'), 'RESYNC', 8000);
        const resync = live.received.find((r) => r.data.sessionEvents.kind === 'RESYNC').data.sessionEvents;
        assert.equal(resync.sessionId, null);
        assert.equal(resync.zoneId, ZONE);
        assert.equal(resync.session, null);
        importFile(url, { applications: [], users: [], user_agents: [], sessions: [
          { session_type: 'user', id: 'ses_after_resync', zone_id: ZONE, organization_id: 'org_a', user_id: 'usr_live', parent_id: null, status: 'active', created_at: '2026-02-01T00:00:00Z', expires_at: '2099-01-01T00:00:00Z' },
        ] }, 'after-resync.json');
        await live.until((r) => ids(r).includes('ses_after_resync'), 'an event after reconnecting');
        await live.client.dispose();
      });
    }

    test('a socket keeps to its operation limit', async () => {
      const limited = await new Server(url, ['--max-subscriptions-per-connection', '2']).start();
      try {
        const socket = new WebSocket(limited.ws, 'graphql-transport-ws');
        const seen = [];
        socket.on('message', (data) => seen.push(JSON.parse(data.toString())));
        await new Promise((resolve) => socket.on('open', resolve));
        socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${reader}` } }));
        await sleep(200);
        for (const id of ['1', '2', '3']) socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: EVENTS } }));
        await sleep(500);
        // A refused operation is the protocol's `error`, with no `complete` after it.
        const third = seen.find((m) => m.id === '3' && m.type === 'error');
        assert.equal(third?.payload[0].extensions.code, 'QUERY_TOO_COMPLEX', JSON.stringify(seen));
        assert.equal(third.payload[0].extensions.limit, 'socketOperations');
        assert.ok(!seen.some((m) => m.type === 'complete'), JSON.stringify(seen));
        socket.close();
      } finally {
        await limited.stop();
      }
    });

    test('a process keeps to its socket limit', async () => {
      const limited = await new Server(url, ['--max-websocket-connections', '2']).start();
      const open = () => new Promise((resolve) => {
        const socket = new WebSocket(limited.ws, 'graphql-transport-ws');
        socket.on('open', () => resolve({ socket }));
        socket.on('unexpected-response', (_, response) => {
          let body = '';
          response.on('data', (chunk) => { body += chunk; });
          response.on('end', () => resolve({ status: response.statusCode, body: JSON.parse(body) }));
        });
      });
      try {
        const first = await open();
        const second = await open();
        assert.ok(first.socket && second.socket);
        const third = await open();
        assert.equal(third.status, 503);
        assert.equal(third.body.errors[0].extensions.limit, 'websocketConnections');
        assert.equal(third.body.errors[0].extensions.maximum, 2);
        // A closed socket frees its slot, and plain HTTP is not limited.
        assert.deepEqual(await limited.graphql('{ __typename }', reader), { data: { __typename: 'Query' } });
        first.socket.close();
        await sleep(300);
        const fourth = await open();
        assert.ok(fourth.socket, JSON.stringify(fourth.body));
        second.socket.close();
        fourth.socket.close();
      } finally {
        await limited.stop();
      }
    });

    test('SIGTERM closes sockets cleanly', async () => {
      const own = await new Server(url).start();
      const closed = raw(own, [], { bearer: reader });
      await sleep(400);
      own.process.kill('SIGTERM');
      const { code } = await closed;
      assert.equal(code, 1001);
      const exit = await own.exited;
      assert.equal(exit.code, 0);
    });

    test('over server-sent events: an import, a revoke and a delete arrive in order', async () => {
      const live = watchSse(server, reader, EVENTS);
      await sleep(300);
      importFile(url, { applications: [], users: [], user_agents: [], sessions: [
        { session_type: 'user', id: 'ses_sse', zone_id: ZONE, organization_id: 'org_a', user_id: 'usr_live', parent_id: null, status: 'active', created_at: '2026-03-01T00:00:00Z', expires_at: '2099-01-01T00:00:00Z' },
        { session_type: 'user', id: 'ses_sse_child', zone_id: ZONE, organization_id: 'org_a', user_id: 'usr_live', parent_id: 'ses_sse', status: 'active', created_at: '2026-03-01T00:00:00Z', expires_at: '2099-01-01T00:00:00Z' },
      ] }, `${name}-sse.json`);
      await live.until((l) => l.received.length >= 2, 'the CREATED events of an import');
      const revoke = await server.graphql('mutation { updateSession(id: "ses_sse", input: {status: REVOKED}) { revokedCount } }', writer);
      assert.equal(revoke.data.updateSession.revokedCount, 2);
      await live.until((l) => l.received.length >= 4, 'the REVOKED events');
      const deleted = await server.graphql('mutation { deleteSession(id: "ses_sse") { deletedCount } }', writer);
      assert.equal(deleted.data.deleteSession.deletedCount, 2);
      await live.until((l) => l.received.length >= 6, 'the DELETED events');
      assert.deepEqual(kinds(live.received), ['CREATED', 'CREATED', 'REVOKED', 'REVOKED', 'DELETED', 'DELETED']);
      assert.deepEqual(ids(live.received.slice(0, 2)), ['ses_sse', 'ses_sse_child']);
      assert.deepEqual([...ids(live.received.slice(2, 4))].sort(), ['ses_sse', 'ses_sse_child']);
      assert.equal(live.received[2].data.sessionEvents.session.status, 'REVOKED');
      assert.equal(live.received[4].data.sessionEvents.session, null);
      assert.deepEqual(live.errors, []);
      assert.equal(live.completed, false);
      // The client goes away: its subscription ends with its stream.
      assert.equal(await server.gauge('subscriptions'), 1);
      live.dispose();
      await server.untilNothingOpen();
      // A query is one result, then complete.
      const results = await new Promise((resolve, reject) => {
        const got = [];
        live.client.subscribe({ query: '{ __typename }' }, { next: (r) => got.push(r), error: reject, complete: () => resolve(got) });
      });
      assert.deepEqual(results, [{ data: { __typename: 'Query' } }]);
      live.client.dispose();
    });

    test('over server-sent events: a refused token answers as a POST, a forbidden zone in the stream', async () => {
      const refused = watchSse(server, 'not-a-token', EVENTS);
      await refused.until((l) => l.errors.length > 0, 'the refusal');
      const { response } = refused.errors[0];
      const posted = await fetch(server.http, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-token' }, body: JSON.stringify({ query: '{ __typename }' }),
      });
      assert.equal(response?.status, 401, String(refused.errors[0]));
      assert.equal(response.status, posted.status);
      const strip = (body) => { for (const e of body.errors) delete e.extensions.requestId; return body; };
      assert.deepEqual(strip(await response.json()), strip(await posted.json()));
      assert.deepEqual(refused.received, []);
      const forbidden = watchSse(server, reader, `subscription { sessionEvents(zoneId: "${OTHER_ZONE}") { kind } }`);
      await forbidden.until((l) => l.completed, 'the end of a forbidden subscription');
      assert.equal(forbidden.received[0].errors[0].extensions.code, 'FORBIDDEN');
      assert.deepEqual(forbidden.errors, []);
      await server.untilNothingOpen();
    });

    test('over server-sent events: SIGTERM ends streams, and the process exits', async () => {
      const own = await new Server(url).start();
      const response = await fetch(own.http, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${reader}` }, body: JSON.stringify({ query: EVENTS }),
      });
      assert.equal(response.headers.get('content-type'), 'text/event-stream');
      await sleep(300);
      const started = Date.now();
      own.process.kill('SIGTERM');
      const body = await response.text();
      // No `complete`: a graphql-sse client connects again, to another process.
      assert.ok(!body.includes('complete'), body);
      const exit = await own.exited;
      assert.equal(exit.code, 0);
      assert.ok(Date.now() - started < 5000);
    });

    if (name === 'postgres') {
      test('over server-sent events, a revoke through one process reaches a subscriber of another', async () => {
        importFile(url, { applications: [], users: [], user_agents: [], sessions: [
          { session_type: 'user', id: 'ses_sse_far', zone_id: ZONE, organization_id: 'org_a', user_id: 'usr_live', parent_id: null, status: 'active', created_at: '2026-03-01T00:00:00Z', expires_at: '2099-01-01T00:00:00Z' },
        ] }, 'sse-far.json');
        const other = await new Server(url).start();
        try {
          const live = watchSse(other, reader, `subscription { sessionEvents(zoneId: "${ZONE}", filter: {kinds: [REVOKED]}) { kind sessionId session { ... on UserSession { status } } } }`);
          await sleep(300);
          const revoke = await server.graphql('mutation { updateSession(id: "ses_sse_far", input: {status: REVOKED}) { revokedCount } }', writer);
          assert.equal(revoke.data.updateSession.revokedCount, 1);
          await live.until((l) => l.received.length >= 1, 'the event on the other process');
          assert.deepEqual(live.received[0].data.sessionEvents, { kind: 'REVOKED', sessionId: 'ses_sse_far', session: { status: 'REVOKED' } });
          live.dispose();
          await other.untilNothingOpen();
        } finally {
          await other.stop();
        }
      });
    }
  });
}

suite('sqlite', () => `sqlite://${join(work, 'live.db')}?mode=rwc`);

suite('postgres', () => {
  const name = `sglive_${process.pid}_${Date.now() % 1e6}`;
  sql(PG_ADMIN, `CREATE DATABASE ${name}`);
  cleanups.push(() => sql(PG_ADMIN, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const admin = new URL(PG_ADMIN);
  admin.pathname = `/${name}`;
  return admin.href;
});
