#!/usr/bin/env node
// The served schema is schema.graphql: the running
// server's full introspection, rebuilt with graphql-js `buildClientSchema`,
// must have no breaking and no dangerous change against `buildSchema` of the
// repository's schema.graphql in either direction, and both must print the
// same (`printSchema(lexicographicSortSchema(...))`, descriptions,
// deprecations and `@specifiedBy` included). A diff is printed otherwise.
//
//   node schema_identity.mjs --url http://127.0.0.1:PORT/graphql

import { readFileSync } from 'node:fs';

import {
  buildClientSchema,
  buildSchema,
  findBreakingChanges,
  findDangerousChanges,
  getIntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
} from 'graphql';

import { SCHEMA_PATH } from './reference.mjs';

const argv = process.argv.slice(2);
const url = argv.includes('--url') ? argv[argv.indexOf('--url') + 1] : undefined;
if (!url) {
  console.error('usage: node schema_identity.mjs --url URL');
  process.exit(2);
}

const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  inputValueDeprecation: true,
});
const res = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: JSON.stringify({ query, operationName: 'IntrospectionQuery' }),
});
const body = await res.json();
if (!body.data || body.errors?.length) {
  console.log(`schema identity: introspection failed: HTTP ${res.status} ${JSON.stringify(body.errors ?? body)}`);
  console.log('schema identity: 0 passed, 1 failed');
  process.exit(1);
}
const served = buildClientSchema(body.data);
const committed = buildSchema(readFileSync(SCHEMA_PATH, 'utf8'));

const problems = [];
const report = (what, changes) => {
  for (const c of changes) problems.push(`${what}: ${c.type}: ${c.description}`);
};
report('breaking, served -> schema.graphql', findBreakingChanges(served, committed));
report('breaking, schema.graphql -> served', findBreakingChanges(committed, served));
report('dangerous, served -> schema.graphql', findDangerousChanges(served, committed));
report('dangerous, schema.graphql -> served', findDangerousChanges(committed, served));

const a = printSchema(lexicographicSortSchema(committed));
const b = printSchema(lexicographicSortSchema(served));
const diff = a === b ? [] : lineDiff(a.split('\n'), b.split('\n'));

for (const p of problems) console.log(`schema identity: ${p}`);
if (diff.length) {
  console.log('schema identity: printed schemas differ (--- schema.graphql, +++ served):');
  for (const line of diff) console.log(`  ${line}`);
}
const failed = problems.length || diff.length ? 1 : 0;
if (!failed) console.log('schema identity: the served schema equals schema.graphql');
console.log(`schema identity: ${1 - failed} passed, ${failed} failed`);
process.exitCode = failed;

/** A unified-style diff with 2 lines of context (LCS; schemas are small). */
function lineDiff(x, y) {
  const n = x.length;
  const m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      ops.push([' ', x[i]]);
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      ops.push(['+', y[j++]]);
    } else {
      ops.push(['-', x[i++]]);
    }
  }
  const out = [];
  const context = 2;
  let lastShown = -1;
  ops.forEach(([op], k) => {
    if (op === ' ') return;
    const from = Math.max(k - context, lastShown + 1);
    if (from > lastShown + 1 && out.length) out.push('...');
    for (let c = from; c <= Math.min(k + context, ops.length - 1); c++) {
      if (c <= lastShown) continue;
      out.push(`${ops[c][0]} ${ops[c][1]}`);
      lastShown = c;
    }
  });
  return out;
}
