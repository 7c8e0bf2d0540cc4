// End-to-end: a browser app served from another origin calls the gateway.
// The page sends a bearer token, so Chromium preflights every POST: an
// allowed origin reads data (one request and a batch) and opens a
// WebSocket; a page from any other origin is blocked by the browser itself.
//
// Run with `bash tests/browser/run.sh`, or `node --test` in this folder once
// Chromium and playwright-core are there. SESSIONGRAPH_BIN overrides the
// binary, CHROMIUM_PATH the browser.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, process.env.SESSIONGRAPH_BIN ?? '../../target/debug/sessiongraph');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const HOST = '127.0.0.1';
const SECRET = 'browser-cors-test-secret-0123456789abcdef';
const COUNT = '{ sessions(zoneId: "zone_001", first: 2) { totalCount nodes { __typename } } }';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A frontend's own server: one empty page, on an origin of its own.
function servePage() {
  return new Promise((resolve, reject) => {
    const server = createHttpServer((request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end('<!doctype html><title>app</title><p>app</p>');
    });
    server.on('error', reject);
    server.listen(0, HOST, () => resolve(server));
  });
}

// Runs in the page: a POST with a token (so a real preflight), and what the
// page could read of the answer, or the error the browser gave instead.
async function callFromPage(page, gateway, token, body) {
  return page.evaluate(
    async ({ gateway, token, body }) => {
      try {
        const response = await fetch(`${gateway}/graphql`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        });
        return {
          status: response.status,
          requestId: response.headers.get('x-request-id'),
          json: await response.json(),
        };
      } catch (error) {
        return { blocked: String(error) };
      }
    },
    { gateway, token, body },
  );
}

// Runs in the page: whether a graphql-transport-ws socket opens.
async function openSocketFromPage(page, gateway) {
  return page.evaluate(
    (url) =>
      new Promise((resolve) => {
        const socket = new WebSocket(url, 'graphql-transport-ws');
        socket.onopen = () => {
          socket.close();
          resolve('open');
        };
        socket.onerror = () => resolve('refused');
      }),
    gateway.replace('http', 'ws') + '/graphql',
  );
}

describe('a browser app on another origin', () => {
  let workdir;
  let server;
  let serverLog = '';
  let serverExit = null;
  let gateway;
  let token;
  let allowed;
  let other;
  let browser;

  before(async () => {
    workdir = await mkdtemp(path.join(tmpdir(), 'sessiongraph-cors-'));
    const databaseUrl = `sqlite://${path.join(workdir, 'cors.db')}?mode=rwc`;
    await promisify(execFile)(bin, [
      'seed', '--sessions', '30', '--users', '5', '--applications', '3', '--user-agents', '3',
      '--database-url', databaseUrl,
    ]);
    const minted = await promisify(execFile)(bin, [
      'token', '--jwt-secret', SECRET, '--org', 'org_001', '--zones', 'zone_001',
    ]);
    token = minted.stdout.trim();

    allowed = await servePage();
    other = await servePage();
    const allowedOrigin = `http://${HOST}:${allowed.address().port}`;

    const port = await freePort();
    gateway = `http://${HOST}:${port}`;
    server = spawn(bin, [
      '--database-url', databaseUrl,
      '--listen', `${HOST}:${port}`,
      '--jwt-secret', SECRET,
      '--cors-origin', allowedOrigin,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout.on('data', (chunk) => { serverLog += chunk; });
    server.stderr.on('data', (chunk) => { serverLog += chunk; });
    server.on('exit', (code, signal) => { serverExit = { code, signal }; });

    const deadline = Date.now() + 30_000;
    for (;;) {
      if (serverExit) {
        throw new Error(`sessiongraph exited early (${JSON.stringify(serverExit)}):\n${serverLog}`);
      }
      try {
        const response = await fetch(`${gateway}/readyz`);
        if (response.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`/readyz did not answer within 30 s:\n${serverLog}`);
      await sleep(100);
    }

    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  });

  after(async () => {
    await browser?.close();
    allowed?.close();
    other?.close();
    if (server && !serverExit) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (workdir) await rm(workdir, { recursive: true, force: true });
  });

  async function pageOn(pageServer) {
    const page = await browser.newPage();
    await page.goto(`http://${HOST}:${pageServer.address().port}/`);
    return page;
  }

  test('an allowed origin reads data, request ids and batches', async () => {
    const page = await pageOn(allowed);
    const one = await callFromPage(page, gateway, token, JSON.stringify({ query: COUNT }));
    assert.equal(one.blocked, undefined, one.blocked);
    assert.equal(one.status, 200);
    assert.equal(one.json.errors, undefined, JSON.stringify(one.json));
    assert.equal(one.json.data.sessions.nodes.length, 2);
    // Exposed to the page's script, not only sent.
    assert.match(one.requestId ?? '', /^[0-9a-f]{16}$/);

    const batch = await callFromPage(
      page,
      gateway,
      token,
      JSON.stringify([{ query: COUNT }, { query: '{ __typename }' }, 7]),
    );
    assert.equal(batch.blocked, undefined, batch.blocked);
    assert.equal(batch.status, 200);
    assert.equal(batch.json.length, 3);
    assert.equal(batch.json[0].data.sessions.nodes.length, 2);
    assert.equal(batch.json[1].data.__typename, 'Query');
    assert.equal(batch.json[2].errors[0].extensions.code, 'BAD_USER_INPUT');
    assert.equal(batch.json[2].errors[0].extensions.requestId, `${batch.requestId}.2`);

    assert.equal(await openSocketFromPage(page, gateway), 'open');
    await page.close();
  });

  test('any other origin is blocked by the browser', async () => {
    const page = await pageOn(other);
    const answer = await callFromPage(page, gateway, token, JSON.stringify({ query: COUNT }));
    assert.match(answer.blocked ?? JSON.stringify(answer), /Failed to fetch/);
    assert.equal(await openSocketFromPage(page, gateway), 'refused');
    await page.close();
  });
});
