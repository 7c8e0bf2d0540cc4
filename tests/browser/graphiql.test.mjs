// End-to-end: the GraphiQL explorer at GET / works in a real browser with no
// internet access. Every request the page makes must stay on 127.0.0.1, and
// a query run from the explorer must come back from the real /graphql.
//
// Run with `bash tests/browser/run.sh` (installs Chromium and playwright-core,
// builds the binary), or `node --test` in this folder once those are there.
// SESSIONGRAPH_BIN overrides the binary, CHROMIUM_PATH the browser and
// SCREENSHOT the screenshot path.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
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
const screenshotPath = process.env.SCREENSHOT ?? '/tmp/graphiql-e2e.png';

// The network here is closed; these flags keep Chromium from trying its
// background connections (updates, sync, QUIC probes) in the first place.
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

describe('GraphiQL at GET /', () => {
  let workdir;
  let server;
  let serverLog = '';
  let serverExit = null;
  let baseUrl;
  let browser;
  let page;
  let screenshotTaken = false;
  const requests = [];
  const problems = [];

  before(async () => {
    workdir = await mkdtemp(path.join(tmpdir(), 'sessiongraph-e2e-'));
    const databaseUrl = `sqlite://${path.join(workdir, 'e2e.db')}?mode=rwc`;
    // A database named on the command line gets no demo data: seed it first.
    await promisify(execFile)(bin, [
      'seed',
      '--sessions', '50',
      '--users', '5',
      '--applications', '3',
      '--user-agents', '3',
      '--database-url', databaseUrl,
    ]);

    const port = await freePort();
    baseUrl = `http://${HOST}:${port}`;
    server = spawn(bin, ['--database-url', databaseUrl, '--listen', `${HOST}:${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout.on('data', (chunk) => { serverLog += chunk; });
    server.stderr.on('data', (chunk) => { serverLog += chunk; });
    server.on('exit', (code, signal) => { serverExit = { code, signal }; });

    const deadline = Date.now() + 30_000;
    for (;;) {
      if (serverExit) {
        throw new Error(`sessiongraph exited early (${JSON.stringify(serverExit)}):\n${serverLog}`);
      }
      try {
        const response = await fetch(`${baseUrl}/healthz`);
        if (response.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(`/healthz did not answer within 30 s:\n${serverLog}`);
      }
      await sleep(100);
    }

    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('request', (request) => requests.push(request.url()));
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') {
        problems.push(`console error: ${message.text()} (${message.location().url})`);
      }
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    page.on('requestfailed', (request) => {
      problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
    });
  });

  after(async () => {
    // On failure the last screen is the quickest diagnosis.
    if (page && !screenshotTaken) await page.screenshot({ path: screenshotPath }).catch(() => {});
    await browser?.close();
    if (server && !serverExit) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (workdir) await rm(workdir, { recursive: true, force: true });
  });

  // Reads an editor's text through CodeMirror 5, which GraphiQL 3 uses.
  const editorText = (selector) =>
    page.evaluate((sel) => document.querySelector(`${sel} .CodeMirror`)?.CodeMirror.getValue() ?? null, selector);

  async function runAndReadResult() {
    const previous = await editorText('.graphiql-response');
    await page.click('.graphiql-execute-button');
    await page.waitForFunction(
      (before) => {
        const text = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue();
        return text && text !== before && text.trim().startsWith('{');
      },
      previous,
      { timeout: 15_000 },
    );
    const text = await editorText('.graphiql-response');
    return { text, json: JSON.parse(text) };
  }

  test('renders from the binary alone and answers the default sessions query', async () => {
    const response = await page.goto(`${baseUrl}/`, { waitUntil: 'load' });
    assert.equal(response.status(), 200);
    await page.waitForSelector('.graphiql-execute-button', { timeout: 15_000 });

    const query = await editorText('.graphiql-query-editor');
    assert.match(query, /sessions\(zoneId: "zone_001", first: 5\)/);

    const { text, json } = await runAndReadResult();
    assert.equal(json.errors, undefined, text);
    const nodes = json.data.sessions.nodes;
    assert.equal(nodes.length, 5, text);
    assert.ok(json.data.sessions.totalCount >= 5, text);
    for (const node of nodes) {
      assert.ok(['UserSession', 'ApplicationSession'].includes(node.__typename), text);
      assert.ok(node.id, text);
      assert.ok(['ACTIVE', 'EXPIRED', 'REVOKED'].includes(node.status), text);
      if (node.__typename === 'UserSession') assert.match(node.user.email, /@/, text);
      else assert.equal(typeof node.application.name, 'string', text);
    }
    // The result pane shows pretty-printed JSON, as a person reads it.
    assert.match(text, /"__typename": "(UserSession|ApplicationSession)"/);
  });

  test('opens the docs explorer on the introspected schema', async () => {
    await page.getByRole('button', { name: /Documentation Explorer/ }).click();
    const explorer = page.locator('.graphiql-doc-explorer');
    await explorer.waitFor({ timeout: 10_000 });
    await explorer.getByText('Query', { exact: true }).first().waitFor({ timeout: 10_000 });
    await page.screenshot({ path: screenshotPath });
    screenshotTaken = true;
  });

  test('runs a query typed into the editor', async () => {
    const query = 'query TypenameCheck { __typename }';
    await page.click('.graphiql-query-editor .CodeMirror');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(query);
    await page.keyboard.press('Escape'); // close any completion popup
    // GraphiQL's editor bracket-closing must not have mangled what was typed.
    assert.equal(await editorText('.graphiql-query-editor'), query);
    // GraphiQL picks the operation to run from a debounced parse of the editor;
    // wait for it, as a person's pause before clicking would.
    await page.waitForFunction(
      () => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.operationName === 'TypenameCheck',
      null,
      { timeout: 5_000 },
    );
    const { text } = await runAndReadResult();
    assert.match(text, /"__typename": "Query"/);
  });

  test('runs a subscription and shows the event of a revoke made elsewhere', async () => {
    // An active session of the zone, as another tab would pick it.
    const pick = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ sessions(zoneId: "zone_001", first: 1, filter: {status: [ACTIVE], includeNested: true}) { nodes { ... on UserSession { id } ... on ApplicationSession { id } } } }' }),
    });
    const id = (await pick.json()).data.sessions.nodes[0].id;
    const query = 'subscription Live { sessionEvents(zoneId: "zone_001") { kind sessionId session { __typename } } }';
    await page.click('.graphiql-query-editor .CodeMirror');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(query);
    await page.keyboard.press('Escape');
    await page.waitForFunction(
      () => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.operationName === 'Live',
      null,
      { timeout: 5_000 },
    );
    await page.click('.graphiql-execute-button');
    // Give the socket its connection_init and subscribe before the write.
    await sleep(1_000);
    const revoke = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `mutation { updateSession(id: "${id}", input: {status: REVOKED}) { revokedCount } }` }),
    });
    assert.equal((await revoke.json()).data.updateSession.revokedCount >= 1, true);
    await page.waitForFunction(
      (sessionId) => {
        const text = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '';
        return text.includes('"REVOKED"') && text.includes(sessionId);
      },
      id,
      { timeout: 10_000 },
    );
    // Stop the subscription: the same button.
    await page.click('.graphiql-execute-button');
  });

  test('made no request off this machine and logged no error', (t) => {
    assert.ok(requests.length > 0);
    t.diagnostic(`${requests.length} requests: ${[...new Set(requests.map((url) => new URL(url).pathname))].join(' ')}`);
    const offHost = requests.filter((url) => {
      const { protocol, hostname } = new URL(url);
      if (protocol === 'data:' || protocol === 'blob:') return false;
      return hostname !== HOST;
    });
    assert.deepEqual(offHost, [], `requests that left ${HOST}`);
    assert.deepEqual(problems, []);
  });
});
