// Starts the real sessiongraph binary over a freshly seeded SQLite database,
// for the tests in this folder that need a gateway of their own.

import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
export const bin = path.resolve(here, process.env.SESSIONGRAPH_BIN ?? '../../target/debug/sessiongraph');
export const HOST = '127.0.0.1';

export function freePort() {
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

export const run = (args) => promisify(execFile)(bin, args);

// `sessiongraph serve` with `args` over a seeded database of its own, once
// ready; `stop()` ends it and removes the database.
export async function startGateway(args = []) {
  const workdir = await mkdtemp(path.join(tmpdir(), 'sessiongraph-browser-'));
  const databaseUrl = `sqlite://${path.join(workdir, 'gateway.db')}?mode=rwc`;
  await run([
    'seed', '--sessions', '30', '--users', '5', '--applications', '3', '--user-agents', '3',
    '--database-url', databaseUrl,
  ]);
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  let log = '';
  let exit = null;
  const server = spawn(bin, ['--database-url', databaseUrl, '--listen', `${HOST}:${port}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (chunk) => { log += chunk; });
  server.stderr.on('data', (chunk) => { log += chunk; });
  server.on('exit', (code, signal) => { exit = { code, signal }; });

  const stop = async () => {
    if (!exit) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(workdir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exit) {
      await stop();
      throw new Error(`sessiongraph exited early (${JSON.stringify(exit)}):\n${log}`);
    }
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) return { url, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`/readyz did not answer within 30 s:\n${log}`);
    }
    await sleep(100);
  }
}
