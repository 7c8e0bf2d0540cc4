#!/usr/bin/env node
// Differential test driver: generated documents run against
// sessiongraph over HTTP and against the graphql-js reference over the same
// dataset, and the answers are compared:
//
//  (a) whether each side refused the document (no `data`, or only errors
//      without a path: parse and validation failures);
//  (b) `data`, exactly, key order included (JSON text of both);
//  (c) field errors: for each error, n(e) is the highest ancestor-or-self of
//      its path whose value in `data` is null (where null propagation
//      stopped). Both sides must have the same set of n(e), and under each
//      n at least one error with the same path and `extensions.code`
//      (graphql-js may not report sibling errors under a nulled parent, so
//      extra errors under the same n are tolerated). Messages, locations
//      and requestId are ignored. Every error must carry a code.
//
// Documents sessiongraph refuses with QUERY_TOO_COMPLEX are out of scope:
// counted, not compared. A divergence is shrunk (selections, fragments,
// arguments, directives, aliases, variables removed one at a time, each
// candidate re-validated with graphql-js and re-run on both sides) to a
// minimal document that diverges with the same signature; the first
// `--shrink-per-signature` (default 1) divergences of each signature are
// shrunk (within `--shrink-seconds`, default 40, at least 10 for each new
// signature), the others listed by seed and index.
//
//   node diff.mjs --url http://127.0.0.1:PORT/graphql --dataset F --count N --seed S
//       [--start I] [--label NAME] [--shrink-per-signature K] [--shrink-seconds T] [--quiet]

import { readFileSync } from 'node:fs';

import { Kind, isListType, isNonNullType, parse, print, validate, visit } from 'graphql';

import { createGenerator, measure } from './generate.mjs';
import { allFieldErrors, buildReferenceSchema, loadDataset, runReference } from './reference.mjs';

const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const flag = (name) => argv.includes(name);

const url = opt('--url');
const datasetPath = opt('--dataset');
if (!url || !datasetPath) {
  console.error('usage: node diff.mjs --url URL --dataset FILE [--count N] [--seed S] [--start I]');
  process.exit(2);
}
const count = Number(opt('--count', 300));
const seed = opt('--seed', 'conformance');
const start = Number(opt('--start', 0));
const label = opt('--label', 'conformance');
const shrinkPerSignature = Number(opt('--shrink-per-signature', 1));
const shrinkSeconds = Number(opt('--shrink-seconds', 40));
const quiet = flag('--quiet');

const store = loadDataset(JSON.parse(readFileSync(datasetPath, 'utf8')));
const schema = buildReferenceSchema();
const relaxedSchema = buildReferenceSchema(undefined, { relaxed: true });
// Fields of schema.graphql the server does not serve (work in progress on
// either side) are not generated: schema_identity.mjs reports them.
const { exclude, schemasDiffer } = await unservedFields();
// Introspection answers would only repeat schema_identity.mjs's finding.
const generator = createGenerator({ schema, store, seed, exclude, introspection: !schemasDiffer });

async function unservedFields() {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: '{ __schema { types { name fields(includeDeprecated: true) { name } } } }' }),
  });
  const served = new Set();
  const servedTypes = new Set();
  for (const t of (await res.json()).data.__schema.types) {
    servedTypes.add(t.name);
    for (const f of t.fields ?? []) served.add(`${t.name}.${f.name}`);
  }
  const missing = new Set();
  const known = new Set();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    known.add(type.name);
    if (!servedTypes.has(type.name)) missing.add(type.name);
    if (!type.getFields || type.constructor.name === 'GraphQLInputObjectType') continue;
    for (const f of Object.keys(type.getFields())) if (!served.has(`${type.name}.${f}`)) missing.add(`${type.name}.${f}`);
  }
  const extra = [...served].filter((f) => !f.startsWith('__') && !known.has(f.split('.')[0]));
  if (missing.size) {
    console.log(`${label}: WARNING: the server lacks ${[...missing].join(', ')} of schema.graphql: not generated, nor introspection`);
  }
  return { exclude: missing, schemasDiffer: missing.size > 0 || extra.length > 0 };
}
const fieldNames = new Set();
for (const type of Object.values(schema.getTypeMap())) {
  if (type.getFields && !type.name.startsWith('__')) for (const f of Object.keys(type.getFields())) fieldNames.add(f);
}

// ------------------------------------------------------------------ running

async function runServer(request) {
  const body = JSON.stringify({
    query: request.query,
    variables: request.variables ?? {},
    operationName: request.operationName ?? null,
  });
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body,
      });
      const text = await res.text();
      try {
        return { status: res.status, response: JSON.parse(text) };
      } catch {
        return { status: res.status, response: null, text };
      }
    } catch (error) {
      if (attempt >= 3) throw error;
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
}

const codeOf = (e) => e?.extensions?.code;

function serverRefused(response) {
  if (!('data' in response)) return true;
  const errors = response.errors ?? [];
  return response.data === null && errors.length > 0 && errors.every((e) => !e.path);
}

/** Walks `path` in `data`; the shortest prefix whose value is null. */
function nullPoint(data, path) {
  let value = data;
  for (let i = 0; i <= path.length; i++) {
    if (value === null) return path.slice(0, i);
    if (i === path.length) break;
    if (value === undefined || typeof value !== 'object') return null;
    value = value[path[i]];
  }
  return null; // no null on the way: the path does not name a nulled field
}

const pathText = (p) => (p === null ? '(no null on path)' : JSON.stringify(p));
const normalPath = (p) =>
  p === null ? '(none)' : p.map((k) => (typeof k === 'number' ? '#' : fieldNames.has(k) ? k : '<alias>')).join('.') || '<root>';

/** Describes where two data trees first differ. */
function firstDifference(a, b, at = []) {
  if (a === b) return null;
  const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v);
  if (kind(a) !== kind(b)) {
    if (a === null) return { at, what: 'sessiongraph null where the reference has a value' };
    if (b === null) return { at, what: 'reference null where sessiongraph has a value' };
    if (a === undefined) return { at, what: 'missing on sessiongraph' };
    return { at, what: `type differs (${kind(a)} vs ${kind(b)})` };
  }
  if (kind(a) === 'list') {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], [...at, i]);
      if (d) return d;
    }
    return a.length === b.length ? null : { at, what: `list length differs (${a.length} vs ${b.length})` };
  }
  if (kind(a) === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    const missing = kb.filter((k) => !(k in a));
    const extra = ka.filter((k) => !(k in b));
    if (missing.length) return { at: [...at, missing[0]], what: 'key missing on sessiongraph' };
    if (extra.length) return { at: [...at, extra[0]], what: 'extra key on sessiongraph' };
    for (const k of kb) {
      const d = firstDifference(a[k], b[k], [...at, k]);
      if (d) return d;
    }
    if (ka.join('\0') !== kb.join('\0')) return { at, what: 'key order differs' };
    return null;
  }
  return { at, what: 'value differs' };
}

const shorten = (s, n = 90) => (s.length > n ? `${s.slice(0, n)}…` : s);
const normalMessage = (m) =>
  shorten(String(m ?? '').replace(/"[^"]*"/g, '"…"').replace(/`[^`]*`/g, '`…`').replace(/\d+/g, 'N'));

/**
 * Compares one answer; returns {outcome: 'pass'|'fail'|'refusedBoth'|'outOfScope', signature, detail}.
 */
function compare(server, reference, request) {
  const sg = server.response;
  if (sg === null || typeof sg !== 'object') {
    return { outcome: 'fail', signature: `transport: HTTP ${server.status}, not a JSON response`, detail: server.text };
  }
  const sgErrors = sg.errors ?? [];
  if (sgErrors.some((e) => codeOf(e) === 'QUERY_TOO_COMPLEX')) return { outcome: 'outOfScope' };
  const ref = reference.response;
  const refErrors = ref.errors ?? [];
  const sgRefused = serverRefused(sg);
  if (sgRefused && reference.refused) return { outcome: 'refusedBoth' };
  if (sgRefused !== reference.refused) {
    if (sgRefused) {
      const e = sgErrors[0] ?? {};
      return {
        outcome: 'fail',
        signature: `refusal: sessiongraph refuses a valid document (${codeOf(e)}: ${normalMessage(e.message)})`,
      };
    }
    return { outcome: 'fail', signature: `refusal: sessiongraph runs a document graphql-js refuses (${normalMessage(refErrors[0]?.message)})` };
  }
  const uncoded = sgErrors.find((e) => !codeOf(e));
  if (uncoded) return { outcome: 'fail', signature: `errors: sessiongraph error without extensions.code (${normalMessage(uncoded.message)})` };
  const refUncoded = refErrors.find((e) => !codeOf(e));
  if (refUncoded) return { outcome: 'fail', signature: `reference: error without extensions.code (${normalMessage(refUncoded.message)})` };
  if (JSON.stringify(sg.data) !== JSON.stringify(ref.data)) {
    const d = firstDifference(sg.data, ref.data);
    const at = d ? d.at : [];
    return {
      outcome: 'fail',
      signature: `data: ${d ? d.what : 'differs'} at ${normalPath(at)}`,
      detail: d ? `first difference at ${JSON.stringify(at)}: ${d.what}` : '',
    };
  }
  // Field errors, grouped by where null propagation stopped.
  const group = (errors, data) => {
    const by = new Map();
    for (const e of errors) {
      const n = e.path ? nullPoint(data, e.path) : null;
      const key = e.path ? pathText(n) : '(no path)';
      if (!by.has(key)) by.set(key, { n, errors: [] });
      by.get(key).errors.push(e);
    }
    return by;
  };
  const a = group(sgErrors, sg.data);
  const b = group(refErrors, ref.data);
  // Every error sessiongraph reports must be one the document can raise,
  // at that path with that code (graphql-js on the all-nullable schema).
  if (sgErrors.length) {
    const possible = allFieldErrors(relaxedSchema, store, request);
    const bogus = sgErrors.find((e) => e.path && !possible.has(`${JSON.stringify(e.path)} ${codeOf(e)}`));
    if (bogus) {
      return {
        outcome: 'fail',
        signature: `errors: sessiongraph reports an error no field raises there (${normalPath(bogus.path)} ${codeOf(bogus)})`,
        detail: `sessiongraph error path ${JSON.stringify(bogus.path)}; the document raises ${[...possible].join(', ') || 'no field error'}`,
      };
    }
  }
  for (const [key, { n, errors }] of a) {
    if (!b.has(key)) {
      return {
        outcome: 'fail',
        signature: `errors: error nulling ${normalPath(n)} only on sessiongraph (${codeOf(errors[0])})`,
        detail: `sessiongraph error path ${JSON.stringify(errors[0].path)}`,
      };
    }
  }
  for (const [key, { n, errors }] of b) {
    if (!a.has(key)) {
      return {
        outcome: 'fail',
        signature: `errors: error nulling ${normalPath(n)} only on the reference (${codeOf(errors[0])})`,
        detail: `reference error path ${JSON.stringify(errors[0].path)}`,
      };
    }
    // The two sides need not share an error under n: which of several
    // failing siblings is reported is the executor's choice (graphql-js
    // stops at the first in document order; sessiongraph resolves siblings
    // at once). Every sessiongraph error was checked above to be one the
    // document raises at that path with that code, so an error path cut
    // short or a wrong code still fails.
  }
  return { outcome: 'pass' };
}

async function runBoth(request) {
  const server = await runServer(request);
  const reference = runReference(schema, store, request);
  return { server, reference, verdict: compare(server, reference, request) };
}

// ---------------------------------------------------------------- shrinking

/** Every selection set in a document, as [node holding it]. */
function selectionHolders(document) {
  const holders = [];
  visit(document, {
    enter(node) {
      if (node.selectionSet) holders.push(node);
    },
  });
  return holders;
}

const clone = (x) => structuredClone(x);

/** Drops unused fragment definitions and unused variable definitions (and values). */
function tidy(document, variables) {
  let doc = document;
  for (;;) {
    const used = new Set();
    visit(doc, {
      FragmentSpread(node) {
        used.add(node.name.value);
      },
    });
    const before = doc.definitions.length;
    doc = { ...doc, definitions: doc.definitions.filter((d) => d.kind !== Kind.FRAGMENT_DEFINITION || used.has(d.name.value)) };
    if (doc.definitions.length === before) break;
  }
  const usedVars = new Set();
  for (const def of doc.definitions) {
    visit(def, {
      VariableDefinition: () => false,
      Variable(node) {
        usedVars.add(node.name.value);
      },
    });
  }
  const vars = {};
  doc = visit(doc, {
    VariableDefinition(node) {
      return usedVars.has(node.variable.name.value) ? undefined : null;
    },
  });
  for (const [k, v] of Object.entries(variables)) if (usedVars.has(k)) vars[k] = v;
  return { document: doc, variables: vars };
}

/** Candidate documents one step smaller than `document`, largest cuts first. */
function* candidates(document, variables) {
  const count = (fn) => {
    let n = 0;
    visit(document, { enter(node) { if (fn(node)) n += 1; } });
    return n;
  };
  // Remove the k-th node that `match` accepts (its parent array loses it).
  const removeNth = (match, k) => {
    let i = -1;
    return visit(clone(document), {
      enter(node) {
        if (match(node)) {
          i += 1;
          if (i === k) return null;
        }
        return undefined;
      },
    });
  };
  const isSelection = (n) => n.kind === Kind.FIELD || n.kind === Kind.INLINE_FRAGMENT || n.kind === Kind.FRAGMENT_SPREAD;
  // Fragment definitions whole (their spreads go too).
  const fragmentNames = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => d.name.value);
  for (const name of fragmentNames) {
    const doc = visit(clone(document), {
      FragmentDefinition: (n) => (n.name.value === name ? null : undefined),
      FragmentSpread: (n) => (n.name.value === name ? null : undefined),
    });
    yield { document: doc, variables };
  }
  // Selections, outermost first (pre-order).
  const selections = count(isSelection);
  for (let k = 0; k < selections; k++) yield { document: removeNth(isSelection, k), variables };
  // Unwrap inline fragments and fragment spreads into their selections.
  const inlines = count((n) => n.kind === Kind.INLINE_FRAGMENT);
  for (let k = 0; k < inlines; k++) {
    let i = -1;
    const doc = visit(clone(document), {
      InlineFragment(node) {
        i += 1;
        if (i === k && !node.typeCondition && !(node.directives ?? []).length) return node.selectionSet.selections;
        return undefined;
      },
    });
    yield { document: flatten(doc), variables };
  }
  // A fragment spread replaced by an inline fragment of the same body.
  const bodies = new Map(
    document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const spreads = count((n) => n.kind === Kind.FRAGMENT_SPREAD);
  for (let k = 0; k < spreads; k++) {
    let i = -1;
    const doc = visit(clone(document), {
      FragmentSpread(node) {
        i += 1;
        if (i !== k) return undefined;
        const f = bodies.get(node.name.value);
        return f
          ? { kind: Kind.INLINE_FRAGMENT, typeCondition: f.typeCondition, directives: node.directives, selectionSet: clone(f.selectionSet) }
          : undefined;
      },
    });
    yield { document: doc, variables };
  }
  // An inline fragment's type condition dropped.
  const typed = count((n) => n.kind === Kind.INLINE_FRAGMENT && n.typeCondition);
  for (let k = 0; k < typed; k++) {
    let i = -1;
    const doc = visit(clone(document), {
      InlineFragment(node) {
        if (!node.typeCondition) return undefined;
        i += 1;
        return i === k ? { ...node, typeCondition: undefined } : undefined;
      },
    });
    yield { document: doc, variables };
  }
  // Directives, arguments, aliases.
  const directives = count((n) => n.kind === Kind.DIRECTIVE);
  for (let k = 0; k < directives; k++) yield { document: removeNth((n) => n.kind === Kind.DIRECTIVE, k), variables };
  const args = count((n) => n.kind === Kind.ARGUMENT);
  for (let k = 0; k < args; k++) yield { document: removeNth((n) => n.kind === Kind.ARGUMENT, k), variables };
  const objectFields = count((n) => n.kind === Kind.OBJECT_FIELD);
  for (let k = 0; k < objectFields; k++) yield { document: removeNth((n) => n.kind === Kind.OBJECT_FIELD, k), variables };
  const aliased = count((n) => n.kind === Kind.FIELD && n.alias);
  for (let k = 0; k < aliased; k++) {
    let i = -1;
    const doc = visit(clone(document), {
      Field(node) {
        if (!node.alias) return undefined;
        i += 1;
        return i === k ? { ...node, alias: undefined } : undefined;
      },
    });
    yield { document: doc, variables };
  }
  // Variables: inline a variable's value as a literal, drop a default, drop a given value.
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  for (const def of operation.variableDefinitions ?? []) {
    const name = def.variable.name.value;
    const given = Object.hasOwn(variables, name);
    const valueNode = given ? jsonLiteral(variables[name], def.type) : def.defaultValue ?? { kind: Kind.NULL };
    const inlined = visit(clone(document), {
      VariableDefinition: (n) => (n.variable.name.value === name ? null : undefined),
      Variable: (n) => (n.name.value === name ? valueNode : undefined),
    });
    const rest = { ...variables };
    delete rest[name];
    yield { document: inlined, variables: rest };
    if (def.defaultValue) {
      const noDefault = visit(clone(document), {
        VariableDefinition: (n) => (n.variable.name.value === name ? { ...n, defaultValue: undefined } : undefined),
      });
      yield { document: noDefault, variables };
    }
    if (given && def.defaultValue) yield { document, variables: rest };
  }
  // The operation's name.
  if (operation.name && !(operation.variableDefinitions ?? []).length) {
    const doc = visit(clone(document), { OperationDefinition: (n) => ({ ...n, name: undefined }) });
    yield { document: doc, variables, dropName: true };
  }
}

/** Inline fragment bodies spliced into their parent's list. */
function flatten(document) {
  return visit(document, {
    SelectionSet: {
      leave(node) {
        if (node.selections.some(Array.isArray)) return { ...node, selections: node.selections.flat() };
        return undefined;
      },
    },
  });
}

/** A request variable's JSON value as a literal of its declared type. */
function jsonLiteral(value, typeNode) {
  const named = (t) => (t.kind === Kind.NAMED_TYPE ? t.name.value : named(t.type));
  const inner = typeNode.kind === Kind.NON_NULL_TYPE ? typeNode.type : typeNode;
  if (value === null) return { kind: Kind.NULL };
  if (inner.kind === Kind.LIST_TYPE) {
    const items = Array.isArray(value) ? value : [value];
    return { kind: Kind.LIST, values: items.map((v) => jsonLiteral(v, inner.type)) };
  }
  const typeName = named(inner);
  const type = schema.getType(typeName);
  if (typeName === 'Boolean') return { kind: Kind.BOOLEAN, value };
  if (typeName === 'Int') return { kind: Kind.INT, value: String(value) };
  if (typeName === 'ID' || typeName === 'String') {
    return typeof value === 'number' ? { kind: Kind.INT, value: String(value) } : { kind: Kind.STRING, value };
  }
  if (type && type.getValues) return { kind: Kind.ENUM, value };
  if (type && type.getFields) {
    const fields = type.getFields();
    return {
      kind: Kind.OBJECT,
      fields: Object.entries(value).map(([k, v]) => ({
        kind: Kind.OBJECT_FIELD,
        name: { kind: Kind.NAME, value: k },
        value: jsonLiteral(v, typeNodeOf(fields[k].type)),
      })),
    };
  }
  return { kind: Kind.STRING, value: String(value) };
}

function typeNodeOf(type) {
  if (isNonNullType(type)) return { kind: Kind.NON_NULL_TYPE, type: typeNodeOf(type.ofType) };
  if (isListType(type)) return { kind: Kind.LIST_TYPE, type: typeNodeOf(type.ofType) };
  return { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: type.name } };
}

async function shrink(request, signature, deadline) {
  let best = { document: parse(request.query, { noLocation: true }), variables: request.variables ?? {}, operationName: request.operationName };
  let runs = 0;
  // First improvement wins; the next pass resumes near where it was found
  // (earlier cuts rarely start to work later), and the search ends after a
  // full pass without any.
  let resume = 0;
  let fullPass = false;
  let bestQuery = print(best.document);
  for (;;) {
    if (Date.now() >= deadline) break;
    let improved = false;
    let index = -1;
    for (const c of candidates(best.document, best.variables)) {
      index += 1;
      if (index < resume) continue;
      if (Date.now() >= deadline) break;
      const { document, variables } = tidy(c.document, c.variables);
      const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
      if (!operation || operation.selectionSet.selections.length === 0) continue;
      if (hasEmptySelection(document)) continue;
      if (validate(schema, document).length) continue;
      const operationName = operation.name ? best.operationName : undefined;
      const query = print(document);
      if (query === bestQuery && JSON.stringify(variables) === JSON.stringify(best.variables)) continue; // no change
      runs += 1;
      const { verdict } = await runBoth({ query, variables, operationName });
      if (verdict.outcome === 'fail' && verdict.signature === signature) {
        best = { document, variables, operationName };
        bestQuery = query;
        improved = true;
        if (process.env.SHRINK_DEBUG) console.error(`shrink: run ${runs}, candidate ${index}, ${query.length} bytes`);
        resume = Math.max(0, index - 1);
        break;
      }
    }
    if (improved) {
      fullPass = false;
      continue;
    }
    if (resume === 0 || fullPass) break;
    resume = 0;
    fullPass = true;
  }
  return { query: print(best.document), variables: best.variables, operationName: best.operationName, runs };
}

function hasEmptySelection(document) {
  let empty = false;
  visit(document, {
    SelectionSet(node) {
      if (!node.selections.length) empty = true;
    },
  });
  return empty;
}

// --------------------------------------------------------------------- main

const indent = (text, by = '    ') => text.split('\n').map((l) => by + l).join('\n');

async function main() {
  const t0 = Date.now();
  const tally = { passed: 0, failed: 0, refusedBoth: 0, outOfScope: 0 };
  const groups = new Map(); // signature -> [{index, ...}]
  const shrinkBudgetUntil = Date.now() + shrinkSeconds * 1000;
  const progressEvery = Math.max(100, Math.round(count / 20 / 100) * 100);
  for (let i = start; i < start + count; i++) {
    const doc = generator.generate(i);
    const request = { query: doc.query, variables: doc.variables, operationName: doc.operationName };
    const { server, reference, verdict } = await runBoth(request);
    if (verdict.outcome === 'pass') tally.passed += 1;
    else if (verdict.outcome === 'refusedBoth') {
      tally.refusedBoth += 1;
      tally.passed += 1;
    } else if (verdict.outcome === 'outOfScope') {
      tally.outOfScope += 1;
      if (!quiet) {
        console.log(`${label}: #${i} out of scope (QUERY_TOO_COMPLEX, generator measured ${JSON.stringify(measure(doc.document, doc.variables, doc.operationName))}): ${server.response.errors[0].message}`);
      }
    } else {
      tally.failed += 1;
      if (!groups.has(verdict.signature)) groups.set(verdict.signature, []);
      const group = groups.get(verdict.signature);
      group.push(i);
      if (group.length <= shrinkPerSignature) {
        // Shrinking time is shared: ten seconds at least for each new signature.
        const deadline = Math.max(shrinkBudgetUntil, Date.now() + (group.length === 1 ? 10_000 : 0));
        const small = Date.now() < deadline ? await shrink(request, verdict.signature, deadline) : null;
        const shown = small ?? request;
        const rerun = await runBoth(shown);
        console.log(`\n${label}: DIVERGENCE seed ${JSON.stringify(seed)} index ${i}`);
        console.log(`  signature: ${verdict.signature}`);
        if (verdict.detail) console.log(`  detail: ${verdict.detail}`);
        if (group.length === 1) {
          console.log('  original document:');
          console.log(indent(doc.query));
          console.log(`  original variables: ${JSON.stringify(doc.variables)}${doc.operationName ? `, operationName: ${doc.operationName}` : ''}`);
        }
        console.log(`  shrunk document${small ? ` (${small.runs} runs)` : ' (not shrunk: out of time)'}:`);
        console.log(indent(shown.query));
        console.log(`  variables: ${JSON.stringify(shown.variables)}${shown.operationName ? `, operationName: ${shown.operationName}` : ''}`);
        if (rerun.verdict.detail) console.log(`  detail: ${rerun.verdict.detail}`);
        console.log(`  sessiongraph (HTTP ${rerun.server.status}): ${JSON.stringify(rerun.server.response ?? rerun.server.text)}`);
        console.log(`  graphql-js:   ${JSON.stringify(rerun.reference.response)}`);
        if (rerun.verdict.signature !== verdict.signature) {
          console.log(`  (the shrunk document now reads: ${rerun.verdict.outcome} ${rerun.verdict.signature ?? ''})`);
        }
        void reference;
      }
    }
    const done = i - start + 1;
    if (!quiet && (done % progressEvery === 0 || done === count)) {
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      console.log(`${label}: ${done}/${count} documents (${tally.failed} diverging, ${tally.outOfScope} out of scope) in ${secs} s`);
    }
  }
  console.log('');
  if (groups.size) {
    console.log(`${label}: divergences by signature:`);
    for (const [signature, indexes] of [...groups.entries()].sort((x, y) => y[1].length - x[1].length)) {
      const shown = indexes.slice(0, 12).join(', ') + (indexes.length > 12 ? ', …' : '');
      console.log(`  ${String(indexes.length).padStart(5)}  ${signature}\n         indexes: ${shown}`);
    }
  }
  const gs = generator.stats;
  console.log(
    `${label}: seed ${JSON.stringify(seed)}, documents ${start}..${start + count - 1}; refused by both: ${tally.refusedBoth}; out of scope (QUERY_TOO_COMPLEX): ${tally.outOfScope}; generator drafts discarded: ${gs.invalid} invalid, ${gs.overBudget} over budget`,
  );
  const passed = tally.passed;
  const failed = tally.failed;
  console.log(`${label}: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
