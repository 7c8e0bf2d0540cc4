#!/usr/bin/env node
// The reference implementation of sessiongraph's queries for the
// differential test: graphql-js executes the repository's
// schema.graphql over an import document (shared/DATASET.md) held in memory,
// with resolvers that follow SPEC §2 rule by rule:
//
// - effective status: stored `active` past `expiresAt` reads EXPIRED,
//   `revoked` always wins; filters and `active` use it;
// - lists: CREATED_AT DESC by default, ties broken by id in the sort's
//   direction comparing UTF-8 bytes, null keys last in either direction;
//   `includeNested: false` keeps depth 0 and 1 only, except in `children`;
// - Relay connections with keyset cursors byte-identical to sessiongraph's
//   (src/graphql/pagination.rs): base64url without padding of
//   `column|asc-or-desc|micros-or-empty|id`;
// - timestamps as UTC `Z`, fractional seconds only when non-zero, printed as
//   chrono's `SecondsFormat::AutoSi` does (3 digits for whole milliseconds,
//   6 otherwise);
// - errors carry `extensions.code` (BAD_USER_INPUT for bad arguments).
//
// Queries only: mutations are out of scope.
//
//   node reference.mjs --dataset FILE --port PORT   # serves POST/GET /graphql

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { GraphQLError, Kind, buildASTSchema, execute, parse, validate, visit } from 'graphql';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SCHEMA_PATH = path.resolve(here, '../../schema.graphql');

export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;
const MAX_NODES = 100;

// ---------------------------------------------------------------- timestamps

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Strict RFC 3339 with an offset, to microseconds since the epoch (truncated). */
export function parseTimestamp(text) {
  const m = RFC3339.exec(text);
  if (!m) throw new Error(`not an RFC 3339 timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const date = new Date(Date.UTC(2000, +mo - 1, +d, +h, +mi, +s));
  date.setUTCFullYear(+y);
  const seconds = date.getTime() / 1000;
  const offset = sign ? (sign === '+' ? 1 : -1) * (+oh * 3600 + +om * 60) : 0;
  const micros = frac ? Number((frac + '000000').slice(0, 6)) : 0;
  return (seconds - offset) * 1_000_000 + micros;
}

const pad = (n, w) => String(n).padStart(w, '0');

/** chrono's `to_rfc3339_opts(SecondsFormat::AutoSi, true)` of a microsecond instant. */
export function formatTimestamp(micros) {
  const fraction = ((micros % 1_000_000) + 1_000_000) % 1_000_000;
  const seconds = (micros - fraction) / 1_000_000;
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  if (fraction === 0) return `${base}Z`;
  if (fraction % 1000 === 0) return `${base}.${pad(fraction / 1000, 3)}Z`;
  return `${base}.${pad(fraction, 6)}Z`;
}

// ------------------------------------------------------------------- dataset

/** UTF-8 byte order, as SQLite's BINARY and PostgreSQL's "C" collations compare. */
export function compareBytes(a, b) {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const present = (v) => (v === undefined || v === null ? null : v);
const ts = (v) => (present(v) === null ? null : parseTimestamp(v));

/** serde_json's `Map` is a BTreeMap here: object keys come out sorted by bytes. */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value).sort(compareBytes)) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}

/** The store the resolvers read: one map per kind plus one over all ids. */
export function loadDataset(document) {
  const store = {
    sessions: new Map(),
    applications: new Map(),
    users: new Map(),
    userAgents: new Map(),
    byId: new Map(),
    zones: new Set(),
  };
  for (const a of document.applications ?? []) {
    const metadata = present(a.metadata);
    const protocols = present(a.protocols);
    const oauth2 = protocols ? present(protocols.oauth2) : null;
    const rec = {
      __typename: 'Application',
      id: a.id,
      zoneId: a.zone_id,
      organizationId: a.organization_id,
      createdAt: parseTimestamp(a.created_at),
      updatedAt: parseTimestamp(a.updated_at),
      dependenciesCount: a.dependencies_count,
      identifier: a.identifier,
      name: a.name,
      ownerType: a.owner_type.toUpperCase(),
      slug: a.slug,
      description: present(a.description),
      metadata: metadata ? { docsUrl: present(metadata.docs_url) } : null,
      protocols: protocols
        ? {
            oauth2: oauth2
              ? {
                  redirectUris: present(oauth2.redirect_uris),
                  postLogoutRedirectUris: present(oauth2.post_logout_redirect_uris),
                }
              : null,
          }
        : null,
    };
    store.applications.set(rec.id, rec);
  }
  for (const u of document.users ?? []) {
    const rec = {
      __typename: 'User',
      id: u.id,
      zoneId: u.zone_id,
      organizationId: u.organization_id,
      createdAt: parseTimestamp(u.created_at),
      updatedAt: parseTimestamp(u.updated_at),
      email: u.email,
      emailVerified: u.email_verified,
      authenticatedAt: ts(u.authenticated_at),
      issuer: present(u.issuer),
      providerId: present(u.provider_id),
      subject: present(u.subject),
    };
    store.users.set(rec.id, rec);
  }
  for (const ua of document.user_agents ?? []) {
    const rec = {
      __typename: 'UserAgent',
      id: ua.id,
      zoneId: ua.zone_id,
      organizationId: ua.organization_id,
      createdAt: parseTimestamp(ua.created_at),
      updatedAt: parseTimestamp(ua.updated_at),
      identifier: ua.identifier,
      name: ua.name,
      slug: ua.slug,
    };
    store.userAgents.set(rec.id, rec);
  }
  for (const s of document.sessions ?? []) {
    const user = s.session_type === 'user';
    const metadata = present(s.metadata);
    const data = present(s.session_data);
    const rec = {
      __typename: user ? 'UserSession' : 'ApplicationSession',
      id: s.id,
      zoneId: s.zone_id,
      storedStatus: present(s.status) ?? 'active',
      organizationId: present(s.organization_id),
      applicationId: present(s.application_id),
      userId: user ? s.user_id : null,
      userAgentId: user ? present(s.user_agent_id) : null,
      parentId: user ? present(s.parent_id) : null,
      authenticatedAt: ts(s.authenticated_at),
      createdAt: ts(s.created_at),
      updatedAt: ts(s.updated_at),
      expiresAt: ts(s.expires_at),
      issuer: present(s.issuer),
      subject: present(s.subject),
      providerId: present(s.provider_id),
      metadataName: metadata ? metadata.name : null,
      sessionData: data === null ? null : sortKeys(data),
      depth: 0,
      rootId: s.id,
    };
    store.sessions.set(rec.id, rec);
  }
  // Tree depth and root, as the importer computes them.
  for (const s of store.sessions.values()) {
    let depth = 0;
    let at = s;
    while (at.parentId !== null) {
      at = store.sessions.get(at.parentId);
      depth += 1;
    }
    s.depth = depth;
    s.rootId = at.id;
  }
  for (const kind of ['applications', 'users', 'userAgents', 'sessions']) {
    for (const rec of store[kind].values()) {
      store.byId.set(rec.id, rec);
      store.zones.add(rec.zoneId);
    }
  }
  return store;
}

// -------------------------------------------------------------------- errors

export function badInput(message) {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

// ----------------------------------------------------------- cursors, window

const COLUMN = { CREATED_AT: 'created_at', EXPIRES_AT: 'expires_at', AUTHENTICATED_AT: 'authenticated_at' };
const KEY_FIELD = { created_at: 'createdAt', expires_at: 'expiresAt', authenticated_at: 'authenticatedAt' };
export const DEFAULT_ORDER = Object.freeze({ column: 'created_at', descending: true });

const tag = (order) => (order.descending ? 'desc' : 'asc');
const describe = (order) => `${order.column} ${order.descending ? 'DESC' : 'ASC'}`;

/** The cursor of a row in a list of this order. */
export function encodeCursor(order, key, id) {
  const text = `${order.column}|${tag(order)}|${key === null ? '' : String(key)}|${id}`;
  return Buffer.from(text, 'utf8').toString('base64url');
}

// chrono's representable range (NaiveDate::MIN..=MAX), in microseconds.
function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
const MIN_MICROS = BigInt(daysFromCivil(-262143, 1, 1)) * 86_400_000_000n;
const MAX_MICROS = BigInt(daysFromCivil(262143, 1, 1)) * 86_400_000_000n - 1n;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `Cursor::decode`: the (key, id) position, or a BAD_USER_INPUT error. */
export function decodeCursor(text, order, argument) {
  const malformed = () => badInput(`\`${argument}\` is not a cursor of this list`);
  // base64 0.22's URL_SAFE_NO_PAD: no padding, no stray bits, strict alphabet.
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw malformed();
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw malformed();
  let decoded;
  try {
    decoded = utf8.decode(bytes);
  } catch {
    throw malformed();
  }
  const parts = [];
  let rest = decoded;
  for (let i = 0; i < 3; i++) {
    const at = rest.indexOf('|');
    if (at < 0) throw malformed();
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  const [field, direction, keyText] = parts;
  const id = rest;
  if (field !== order.column || direction !== tag(order)) {
    if (direction !== 'asc' && direction !== 'desc') throw malformed();
    throw badInput(
      `\`${argument}\` is a cursor for a list ordered by ${field} ${direction.toUpperCase()}, not ${describe(order)}`,
    );
  }
  let key = null;
  if (keyText !== '') {
    if (!/^[+-]?[0-9]+$/.test(keyText)) throw malformed();
    const micros = BigInt(keyText);
    if (micros < I64_MIN || micros > I64_MAX) throw malformed();
    if (micros < MIN_MICROS || micros > MAX_MICROS) throw malformed();
    key = micros;
  }
  if (id === '' || id.includes('\0')) throw malformed();
  return { key, id };
}

/** `Window::parse`: the counts first, then the cursors. */
export function parseWindow(args, order) {
  const first = args.first ?? null;
  const last = args.last ?? null;
  const after = args.after ?? null;
  const before = args.before ?? null;
  const count = (value, name) => {
    if (value < 0) throw badInput(`\`${name}\` must not be negative (got ${value})`);
    if (value > MAX_PAGE) throw badInput(`\`${name}\` must be at most ${MAX_PAGE} (got ${value})`);
    return value;
  };
  let limit;
  let backward;
  if (first !== null && last !== null) {
    throw badInput('`first` and `last` cannot be used together; page forwards with first/after or backwards with last/before');
  } else if (first !== null) {
    limit = count(first, 'first');
    backward = false;
  } else if (last !== null) {
    limit = count(last, 'last');
    backward = true;
  } else {
    limit = DEFAULT_PAGE;
    backward = before !== null && after === null;
  }
  return {
    limit,
    backward,
    after: after === null ? null : decodeCursor(after, order, 'after'),
    before: before === null ? null : decodeCursor(before, order, 'before'),
  };
}

// ------------------------------------------------------------------ ordering

/** Compares two order keys (numbers or BigInts; null = no key). */
function compareKeys(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * List order of two positions {key, id}: keyed rows first, by key then id in
 * the sort's direction; unkeyed rows after them, by id in the sort's direction.
 */
export function comparePositions(order, a, b) {
  const sign = order.descending ? -1 : 1;
  if (a.key === null || b.key === null) {
    if (a.key !== null) return -1;
    if (b.key !== null) return 1;
    return sign * compareBytes(a.id, b.id);
  }
  const byKey = compareKeys(a.key, b.key);
  if (byKey !== 0) return sign * byKey;
  return sign * compareBytes(a.id, b.id);
}

/** One page of an already filtered list, with Relay's page info. */
export function paginate(rows, order, window, keyOf) {
  const position = (row) => ({ key: keyOf(row), id: row.id });
  let list = rows
    .map((row) => ({ row, pos: position(row) }))
    .sort((x, y) => comparePositions(order, x.pos, y.pos));
  if (window.after) list = list.filter((x) => comparePositions(order, x.pos, window.after) > 0);
  if (window.before) list = list.filter((x) => comparePositions(order, x.pos, window.before) < 0);
  let page;
  let hasNextPage;
  let hasPreviousPage;
  if (window.backward) {
    const more = list.length > window.limit;
    page = window.limit === 0 ? [] : list.slice(Math.max(0, list.length - window.limit));
    hasNextPage = window.before !== null;
    hasPreviousPage = more;
  } else {
    const more = list.length > window.limit;
    page = list.slice(0, window.limit);
    hasNextPage = more;
    hasPreviousPage = window.after !== null;
  }
  const edges = page.map((x) => ({ cursor: encodeCursor(order, x.pos.key, x.row.id), node: x.row }));
  return {
    edges,
    nodes: page.map((x) => x.row),
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      startCursor: edges.length ? edges[0].cursor : null,
      endCursor: edges.length ? edges[edges.length - 1].cursor : null,
    },
  };
}

// ------------------------------------------------------------------ sessions

/** The effective status at the request's `now` (microseconds). */
export function effectiveStatus(session, now) {
  switch (session.storedStatus) {
    case 'revoked':
      return 'REVOKED';
    case 'expired':
      return 'EXPIRED';
    default:
      return session.expiresAt !== null && session.expiresAt <= now ? 'EXPIRED' : 'ACTIVE';
  }
}

const OWNER_COLUMN = { Parent: 'parentId', User: 'userId', Application: 'applicationId', UserAgent: 'userAgentId' };

/** The sessions `sessions(zoneId, filter)` would list, unpaged (also `sessionStats`). */
function criteriaOf(filter) {
  const f = filter ?? {};
  return {
    type: f.type ?? null,
    statuses: f.status ?? null,
    userId: f.userId ?? null,
    applicationId: f.applicationId ?? null,
    userAgentId: f.userAgentId ?? null,
    includeNested: f.includeNested ?? false,
  };
}

function matchesCriteria(s, criteria, now) {
  if (criteria.type === 'USER' && s.__typename !== 'UserSession') return false;
  if (criteria.type === 'APPLICATION' && s.__typename !== 'ApplicationSession') return false;
  if (criteria.statuses !== null && !criteria.statuses.includes(effectiveStatus(s, now))) return false;
  if (criteria.userId !== null && s.userId !== criteria.userId) return false;
  if (criteria.applicationId !== null && s.applicationId !== criteria.applicationId) return false;
  if (criteria.userAgentId !== null && s.userAgentId !== criteria.userAgentId) return false;
  return true;
}

/** Whether `s` lies below `ancestor`, at most `maxDepth` levels down (null: any). */
function below(ctx, s, ancestor, maxDepth) {
  let at = s;
  let levels = 0;
  while (at.parentId !== null) {
    at = ctx.store.sessions.get(at.parentId);
    levels += 1;
    if (at.id === ancestor.id) return maxDepth === null || levels <= maxDepth;
  }
  return false;
}

/** A session connection: arguments are checked when the field resolves. */
function sessionConnection(ctx, zoneId, owner, ownerId, args) {
  const orderBy = args.orderBy ?? null;
  const order = orderBy
    ? { column: COLUMN[orderBy.field], descending: orderBy.direction === 'DESC' }
    : DEFAULT_ORDER;
  const window = parseWindow(args, order);
  const criteria = criteriaOf(args.filter);
  const matches = (s) => {
    if (s.zoneId !== zoneId) return false;
    if (owner === 'Ancestor') {
      if (!below(ctx, s, ctx.store.sessions.get(ownerId), args.maxDepth ?? null)) return false;
    } else if (owner !== 'Zone' && s[OWNER_COLUMN[owner]] !== ownerId) return false;
    if (!matchesCriteria(s, criteria, ctx.now)) return false;
    // `children` and `descendants` list every depth (SPEC §2, §5).
    if (!criteria.includeNested && owner !== 'Parent' && owner !== 'Ancestor' && s.depth > 1) return false;
    return true;
  };
  const rows = [...ctx.store.sessions.values()].filter(matches);
  const field = KEY_FIELD[order.column];
  return { ...paginate(rows, order, window, (s) => s[field]), totalCount: rows.length };
}

/** `Query.sessionStats` (SPEC §5): counts over what `sessions(zoneId, filter)` lists. */
function sessionStats(ctx, zoneId, filter) {
  const criteria = criteriaOf(filter);
  const rows = [...ctx.store.sessions.values()].filter(
    (s) => s.zoneId === zoneId && matchesCriteria(s, criteria, ctx.now) && (criteria.includeNested || s.depth <= 1),
  );
  return { zoneId, rows };
}

/** The `first` of a `by*` list: 0 to 100, 10 when null. */
function top(first) {
  const n = first ?? 10;
  if (n < 0 || n > MAX_PAGE) throw badInput(`\`first\` must be between 0 and ${MAX_PAGE} (got ${n})`);
  return n;
}

/** Groups counted by key, most first, ties by key bytes; `null` keys left out. */
function ranking(rows, keyOf, limit) {
  const counts = new Map();
  for (const s of rows) {
    const k = keyOf(s);
    if (k !== null) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || compareBytes(a[0], b[0]))
    .slice(0, limit);
}

/** A root list of applications, users or user agents: newest first. */
function plainConnection(ctx, map, args) {
  const window = parseWindow(args, DEFAULT_ORDER);
  const rows = [...map.values()].filter((r) => r.zoneId === args.zoneId);
  return { ...paginate(rows, DEFAULT_ORDER, window, (r) => r.createdAt), totalCount: rows.length };
}

// ----------------------------------------------------------------- resolvers

const time = (micros) => (micros === null ? null : formatTimestamp(micros));

const sessionFields = {
  id: (s) => s.id,
  status: (s, _a, ctx) => effectiveStatus(s, ctx.now),
  active: (s, _a, ctx) => effectiveStatus(s, ctx.now) === 'ACTIVE',
  zoneId: (s) => s.zoneId,
  organizationId: (s) => s.organizationId,
  applicationId: (s) => s.applicationId,
  application: (s, _a, ctx) => {
    if (s.applicationId === null) return null;
    const app = ctx.store.applications.get(s.applicationId);
    return app && app.zoneId === s.zoneId ? app : null;
  },
  authenticatedAt: (s) => time(s.authenticatedAt),
  createdAt: (s) => time(s.createdAt),
  updatedAt: (s) => time(s.updatedAt),
  expiresAt: (s) => time(s.expiresAt),
  issuer: (s) => s.issuer,
  subject: (s) => s.subject,
  providerId: (s) => s.providerId,
  metadata: (s) => (s.metadataName === null ? null : { name: s.metadataName }),
  sessionData: (s) => s.sessionData,
};

function userSessionById(ctx, zoneId, id) {
  const s = ctx.store.sessions.get(id);
  return s && s.zoneId === zoneId && s.__typename === 'UserSession' ? s : null;
}

function inZone(map, zoneId, id) {
  const rec = map.get(id);
  return rec && rec.zoneId === zoneId ? rec : null;
}

const connectionFields = {
  edges: (c) => c.edges,
  nodes: (c) => c.nodes,
  pageInfo: (c) => c.pageInfo,
  totalCount: (c) => c.totalCount,
};

export const resolvers = {
  Query: {
    node: (_r, { id }, ctx) => ctx.store.byId.get(id) ?? null,
    nodes: (_r, { ids }, ctx) => {
      if (ids.length > MAX_NODES) throw badInput(`\`ids\` takes at most ${MAX_NODES} ids (got ${ids.length})`);
      return ids.map((id) => ctx.store.byId.get(id) ?? null);
    },
    session: (_r, { id }, ctx) => ctx.store.sessions.get(id) ?? null,
    sessions: (_r, args, ctx) => sessionConnection(ctx, args.zoneId, 'Zone', '', args),
    sessionStats: (_r, { zoneId, filter }, ctx) => sessionStats(ctx, zoneId, filter),
    application: (_r, { id }, ctx) => ctx.store.applications.get(id) ?? null,
    applications: (_r, args, ctx) => plainConnection(ctx, ctx.store.applications, args),
    user: (_r, { id }, ctx) => ctx.store.users.get(id) ?? null,
    users: (_r, args, ctx) => plainConnection(ctx, ctx.store.users, args),
    userAgent: (_r, { id }, ctx) => ctx.store.userAgents.get(id) ?? null,
    userAgents: (_r, args, ctx) => plainConnection(ctx, ctx.store.userAgents, args),
  },
  UserSession: {
    ...sessionFields,
    userId: (s) => s.userId,
    user: (s, _a, ctx) => (s.userId === null ? null : inZone(ctx.store.users, s.zoneId, s.userId)),
    userAgentId: (s) => s.userAgentId,
    userAgent: (s, _a, ctx) =>
      s.userAgentId === null ? null : inZone(ctx.store.userAgents, s.zoneId, s.userAgentId),
    parentId: (s) => s.parentId,
    parent: (s, _a, ctx) => (s.parentId === null ? null : userSessionById(ctx, s.zoneId, s.parentId)),
    root: (s, _a, ctx) => (s.rootId === s.id ? s : userSessionById(ctx, s.zoneId, s.rootId)),
    depth: (s) => s.depth,
    children: (s, args, ctx) => sessionConnection(ctx, s.zoneId, 'Parent', s.id, args),
    ancestors: (s, _a, ctx) => {
      const chain = [];
      for (let at = s; at.parentId !== null; ) {
        at = ctx.store.sessions.get(at.parentId);
        chain.unshift(at);
      }
      return chain;
    },
    descendants: (s, args, ctx) => {
      const maxDepth = args.maxDepth ?? null;
      if (maxDepth !== null && maxDepth < 1) throw badInput(`\`maxDepth\` must be at least 1 (got ${maxDepth})`);
      return sessionConnection(ctx, s.zoneId, 'Ancestor', s.id, args);
    },
  },
  SessionStats: {
    total: (st) => st.rows.length,
    byStatus: (st, _a, ctx) =>
      ['ACTIVE', 'EXPIRED', 'REVOKED'].map((status) => ({
        status,
        count: st.rows.filter((s) => effectiveStatus(s, ctx.now) === status).length,
      })),
    byType: (st) =>
      [['USER', 'UserSession'], ['APPLICATION', 'ApplicationSession']].map(([type, typename]) => ({
        type,
        count: st.rows.filter((s) => s.__typename === typename).length,
      })),
    byApplication: (st, { first }, ctx) =>
      ranking(st.rows, (s) => s.applicationId, top(first)).map(([id, count]) => ({
        application: inZone(ctx.store.applications, st.zoneId, id),
        count,
      })),
    byUserAgent: (st, { first }, ctx) =>
      ranking(st.rows, (s) => s.userAgentId, top(first)).map(([id, count]) => ({
        userAgent: inZone(ctx.store.userAgents, st.zoneId, id),
        count,
      })),
  },
  ApplicationSession: { ...sessionFields },
  Application: {
    createdAt: (a) => formatTimestamp(a.createdAt),
    updatedAt: (a) => formatTimestamp(a.updatedAt),
    sessions: (a, args, ctx) => sessionConnection(ctx, a.zoneId, 'Application', a.id, args),
  },
  User: {
    createdAt: (u) => formatTimestamp(u.createdAt),
    updatedAt: (u) => formatTimestamp(u.updatedAt),
    authenticatedAt: (u) => time(u.authenticatedAt),
    sessions: (u, args, ctx) => sessionConnection(ctx, u.zoneId, 'User', u.id, args),
  },
  UserAgent: {
    createdAt: (u) => formatTimestamp(u.createdAt),
    updatedAt: (u) => formatTimestamp(u.updatedAt),
    sessions: (u, args, ctx) => sessionConnection(ctx, u.zoneId, 'UserAgent', u.id, args),
  },
  SessionConnection: connectionFields,
  ApplicationConnection: connectionFields,
  UserConnection: connectionFields,
  UserAgentConnection: connectionFields,
};

/**
 * graphql-js schema from schema.graphql with the resolvers attached. With
 * `relaxed`, every output field is nullable: executing a document on it
 * reports every field error the document can raise at its own path (no
 * null propagation cuts sibling fields short), which `allFieldErrors` uses.
 */
export function buildReferenceSchema(sdl = readFileSync(SCHEMA_PATH, 'utf8'), { relaxed = false } = {}) {
  let ast = parse(sdl);
  if (relaxed) {
    const strip = (t) => (t.kind === Kind.NON_NULL_TYPE ? strip(t.type) : t.kind === Kind.LIST_TYPE ? { ...t, type: strip(t.type) } : t);
    ast = visit(ast, {
      FieldDefinition(node) {
        return { ...node, type: strip(node.type) };
      },
    });
  }
  const schema = buildASTSchema(ast);
  // Fields schema.graphql lacks (SPEC §5 before it lands) are skipped.
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (!type) continue;
    const defined = type.getFields();
    for (const [fieldName, resolve] of Object.entries(fields)) {
      if (defined[fieldName]) defined[fieldName].resolve = resolve;
    }
  }
  const byTypename = (value) => value.__typename;
  schema.getType('Node').resolveType = byTypename;
  schema.getType('Session').resolveType = byTypename;
  const identitySession = schema.getType('IdentitySession');
  if (identitySession) identitySession.resolveType = byTypename;
  return schema;
}

/** A fresh per-request context: the store and the request's "now". */
export function requestContext(store) {
  return { store, now: Date.now() * 1000 };
}

/**
 * Runs one request as graphql-js would serve it. `refused` when the document
 * does not parse or validate, or its variables cannot be coerced (no `data`).
 */
export function runReference(schema, store, { query, variables, operationName }) {
  let document;
  try {
    document = parse(query);
  } catch (error) {
    return { refused: true, response: { errors: [withCode(error, 'GRAPHQL_PARSE_FAILED')] } };
  }
  const invalid = validate(schema, document);
  if (invalid.length) {
    return { refused: true, response: { errors: invalid.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED')) } };
  }
  const result = execute({
    schema,
    document,
    variableValues: variables ?? undefined,
    operationName: operationName ?? undefined,
    contextValue: requestContext(store),
  });
  if (typeof result.then === 'function') throw new Error('reference resolvers must be synchronous');
  const response = JSON.parse(JSON.stringify(result));
  return { refused: !('data' in response), response };
}

/**
 * Every field error `request` can raise, as "path code" strings: the
 * document executed on the relaxed schema (see `buildReferenceSchema`).
 */
export function allFieldErrors(relaxedSchema, store, { query, variables, operationName }) {
  const result = execute({
    schema: relaxedSchema,
    document: parse(query),
    variableValues: variables ?? undefined,
    operationName: operationName ?? undefined,
    contextValue: requestContext(store),
  });
  return new Set((result.errors ?? []).filter((e) => e.path).map((e) => `${JSON.stringify(e.path)} ${e.extensions?.code}`));
}

function withCode(error, code) {
  const json = typeof error.toJSON === 'function' ? error.toJSON() : { message: String(error.message) };
  return { ...json, extensions: { ...(json.extensions ?? {}), code } };
}

// ------------------------------------------------------------- HTTP server

function argValue(argv, name) {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
}

async function serve(argv) {
  const datasetPath = argValue(argv, '--dataset');
  const port = Number(argValue(argv, '--port') ?? 4000);
  if (!datasetPath) {
    console.error('usage: node reference.mjs --dataset FILE [--port PORT]');
    process.exit(2);
  }
  const { createHandler } = await import('graphql-http/lib/use/http');
  const store = loadDataset(JSON.parse(readFileSync(datasetPath, 'utf8')));
  const schema = buildReferenceSchema();
  const handler = createHandler({ schema, context: () => requestContext(store) });
  const server = createServer((req, res) => {
    if (req.url.startsWith('/graphql')) handler(req, res);
    else {
      res.writeHead(404).end();
    }
  });
  server.listen(port, '127.0.0.1', () => {
    console.log(`reference: http://127.0.0.1:${port}/graphql (${store.sessions.size} sessions)`);
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  serve(process.argv.slice(2));
}
