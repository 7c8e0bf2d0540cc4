// End-to-end: a browser app served from another origin calls the gateway.
// The page sends a bearer token, so Chromium preflights every POST: an
// allowed origin reads data (one request and a batch) and opens a
// WebSocket; a page from any other origin is blocked by the browser itself.
//
// Run with `bash tests/browser/run.sh`, or `node --test` in this folder once
// Chromium and playwright-core are there. SESSIONGRAPH_BIN overrides the
// binary, CHROMIUM_PATH the browser.

import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { HOST, run, startGateway } from './gateway.mjs';

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

const SECRET = 'browser-cors-test-secret-0123456789abcdef';
const COUNT = '{ sessions(zoneId: "zone_001", first: 2) { totalCount nodes { __typename } } }';

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
  let gateway;
  let stopGateway;
  let token;
  let allowed;
  let other;
  let browser;

  before(async () => {
    token = (await run(['token', '--jwt-secret', SECRET, '--org', 'org_001', '--zones', 'zone_001'])).stdout.trim();
    allowed = await servePage();
    other = await servePage();
    const started = await startGateway([
      '--jwt-secret', SECRET,
      '--cors-origin', `http://${HOST}:${allowed.address().port}`,
    ]);
    gateway = started.url;
    stopGateway = started.stop;
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  });

  after(async () => {
    await browser?.close();
    allowed?.close();
    other?.close();
    await stopGateway?.();
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
