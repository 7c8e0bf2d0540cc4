#!/usr/bin/env node
// A seeded generator of valid query documents over sessiongraph's whole
// schema, for the differential test. Document `index` of seed
// `seed` is always the same document: each one draws from its own PRNG.
//
// What the documents exercise: inline and named fragments with object,
// interface (`Node`, `IdentitySession`) and union (`Session`) type conditions wherever they are
// legal, nested fragments, untyped inline fragments, one response key
// selected in several fragments with different sub-selections, the same
// alias on different fields of distinct object types, aliases of one
// connection with different arguments, `__typename` (aliased, with
// directives), `@skip`/`@include` with literals and variables, variables with
// and without defaults (omitted or supplied), invalid arguments (negative,
// above 100, first+last, malformed or foreign cursors), unknown ids and ids
// of another kind.
//
// Every document is checked with graphql-js `validate` (retried with the
// next draw when invalid) and measured as sessiongraph measures it (README
// "Limits"), retried when over a margin below the server's defaults.
//
//   node generate.mjs --dataset FILE [--seed S] [--count N] [--start I]   # prints documents

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  Kind,
  OperationTypeNode,
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  print,
  validate,
} from 'graphql';

import { DEFAULT_ORDER, buildReferenceSchema, encodeCursor, loadDataset } from './reference.mjs';

// Kept below sessiongraph's defaults (depth 15, cost 25,000, aliases 30,
// root fields 20) so that QUERY_TOO_COMPLEX stays rare.
export const BUDGET = { depth: 12, cost: 12_000, aliases: 24, rootFields: 10 };
export const SERVER_LIMITS = { depth: 15, cost: 25_000, aliases: 30, rootFields: 20 };
const MAX_LEVEL = 9; // deepest field level the generator nests to (root fields are 1)
const MAX_CONNECTIONS = 2; // connections nested in connections
// The fields costed by their page, read off schema.graphql as the server
// reads them off its schema (admission/limits.rs): fields returning a
// connection, and lists (not connections) whose `first` has a default.
const { CONNECTION_FIELDS, DEFAULT_SIZED_LISTS } = (() => {
  const connections = new Set();
  const sized = new Map();
  for (const type of Object.values(buildReferenceSchema().getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
    for (const field of Object.values(type.getFields())) {
      if (getNamedType(field.type).name.endsWith('Connection')) {
        connections.add(field.name);
        continue;
      }
      const first = field.args.find((a) => a.name === 'first');
      if (isListType(getNullableType(field.type)) && typeof first?.defaultValue === 'number') {
        sized.set(field.name, first.defaultValue);
      }
    }
  }
  return { CONNECTION_FIELDS: connections, DEFAULT_SIZED_LISTS: sized };
})();
const ALIASES = ['x0', 'x1', 'x2', 'x3'];
// Lists whose order the GraphQL spec leaves open (an interface's possible
// types, the schema's types and directives): not generated.
const UNORDERED = new Set(['__Schema.types', '__Schema.directives', '__Type.possibleTypes']);

// --------------------------------------------------------------------- PRNG

/** sfc32 seeded from a string: deterministic across platforms. */
export function makeRng(seedText) {
  let h = 1779033703 ^ seedText.length;
  for (let i = 0; i < seedText.length; i++) {
    h = Math.imul(h ^ seedText.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  const next32 = () => {
    h = Math.imul(h ^ (h >>> 16), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    return (h ^= h >>> 16) >>> 0;
  };
  let a = next32();
  let b = next32();
  let c = next32();
  let d = next32();
  const rng = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) rng();
  rng.chance = (p) => rng() < p;
  rng.int = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1));
  rng.pick = (items) => items[Math.floor(rng() * items.length)];
  rng.weighted = (pairs) => {
    const total = pairs.reduce((s, [w]) => s + w, 0);
    let x = rng() * total;
    for (const [w, v] of pairs) {
      if ((x -= w) < 0) return v;
    }
    return pairs[pairs.length - 1][1];
  };
  return rng;
}

// ------------------------------------------------------------- AST helpers

const nameNode = (value) => ({ kind: Kind.NAME, value });
const intValue = (n) => ({ kind: Kind.INT, value: String(n) });
const stringValue = (s) => ({ kind: Kind.STRING, value: s });
const boolValue = (b) => ({ kind: Kind.BOOLEAN, value: b });
const enumValue = (e) => ({ kind: Kind.ENUM, value: e });
const listValue = (values) => ({ kind: Kind.LIST, values });
const variableNode = (n) => ({ kind: Kind.VARIABLE, name: nameNode(n) });
const objectValue = (fields) => ({
  kind: Kind.OBJECT,
  fields: fields.map(([k, v]) => ({ kind: Kind.OBJECT_FIELD, name: nameNode(k), value: v })),
});
const argument = (n, value) => ({ kind: Kind.ARGUMENT, name: nameNode(n), value });
const selectionSet = (selections) => ({ kind: Kind.SELECTION_SET, selections });
const namedType = (n) => ({ kind: Kind.NAMED_TYPE, name: nameNode(n) });

function typeNode(text) {
  if (text.endsWith('!')) return { kind: Kind.NON_NULL_TYPE, type: typeNode(text.slice(0, -1)) };
  if (text.startsWith('[')) return { kind: Kind.LIST_TYPE, type: typeNode(text.slice(1, -1)) };
  return namedType(text);
}

/** A value standing for a variable inside a literal (input object fields). */
const nestedVariable = (type, value) => ({ $variable: { type, value } });

/** A JSON value as a GraphQL literal (enums given as {enum: NAME}). */
function literal(value, onVariable) {
  if (value === null) return { kind: Kind.NULL };
  if (typeof value === 'object' && '$variable' in value) {
    return onVariable ? onVariable(value.$variable) : literal(value.$variable.value);
  }
  if (typeof value === 'string' && value.startsWith('\u0001block:')) return { kind: Kind.STRING, value: value.slice(7), block: true };
  if (Array.isArray(value)) return listValue(value.map((v) => literal(v, onVariable)));
  if (typeof value === 'object' && 'enum' in value) return enumValue(value.enum);
  if (typeof value === 'object') return objectValue(Object.entries(value).map(([k, v]) => [k, literal(v, onVariable)]));
  if (typeof value === 'number') return intValue(value);
  if (typeof value === 'boolean') return boolValue(value);
  return stringValue(value);
}

/** The same value as request JSON (enums as their names). */
function json(value) {
  if (value === null) return null;
  if (typeof value === 'object' && '$variable' in value) return json(value.$variable.value);
  if (typeof value === 'string' && value.startsWith('\u0001block:')) return value.slice(7);
  if (Array.isArray(value)) return value.map(json);
  if (typeof value === 'object' && 'enum' in value) return value.enum;
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, json(v)]));
  return value;
}

/** A value without nested-variable or block-string markers (enums kept). */
function plain(value) {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'string' && value.startsWith('\u0001block:') ? value.slice(7) : value;
  }
  if ('$variable' in value) return plain(value.$variable.value);
  if (Array.isArray(value)) return value.map(plain);
  if ('enum' in value) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

/** Response shape for field merging: leaf types by name, composites alike. */
function shapeOf(type) {
  if (isNonNullType(type)) return `${shapeOf(type.ofType)}!`;
  if (isListType(type)) return `[${shapeOf(type.ofType)}]`;
  return isLeafType(type) ? type.name : '*';
}

const argsKey = (args) =>
  args
    .map((a) => `${a.name.value}:${print(a.value)}`)
    .sort()
    .join(',');

// ------------------------------------------------------------- measurement

/** sessiongraph's static measure of an operation (src/graphql/limits.rs). */
export function measure(document, variables = {}, operationName = undefined) {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  const fragments = new Map(
    document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const defaults = new Map();
  for (const v of operation.variableDefinitions ?? []) {
    if (v.defaultValue) defaults.set(v.variable.name.value, v.defaultValue);
  }
  const valueOf = (node) => {
    if (node.kind === Kind.VARIABLE) {
      const n = node.name.value;
      if (Object.hasOwn(variables, n)) return variables[n];
      return defaults.has(n) ? valueOf(defaults.get(n)) : null;
    }
    if (node.kind === Kind.NULL) return null;
    if (node.kind === Kind.INT) return Number(node.value);
    return 'other';
  };
  const pageSize = (value) => {
    if (value === null) return null;
    if (typeof value === 'number' && Number.isInteger(value)) return value < 0 ? 0 : Math.min(value, 100);
    return 20;
  };
  const page = (field) => {
    const arg = (n) => field.arguments?.find((a) => a.name.value === n);
    const first = arg('first');
    const last = arg('last');
    if (!first && !last) {
      if (DEFAULT_SIZED_LISTS.has(field.name.value)) return DEFAULT_SIZED_LISTS.get(field.name.value);
      if (!CONNECTION_FIELDS.has(field.name.value)) return 1;
    }
    for (const a of [first, last]) {
      if (!a) continue;
      const size = pageSize(valueOf(a.value));
      if (size !== null) return size;
    }
    return 20;
  };
  const memo = new Map();
  const set = (selections) => {
    const m = { depth: 0, cost: 0, aliases: 0, rootFields: 0 };
    const add = (o) => {
      m.depth = Math.max(m.depth, o.depth);
      m.cost += o.cost;
      m.aliases += o.aliases;
      m.rootFields += o.rootFields;
    };
    for (const s of selections) {
      if (s.kind === Kind.FIELD) {
        const alias = s.alias ? 1 : 0;
        if (!s.selectionSet) add({ depth: 1, cost: 1, aliases: alias, rootFields: 1 });
        else {
          const sub = set(s.selectionSet.selections);
          add({ depth: sub.depth + 1, cost: page(s) * sub.cost + 1, aliases: sub.aliases + alias, rootFields: 1 });
        }
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        add(set(s.selectionSet.selections));
      } else {
        const n = s.name.value;
        if (!memo.has(n)) {
          const f = fragments.get(n);
          memo.set(n, f ? set(f.selectionSet.selections) : { depth: 0, cost: 0, aliases: 0, rootFields: 0 });
        }
        add(memo.get(n));
      }
    }
    return m;
  };
  return set(operation.selectionSet.selections);
}

export function withinLimits(m, limits) {
  return m.depth <= limits.depth && m.cost <= limits.cost && m.aliases <= limits.aliases && m.rootFields <= limits.rootFields;
}

// ------------------------------------------------------------------- pools

/** Ids and zones to draw arguments from, per kind. */
export function poolsOf(store) {
  const zones = [...store.zones].sort();
  const by = (map, pred = () => true) => [...map.values()].filter(pred);
  const pools = {
    zones,
    mainZone: zones[0],
    userSessions: by(store.sessions, (s) => s.__typename === 'UserSession'),
    nestedSessions: by(store.sessions, (s) => s.depth >= 2),
    parentSessions: by(store.sessions, (s) =>
      [...store.sessions.values()].some((c) => c.parentId === s.id),
    ),
    appSessions: by(store.sessions, (s) => s.__typename === 'ApplicationSession'),
    applications: by(store.applications),
    users: by(store.users),
    userAgents: by(store.userAgents),
    sessions: by(store.sessions),
    unknownIds: ['ses_000000000000', 'nope', 'usr_unknown', ''],
  };
  // Users and applications that own many sessions make the lists interesting.
  const owners = (key) => {
    const counts = new Map();
    for (const s of store.sessions.values()) if (s[key]) counts.set(s[key], (counts.get(s[key]) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id);
  };
  pools.busyUsers = owners('userId').slice(0, 8);
  pools.busyApps = owners('applicationId').slice(0, 8);
  pools.busyAgents = owners('userAgentId').slice(0, 8);
  return pools;
}

// --------------------------------------------------------------- generator

class DocumentBuilder {
  constructor(schema, pools, rng, exclude = new Set(), introspection = true) {
    this.schema = schema;
    this.exclude = exclude;
    this.introspectionOn = introspection;
    // Paths where `__Type.description` names a type of schema.graphql: the
    // descriptions of built-in scalars and introspection types are the
    // implementation's own text, which the GraphQL spec leaves open.
    this.describable = new Set();
    this.pools = pools;
    this.rng = rng;
    this.variables = []; // {name, type, defaultValue (plain|undefined), value (plain|undefined: omitted)}
    this.fragments = []; // {name, cond, selections, records, relLevel, relConn}
    this.open = []; // fragments being generated: {base, records, maxLevel, maxConn, level, conn}
    this.registry = new Map(); // path -> key -> {shape, entries: [{types, name, args}]}
    this.aliasCount = 0;
    this.counter = 0;
    this.size = 0; // selections generated so far
    this.maxSize = rng.weighted([[3, 15], [4, 40], [2, 90]]);
    this.possible = new Map();
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isCompositeType(type)) continue;
      this.possible.set(type.name, new Set(isAbstractType(type) ? schema.getPossibleTypes(type).map((t) => t.name) : [type.name]));
    }
    this.conditions = new Map();
    for (const [name, types] of this.possible) {
      this.conditions.set(
        name,
        [...this.possible.entries()].filter(([, other]) => [...other].some((t) => types.has(t))).map(([n]) => n),
      );
    }
  }

  fresh(prefix) {
    this.counter += 1;
    return `${prefix}${this.counter}`;
  }

  // ---- field merging bookkeeping

  compatible(path, key, types, name, args, shape) {
    const at = this.registry.get(path)?.get(key);
    if (!at) return true;
    if (at.shape !== shape) return false;
    return at.entries.every((e) => (e.name === name && e.args === args) || ![...e.types].some((t) => types.has(t)));
  }

  register(path, key, types, name, args, shape) {
    if (!this.registry.has(path)) this.registry.set(path, new Map());
    const keys = this.registry.get(path);
    if (!keys.has(key)) keys.set(key, { shape, entries: [] });
    keys.get(key).entries.push({ types, name, args });
    for (const f of this.open) {
      f.records.push({ rel: path.slice(f.base.length), key, types, name, args, shape });
    }
  }

  replayable(fragment, base) {
    return fragment.records.every((r) => this.compatible(base + r.rel, r.key, r.types, r.name, r.args, r.shape));
  }

  replay(fragment, base) {
    for (const r of fragment.records) this.register(base + r.rel, r.key, r.types, r.name, r.args, r.shape);
  }

  reached(level, conn) {
    for (const f of this.open) {
      f.maxLevel = Math.max(f.maxLevel, level);
      f.maxConn = Math.max(f.maxConn, conn);
    }
  }

  // ---- variables

  /** A variable of `type` standing for `value`; omitted or given in the request. */
  variable(type, value, { allowDefault = true, allowOmit = true } = {}) {
    const rng = this.rng;
    const nonNull = type.endsWith('!');
    let defaultValue;
    let given = value;
    if (allowDefault && rng.chance(0.45)) {
      defaultValue = value;
      if (allowOmit && rng.chance(0.6)) given = undefined; // the default applies
      else if (rng.chance(0.5)) {
        defaultValue = this.alternative(type, value);
      }
    } else if (!nonNull && allowOmit && value === null && rng.chance(0.5)) {
      given = undefined; // omitted, no default: null
    }
    const name = this.fresh('v');
    this.variables.push({ name, type, defaultValue, value: given });
    return variableNode(name);
  }

  /** Another plausible value of a type, for a default the request overrides. */
  alternative(type, value) {
    const base = type.replace(/!$/, '');
    if (base === 'Boolean') return !value;
    if (base === 'Int') return this.rng.int(0, 3);
    return value;
  }

  // ---- values

  pickRecord(kind) {
    const p = this.pools;
    const pool = p[kind];
    return pool.length ? this.rng.pick(pool) : null;
  }

  /** An id for a lookup; `kind` is what the field returns. */
  id(kind) {
    const rng = this.rng;
    const p = this.pools;
    const roll = rng();
    if (roll < 0.08) return rng.pick(p.unknownIds);
    if (roll < 0.25) {
      // Another kind's id.
      const other = rng.pick(['userSessions', 'appSessions', 'applications', 'users', 'userAgents']);
      return this.pickRecord(other)?.id ?? 'nope';
    }
    const choices = {
      Node: ['userSessions', 'userSessions', 'nestedSessions', 'appSessions', 'applications', 'users', 'userAgents'],
      Session: ['userSessions', 'nestedSessions', 'appSessions'],
      Application: ['applications'],
      User: ['users'],
      UserAgent: ['userAgents'],
    }[kind];
    let rec = this.pickRecord(rng.pick(choices));
    if (!rec) rec = this.pickRecord('sessions');
    const id = rec ? rec.id : 'nope';
    return rng.chance(0.03) ? `\u0001block:${id}` : id; // printed as a block string
  }

  zone() {
    const rng = this.rng;
    const roll = rng();
    if (roll < 0.75) return this.pools.mainZone;
    if (roll < 0.92) return rng.pick(this.pools.zones);
    return rng.pick(['zone_404', 'zone_999']);
  }

  order() {
    const rng = this.rng;
    return {
      field: { enum: rng.pick(['CREATED_AT', 'CREATED_AT', 'EXPIRES_AT', 'AUTHENTICATED_AT']) },
      direction: { enum: rng.pick(['ASC', 'DESC']) },
    };
  }

  filter(owner) {
    const rng = this.rng;
    const p = this.pools;
    const f = {};
    if (rng.chance(0.3)) f.type = rng.chance(0.15) ? null : { enum: rng.pick(['USER', 'APPLICATION']) };
    if (rng.chance(0.35)) {
      const roll = rng();
      if (roll < 0.1) f.status = [];
      else if (roll < 0.2) f.status = { enum: rng.pick(['ACTIVE', 'EXPIRED', 'REVOKED']) }; // coerced to a list
      else if (roll < 0.25) f.status = null;
      else {
        const all = ['ACTIVE', 'EXPIRED', 'REVOKED'];
        f.status = all.filter(() => rng.chance(0.5)).map((e) => ({ enum: e }));
        if (rng.chance(0.2) && f.status.length) f.status.push(f.status[0]);
      }
    }
    if (rng.chance(owner === 'User' ? 0.1 : 0.2)) f.userId = rng.chance(0.8) && p.busyUsers.length ? rng.pick(p.busyUsers) : this.id('User');
    if (rng.chance(0.15)) f.applicationId = rng.chance(0.8) && p.busyApps.length ? rng.pick(p.busyApps) : this.id('Application');
    if (rng.chance(0.12)) f.userAgentId = rng.chance(0.8) && p.busyAgents.length ? rng.pick(p.busyAgents) : this.id('UserAgent');
    if (rng.chance(0.5)) f.includeNested = rng.chance(0.15) ? null : rng.chance(0.6);
    // Now and then a field's value is a variable of its own.
    const types = { type: 'SessionType', status: '[SessionStatus!]', userId: 'ID', applicationId: 'ID', userAgentId: 'ID', includeNested: 'Boolean' };
    for (const k of Object.keys(f)) {
      if (rng.chance(0.12)) f[k] = nestedVariable(types[k], plain(f[k]));
    }
    return f;
  }

  /** A cursor for a list of `order` (sessions, or created_at DESC lists of `kind`). */
  cursor(order, kind) {
    const rng = this.rng;
    const roll = rng();
    if (roll < 0.08) {
      return rng.pick([
        'not a cursor',
        'Y3JlYXRlZF9hdHxkZXNjfA', // "created_at|desc|" (too few parts)
        Buffer.from('created_at|desc|abc|ses_1').toString('base64url'),
        Buffer.from('created_at|sideways|1|ses_1').toString('base64url'),
        Buffer.from('created_at|desc|1|').toString('base64url'),
        Buffer.from('created_at|desc|1|x').toString('base64'), // padded
        Buffer.from('created_at|desc|99999999999999999999|x').toString('base64url'),
        '',
        '!!!',
      ]);
    }
    const column = { CREATED_AT: 'created_at', EXPIRES_AT: 'expires_at', AUTHENTICATED_AT: 'authenticated_at' };
    let o = order ? { column: column[order.field.enum], descending: order.direction.enum === 'DESC' } : DEFAULT_ORDER;
    if (roll < 0.14) {
      // A cursor of another order.
      o = { column: rng.pick(Object.values(column)), descending: !o.descending };
    }
    const keyField = { created_at: 'createdAt', expires_at: 'expiresAt', authenticated_at: 'authenticatedAt' }[o.column];
    if (roll < 0.22) {
      // A position no row holds.
      const key = rng.chance(0.2) ? null : 1_790_000_000_000_000 + rng.int(-90_000_000, 90_000_000) * 1_000_000;
      return encodeCursor(o, key, rng.pick(['ses_8', 'ses_', 'ses_zzzz', 'a', 'app_0', 'usr_f']));
    }
    const pool = kind === 'Session' ? 'sessions' : { Application: 'applications', User: 'users', UserAgent: 'userAgents' }[kind];
    const rec = this.pickRecord(pool);
    if (!rec) return 'x';
    return encodeCursor(o, rec[keyField] ?? null, rec.id);
  }

  /** An argument value: literal or variable. */
  value(type, v, opts) {
    if (this.rng.chance(0.18)) return this.variable(type, plain(v), opts);
    return literal(v, ({ type: t, value }) => this.variable(t, value));
  }

  /** first/last/after/before; bad values more often in nested lists, whose errors travel up item paths. */
  pageArgs(kind, order, nested) {
    const rng = this.rng;
    const args = [];
    const bad = nested ? 10 : 1.3;
    const count = () => rng.weighted([[3, 0], [10, 1], [10, 2], [8, 3], [1, 5], [bad, -1], [bad, 101], [0.4, 100]]);
    const roll = rng();
    if (roll < 0.6) args.push(['first', 'Int', count()]);
    else if (roll < 0.75) args.push(['last', 'Int', count()]);
    else if (roll < (nested ? 0.8 : 0.79)) args.push(['first', 'Int', rng.int(0, 2)], ['last', 'Int', rng.int(0, 2)]);
    else if (roll < 0.82) args.push(['first', 'Int', null]);
    if (rng.chance(0.14)) args.push(['after', 'String', this.cursor(order, kind)]);
    if (rng.chance(0.1)) args.push(['before', 'String', this.cursor(order, kind)]);
    return args;
  }

  /** Arguments of a field: [name, variable type, plain value] triples. */
  argsFor(parent, field, conn = 0) {
    const rng = this.rng;
    const ret = getNamedType(field.type).name;
    const name = field.name;
    if (parent.name === 'Query') {
      if (['node', 'session', 'application', 'user', 'userAgent'].includes(name)) {
        const kind = { node: 'Node', session: 'Session', application: 'Application', user: 'User', userAgent: 'UserAgent' }[name];
        if (rng.chance(0.03)) return [['id', 'ID!', rng.int(1, 99)]]; // an Int literal coerced to ID
        return [['id', 'ID!', this.id(kind)]];
      }
      if (name === 'nodes') {
        const n = rng.int(1, 4);
        return [['ids', '[ID!]!', Array.from({ length: n }, () => this.id('Node'))]];
      }
    }
    if (parent.name === 'Query' && name === 'sessionStats') {
      const args = [['zoneId', 'ID!', this.zone()]];
      if (rng.chance(0.5)) args.push(['filter', 'SessionFilter', this.filter('Zone')]);
      return args;
    }
    if (parent.name.startsWith('__')) {
      return field.args.some((a) => a.name === 'includeDeprecated') && rng.chance(0.4)
        ? [['includeDeprecated', 'Boolean', rng.chance(0.7)]]
        : [];
    }
    if (name === 'byApplication' || name === 'byUserAgent') {
      if (!rng.chance(0.6)) return [];
      return [['first', 'Int', rng.weighted([[2, 0], [6, 1], [6, 2], [4, 3], [1, null], [0.5, -1], [0.5, 101]])]];
    }
    if (!ret.endsWith('Connection')) return [];
    const args = [];
    if (parent.name === 'Query') args.push(['zoneId', 'ID!', this.zone()]);
    const isSessions = ret === 'SessionConnection';
    let order = null;
    if (isSessions) {
      if (rng.chance(0.35)) args.push(['filter', 'SessionFilter', this.filter(parent.name)]);
      if (rng.chance(0.3)) {
        order = rng.chance(0.05) ? null : this.order();
        args.push(['orderBy', 'SessionOrder', order]);
      }
    }
    const kind = isSessions ? 'Session' : ret.replace('Connection', '');
    args.push(...this.pageArgs(kind, order, conn > 0));
    if (name === 'descendants' && rng.chance(0.5)) {
      args.push(['maxDepth', 'Int', rng.weighted([[6, 1], [4, 2], [2, 3], [1, null], [0.5, 0], [0.5, -2]])]);
    }
    return rng.chance(0.3) ? shuffle(rng, args) : args;
  }

  argumentNodes(triples) {
    return triples.map(([n, type, v]) => {
      const nullable = !type.endsWith('!');
      return argument(n, this.value(type, v, { allowOmit: nullable || true, allowDefault: true }));
    });
  }

  directives() {
    const rng = this.rng;
    if (!rng.chance(0.12)) return undefined;
    const one = (name) => {
      const v = rng.chance(0.5);
      let node;
      if (rng.chance(0.55)) {
        const type = rng.chance(0.5) ? 'Boolean!' : 'Boolean';
        if (type === 'Boolean') {
          // Nullable in a non-null position: only with a default.
          const defaultValue = rng.chance(0.5) ? v : !v;
          const given = rng.chance(0.5) ? undefined : v;
          const varName = this.fresh('b');
          this.variables.push({ name: varName, type, defaultValue, value: given === undefined ? undefined : given });
          node = variableNode(varName);
        } else {
          node = this.variable('Boolean!', v, { allowDefault: rng.chance(0.3), allowOmit: true });
        }
      } else node = boolValue(v);
      return { kind: Kind.DIRECTIVE, name: nameNode(name), arguments: [argument('if', node)] };
    };
    const roll = rng();
    if (roll < 0.45) return [one('skip')];
    if (roll < 0.9) return [one('include')];
    return [one('include'), one('skip')];
  }

  // ---- selections

  /** A non-empty selection set on `type` at response path `path`. */
  selections(type, path, level, conn, { root = false } = {}) {
    const rng = this.rng;
    let count = root ? rng.weighted([[4, 1], [4, 2], [2, 3], [1, 4]]) : rng.weighted([[3, 1], [4, 2], [3, 3], [2, 4], [1, 6]]);
    if (this.size > this.maxSize) count = 1;
    const out = [];
    for (let i = 0; i < count * 3 && out.length < count; i++) {
      const s = this.selection(type, path, level, conn, root);
      if (s) out.push(...(Array.isArray(s) ? s : [s]));
    }
    if (!out.length) out.push(this.typename(type, path, false));
    return out;
  }

  selection(type, path, level, conn, root) {
    const rng = this.rng;
    this.size += 1;
    const union = !isObjectType(type) && !type.getFields;
    const deep = level >= MAX_LEVEL || this.size > this.maxSize;
    const kind = rng.weighted([
      [union ? 0 : 64, 'field'],
      [union ? 25 : 7, 'typename'],
      [union ? 30 : 10, 'inline'],
      [union ? 8 : 5, 'untyped'],
      [union ? 25 : 10, 'spread'],
      [union ? 0 : 7, 'merge'],
    ]);
    if (kind === 'typename') {
      if (root && this.introspectionOn && rng.chance(0.2)) return this.introspection(path, level, conn);
      return this.typename(type, path, true);
    }
    if (kind === 'inline' || kind === 'untyped') {
      const cond = kind === 'inline' ? rng.pick(this.conditions.get(type.name)) : null;
      const target = cond ? this.schema.getType(cond) : type;
      const node = {
        kind: Kind.INLINE_FRAGMENT,
        typeCondition: cond ? namedType(cond) : undefined,
        directives: this.directives(),
        selectionSet: selectionSet(this.selections(target, path, level, conn)),
      };
      return node;
    }
    if (kind === 'spread') return this.spread(type, path, level, conn);
    if (kind === 'merge') {
      const again = this.mergeCandidate(type, path, level, conn);
      if (again) return again;
    }
    return this.field(type, path, level, conn, deep, root);
  }

  /** `__type(name:)` or `__schema` at the root, selected like any object. */
  introspection(path, level, conn) {
    const rng = this.rng;
    const schemaField = rng.chance(0.3);
    const name = schemaField ? '__schema' : '__type';
    const own = [...this.possible.keys()].filter((n) => !n.startsWith('__'));
    const typeName = rng.pick([...own, 'SessionStatus', 'SessionFilter', 'DateTime', 'JSON', 'ID', 'String', 'Float', 'Nope']);
    const args = schemaField ? [] : [argument('name', this.value('String!', typeName, {}))];
    const key = rng.chance(0.2) ? this.fresh('i') : name;
    const types = this.possible.get('Query');
    if (!this.compatible(path, key, types, name, argsKey(args), '*')) return null;
    if (key !== name) this.aliasCount += 1;
    this.register(path, key, types, name, argsKey(args), '*');
    const builtIn = ['ID', 'String', 'Float', 'Int', 'Boolean'].includes(typeName);
    if (!schemaField && !builtIn) this.describable.add(`${path}.${key}`);
    const target = this.schema.getType(schemaField ? '__Schema' : '__Type');
    return {
      kind: Kind.FIELD,
      alias: key !== name ? nameNode(key) : undefined,
      name: nameNode(name),
      arguments: args,
      directives: this.directives(),
      selectionSet: selectionSet(this.selections(target, `${path}.${key}`, level + 1, conn)),
    };
  }

  typename(type, path, mayAlias) {
    const rng = this.rng;
    const types = this.possible.get(type.name);
    let key = '__typename';
    let alias;
    if (mayAlias && rng.chance(0.25)) {
      alias = rng.chance(0.5) ? rng.pick(ALIASES) : rng.pick(['kind', 't', '__typename']);
      key = alias;
    }
    if (!this.compatible(path, key, types, '__typename', '', 'String!')) {
      alias = this.fresh('t');
      key = alias;
    }
    if (alias && alias !== '__typename') this.aliasCount += 1;
    this.register(path, key, types, '__typename', '', 'String!');
    return {
      kind: Kind.FIELD,
      alias: alias ? nameNode(alias) : undefined,
      name: nameNode('__typename'),
      directives: this.directives(),
    };
  }

  field(type, path, level, conn, deep, root, forced) {
    const rng = this.rng;
    const fields = Object.values(type.getFields());
    let def = forced?.def;
    if (!def) {
      const weighted = [];
      for (const f of fields) {
        if (this.exclude.has(`${type.name}.${f.name}`) || UNORDERED.has(`${type.name}.${f.name}`)) continue;
        if (type.name === '__Type' && f.name === 'description' && (this.open.length || !this.describable.has(path))) continue;
        const named = getNamedType(f.type);
        const isConnection = named.name.endsWith('Connection');
        if (isLeafType(named)) weighted.push([3, f]);
        else if (isConnection) {
          if (!deep && conn < MAX_CONNECTIONS && level <= MAX_LEVEL - 3) weighted.push([root ? 4 : conn >= 1 ? 6 : 3, f]);
        } else if (!deep) weighted.push([root ? 3 : 2, f]);
      }
      if (root) weighted.push([0.5, null]); // __typename at the root
      if (!weighted.length) return this.typename(type, path, true);
      def = rng.weighted(weighted);
      if (!def) return this.typename(type, path, true);
    }
    const types = this.possible.get(type.name);
    const shape = shapeOf(def.type);
    const args = forced ? forced.args : this.argumentNodes(this.argsFor(type, def, conn));
    const key0 = def.name;
    let alias = forced?.alias;
    const leaf = isLeafType(getNamedType(def.type));
    if (!forced && rng.chance(leaf ? 0.18 : 0.1)) alias = rng.chance(0.7) ? rng.pick(ALIASES) : this.fresh('a');
    let key = alias ?? key0;
    const argText = argsKey(args);
    if (!this.compatible(path, key, types, def.name, argText, shape)) {
      if (forced) return null;
      alias = this.fresh('a');
      key = alias;
    }
    if (alias && alias !== def.name) {
      if (this.aliasCount >= BUDGET.aliases - 2) return null;
      this.aliasCount += 1;
    }
    this.register(path, key, types, def.name, argText, shape);
    if (type.name === '__Schema' && ['queryType', 'mutationType', 'subscriptionType'].includes(def.name)) {
      this.describable.add(`${path}.${key}`);
    }
    const named = getNamedType(def.type);
    const isConnection = named.name.endsWith('Connection');
    this.reached(level, conn + (isConnection ? 1 : 0));
    const node = {
      kind: Kind.FIELD,
      alias: alias && alias !== def.name ? nameNode(alias) : undefined,
      name: nameNode(def.name),
      arguments: args,
      directives: this.directives(),
    };
    if (isCompositeType(named)) {
      node.selectionSet = selectionSet(this.selections(named, `${path}.${key}`, level + 1, conn + (isConnection ? 1 : 0)));
    }
    const out = [node];
    // Two aliases of one connection with different arguments.
    if (!forced && isConnection && rng.chance(0.2)) {
      const twin = this.field(type, path, level, conn, deep, root, {
        def,
        args: this.argumentNodes(this.argsFor(type, def, conn)),
        alias: this.fresh('c'),
      });
      if (twin) out.push(...twin);
    }
    return forced ? out : out.length === 1 ? out[0] : out;
  }

  /** The same response key again (field merging), with a new sub-selection. */
  mergeCandidate(type, path, level, conn) {
    const rng = this.rng;
    const keys = this.registry.get(path);
    if (!keys) return null;
    const types = this.possible.get(type.name);
    const fields = type.getFields();
    const candidates = [];
    for (const [key, at] of keys) {
      for (const e of at.entries) {
        if (e.name === '__typename' || !fields[e.name]) continue;
        if (![...e.types].some((t) => types.has(t))) continue;
        candidates.push({ key, entry: e });
      }
    }
    if (!candidates.length) return null;
    const { key, entry } = rng.pick(candidates);
    const def = fields[entry.name];
    const named = getNamedType(def.type);
    if (isCompositeType(named) && level >= MAX_LEVEL) return null;
    const isConnection = named.name.endsWith('Connection');
    if (isConnection && conn >= MAX_CONNECTIONS) return null;
    // The same arguments, as the argument nodes registered under their text.
    const args = entry.args === '' ? [] : this.argsByText.get(entry.args);
    if (!args) return null;
    return this.field(type, path, level, conn, false, false, { def, args, alias: key === def.name ? undefined : key })?.[0] ?? null;
  }

  spread(type, path, level, conn) {
    const rng = this.rng;
    const cond = this.conditions.get(type.name);
    const reusable = this.fragments.filter(
      (f) =>
        cond.includes(f.cond) &&
        level + f.relLevel - 1 <= MAX_LEVEL + 1 &&
        conn + f.relConn <= MAX_CONNECTIONS &&
        this.replayable(f, path),
    );
    let fragment;
    if (reusable.length && rng.chance(0.45)) {
      fragment = rng.pick(reusable);
      this.replay(fragment, path);
    } else {
      const name = this.fresh('F');
      const target = rng.pick(cond);
      const frame = { base: path, records: [], maxLevel: level, maxConn: conn };
      this.open.push(frame);
      const body = this.selections(this.schema.getType(target), path, level, conn);
      this.open.pop();
      fragment = {
        name,
        cond: target,
        selections: body,
        records: frame.records,
        relLevel: frame.maxLevel - level + 1,
        relConn: frame.maxConn - conn,
      };
      this.fragments.push(fragment);
      for (const f of this.open) {
        f.maxLevel = Math.max(f.maxLevel, frame.maxLevel);
        f.maxConn = Math.max(f.maxConn, frame.maxConn);
      }
    }
    return { kind: Kind.FRAGMENT_SPREAD, name: nameNode(fragment.name), directives: this.directives() };
  }

  build() {
    const rng = this.rng;
    this.argsByText = new Map();
    // Remember argument lists by their text, for field merging.
    const argumentNodes = this.argumentNodes.bind(this);
    this.argumentNodes = (triples) => {
      const nodes = argumentNodes(triples);
      this.argsByText.set(argsKey(nodes), nodes);
      return nodes;
    };
    const query = this.schema.getQueryType();
    const selections = this.selections(query, '', 1, 0, { root: true });
    const second = rng.chance(0.1);
    const named = second || this.variables.length > 0 || rng.chance(0.5);
    const operationName = named ? `Q${rng.int(0, 9)}` : undefined;
    const operation = {
      kind: Kind.OPERATION_DEFINITION,
      operation: OperationTypeNode.QUERY,
      name: operationName ? nameNode(operationName) : undefined,
      variableDefinitions: this.variables.map((v) => ({
        kind: Kind.VARIABLE_DEFINITION,
        variable: variableNode(v.name),
        type: typeNode(v.type),
        defaultValue: v.defaultValue === undefined ? undefined : literal(v.defaultValue),
      })),
      directives: [],
      selectionSet: selectionSet(selections),
    };
    const fragments = this.fragments.map((f) => ({
      kind: Kind.FRAGMENT_DEFINITION,
      name: nameNode(f.name),
      typeCondition: namedType(f.cond),
      directives: [],
      selectionSet: selectionSet(f.selections),
    }));
    // Fragments before or after the operation: either is legal.
    let definitions = rng.chance(0.3) ? [...fragments, operation] : [operation, ...fragments];
    let chosen = operationName && rng.chance(0.8) ? operationName : undefined;
    if (second) {
      // Another operation in the document: the request names which one runs.
      const other = {
        kind: Kind.OPERATION_DEFINITION,
        operation: OperationTypeNode.QUERY,
        name: nameNode('Other'),
        variableDefinitions: [],
        directives: [],
        selectionSet: selectionSet(
          rng.chance(0.5)
            ? [{ kind: Kind.FIELD, name: nameNode('__typename') }]
            : [{ kind: Kind.FIELD, name: nameNode('node'), arguments: [argument('id', stringValue(this.id('Node')))], selectionSet: selectionSet([{ kind: Kind.FIELD, name: nameNode('id') }]) }],
        ),
      };
      definitions = rng.chance(0.5) ? [other, ...definitions] : [...definitions, other];
      chosen = rng.chance(0.25) ? 'Other' : operationName;
    }
    const variables = {};
    for (const v of this.variables) if (v.value !== undefined) variables[v.name] = json(v.value);
    return {
      document: { kind: Kind.DOCUMENT, definitions },
      variables,
      operationName: chosen,
    };
  }
}

function shuffle(rng, items) {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * The generator: `generate(index)` gives document `index` of `seed` as
 * {query, variables, operationName, document, attempts}.
 */
export function createGenerator({ schema, store, seed, budget = BUDGET, exclude = new Set(), introspection = true }) {
  const pools = poolsOf(store);
  const stats = { invalid: 0, overBudget: 0, invalidSamples: [] };
  function generate(index) {
    for (let attempt = 0; attempt < 200; attempt++) {
      const rng = makeRng(`${seed}/${index}/${attempt}`);
      const built = new DocumentBuilder(schema, pools, rng, exclude, introspection).build();
      const errors = validate(schema, built.document);
      if (errors.length) {
        stats.invalid += 1;
        if (stats.invalidSamples.length < 5) stats.invalidSamples.push(errors[0].message);
        continue;
      }
      if (!withinLimits(measure(built.document, built.variables, built.operationName), budget)) {
        stats.overBudget += 1;
        continue;
      }
      return {
        query: print(built.document),
        variables: built.variables,
        operationName: built.operationName,
        document: built.document,
        attempts: attempt + 1,
      };
    }
    throw new Error(`no valid document within 200 attempts for ${seed}/${index}`);
  }
  return { generate, stats, pools };
}

// --------------------------------------------------------------------- CLI

const here = path.dirname(fileURLToPath(import.meta.url));

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const opt = (n, d) => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : d);
  const datasetPath = opt('--dataset');
  if (!datasetPath) {
    console.error(`usage: node ${path.relative(process.cwd(), path.join(here, 'generate.mjs'))} --dataset FILE [--seed S] [--count N] [--start I]`);
    process.exit(2);
  }
  const store = loadDataset(JSON.parse(readFileSync(datasetPath, 'utf8')));
  const schema = buildReferenceSchema();
  const gen = createGenerator({ schema, store, seed: opt('--seed', 'conformance') });
  const start = Number(opt('--start', 0));
  const count = Number(opt('--count', 5));
  for (let i = start; i < start + count; i++) {
    const d = gen.generate(i);
    console.log(`# ${i} (attempts ${d.attempts}, measured ${JSON.stringify(measure(d.document, d.variables, d.operationName))})`);
    console.log(d.query);
    console.log(`# variables: ${JSON.stringify(d.variables)}${d.operationName ? ` operationName: ${d.operationName}` : ''}\n`);
  }
  console.error(`invalid drafts: ${gen.stats.invalid}, over budget: ${gen.stats.overBudget}`, gen.stats.invalidSamples);
}
