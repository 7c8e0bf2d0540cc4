#!/usr/bin/env node
// graphql-http's server audits (the GraphQL-over-HTTP spec) against a
// running server: prints each audit's id, level, name and result, and fails
// when any MUST or SHOULD fails. MAYs are reported only.
//
//   node audit.mjs --url http://127.0.0.1:PORT/graphql

import { serverAudits } from 'graphql-http';

const argv = process.argv.slice(2);
const url = argv.includes('--url') ? argv[argv.indexOf('--url') + 1] : undefined;
if (!url) {
  console.error('usage: node audit.mjs --url URL');
  process.exit(2);
}

const results = [];
for (const audit of serverAudits({ url })) {
  const level = audit.name.split(' ')[0];
  let result;
  try {
    result = await audit.fn();
  } catch (error) {
    result = { status: 'error', reason: `audit threw: ${error?.message ?? error}` };
  }
  const ok = result.status === 'ok';
  results.push({ id: audit.id, level, name: audit.name, ok });
  const mark = ok ? 'ok  ' : level === 'MAY' ? 'note' : 'FAIL';
  console.log(`${mark}  ${audit.id}  ${level.padEnd(6)}  ${audit.name.slice(level.length + 1)}`);
  if (!ok) {
    console.log(`        reason: ${result.reason}`);
    if (result.response) {
      let body = '';
      try {
        body = await result.response.clone().text();
      } catch {
        body = '(body already read)';
      }
      console.log(`        response: HTTP ${result.response.status} ${result.response.headers.get('content-type') ?? ''} ${body.slice(0, 300)}`);
    }
  }
}

const failing = results.filter((r) => !r.ok && r.level !== 'MAY');
const mays = results.filter((r) => !r.ok && r.level === 'MAY');
console.log(
  `audit: ${results.length} audits; ${failing.length} MUST/SHOULD failing` +
    (failing.length ? ` (${failing.map((r) => `${r.id} ${r.level}`).join(', ')})` : '') +
    `; ${mays.length} MAY not met (reported only)`,
);
console.log(`audit: ${results.length - failing.length} passed, ${failing.length} failed`);
process.exitCode = failing.length ? 1 : 0;
