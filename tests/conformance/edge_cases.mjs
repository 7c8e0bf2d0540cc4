#!/usr/bin/env node
// Adds hand-made edge cases to a `sessiongraph seed --out` document, so that
// the differential test meets what the seed never writes:
//
// - sessions sharing one createdAt (the id tie-break), ids whose byte order
//   differs from a locale's (upper case, `_`, `~`, non-ASCII, a `|`);
// - sessions without createdAt / authenticatedAt / expiresAt (nulls last);
// - timestamps with offsets, whole milliseconds and microseconds, before 1970;
// - stored `active` with an expiry in the past or the future, stored
//   `expired` with a future expiry, stored `revoked`;
// - sessions without application, user agent, metadata, session data,
//   organization; nested session data with keys out of byte order;
// - applications with empty metadata / protocols / oauth2 and empty lists.
//
// The output is the same on every run: expiries are decades away from any
// test run, either side.
//
//   node edge_cases.mjs IN.json OUT.json

import { readFileSync, writeFileSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node edge_cases.mjs IN.json OUT.json');
  process.exit(2);
}
const doc = JSON.parse(readFileSync(input, 'utf8'));
for (const k of ['applications', 'users', 'user_agents', 'sessions']) doc[k] ??= [];

const zone = doc.sessions[0]?.zone_id ?? 'zone_001';
const org = doc.users.find((u) => u.zone_id === zone)?.organization_id ?? 'org_001';
const future = '2099-06-30T12:00:00Z';
const past = '2001-01-01T00:00:00.5+01:00';

doc.applications.push(
  {
    id: 'app_Edge_1',
    zone_id: zone,
    organization_id: org,
    created_at: '2026-05-05T10:00:00+02:00',
    updated_at: '2026-05-05T08:00:00.000001Z',
    dependencies_count: 0,
    identifier: 'edge-one',
    name: 'Edge One',
    owner_type: 'platform',
    slug: 'edge-one',
    metadata: {},
    protocols: { oauth2: { redirect_uris: [], post_logout_redirect_uris: null } },
  },
  {
    id: 'app_edge_2',
    zone_id: zone,
    organization_id: org,
    created_at: '2026-05-05T08:00:00Z', // the same instant as app_Edge_1
    updated_at: '2026-05-05T08:00:00.5Z',
    dependencies_count: 3,
    identifier: 'edge-two',
    name: 'Edge Two',
    owner_type: 'customer',
    slug: 'edge-two',
    description: 'Ünïcödé',
    protocols: {},
  },
  {
    id: 'app_edge_3',
    zone_id: zone,
    organization_id: org,
    created_at: '1969-12-31T23:59:59.75Z',
    updated_at: '1970-01-01T00:00:00Z',
    dependencies_count: 1,
    identifier: 'edge-three',
    name: 'Edge Three',
    owner_type: 'customer',
    slug: 'edge-three',
    metadata: { docs_url: null },
    protocols: { oauth2: {} },
  },
);
doc.users.push(
  {
    id: 'usr_Edge',
    zone_id: zone,
    organization_id: org,
    created_at: '2026-05-05T08:00:00Z',
    updated_at: '2026-05-05T08:00:00.123456Z',
    email: 'edge@example.com',
    email_verified: false,
  },
  {
    id: 'usr_edge',
    zone_id: zone,
    organization_id: org,
    created_at: '2026-05-05T08:00:00Z',
    updated_at: '2026-05-05T08:00:00Z',
    email: 'edge2@example.com',
    email_verified: true,
    authenticated_at: '2026-05-06T00:00:00.100-01:30',
    issuer: 'https://idp.example.com',
    provider_id: 'prv_edge',
    subject: 'edge-subject',
  },
);
doc.user_agents.push({
  id: 'ua_edge',
  zone_id: zone,
  organization_id: org,
  created_at: '2026-05-05T08:00:00Z',
  updated_at: '2026-05-05T08:00:00Z',
  identifier: `ua:${'ab'.repeat(32)}`,
  name: 'Edge Browser',
  slug: 'edge-browser',
});

const tie = '2026-05-05T08:00:00Z';
const user = (id, extra) => ({ session_type: 'user', id, zone_id: zone, user_id: 'usr_Edge', ...extra });
doc.sessions.push(
  // Same createdAt: ordered by id bytes ('A' < 'Z' < '_' < 'a' < '~' < 'é').
  user('ses_edge_a', { created_at: tie, expires_at: future, organization_id: org, user_agent_id: 'ua_edge', application_id: 'app_Edge_1' }),
  user('ses_edge_Z', { created_at: tie, expires_at: past, authenticated_at: tie, organization_id: org, application_id: 'app_Edge_1' }),
  user('ses_edge_~', { created_at: tie, status: 'expired', expires_at: future, authenticated_at: tie, user_agent_id: 'ua_edge' }),
  user('ses_edge_é', { created_at: tie, status: 'revoked', expires_at: future, application_id: 'app_edge_2' }),
  user('ses_edge_A|b', { created_at: tie, metadata: { name: 'Pipe' }, parent_id: 'ses_edge_a', user_agent_id: 'ua_edge' }),
  // Nulls last in either direction, and a deep tree in the tie.
  user('ses_edge_null1', { parent_id: 'ses_edge_A|b', session_data: { z: 1, a: { y: [1, 2.5, 'x'], b: null }, Z: true, _: 'u', é: 'e' } }),
  user('ses_edge_null2', { parent_id: 'ses_edge_null1', expires_at: past, application_id: 'app_Edge_1' }),
  user('ses_edge_null3', { parent_id: 'ses_edge_null2', created_at: '2026-05-05T10:00:00.000001+02:00', updated_at: '2026-05-05T08:00:00.999Z' }),
  // Fractional and offset timestamps.
  user('ses_edge_frac', {
    created_at: '2026-05-05T08:00:00.000001Z',
    authenticated_at: '2026-05-05T07:59:59.999999Z',
    updated_at: '2026-05-05T08:00:00.1+00:00',
    expires_at: '2030-01-01T00:00:00.123-05:00',
    issuer: '',
    subject: 'sub|with|pipes',
    provider_id: 'prv_edge',
    metadata: { name: '' },
    session_data: {},
  }),
  {
    session_type: 'application',
    id: 'ses_edge_app',
    zone_id: zone,
    application_id: 'app_edge_2',
    created_at: tie,
    status: 'active',
    session_data: { scope: 'a b', nested: { k2: 2, k1: 1 } },
  },
  {
    session_type: 'application',
    id: 'ses_edge_app_old',
    zone_id: zone,
    application_id: 'app_edge_3',
    created_at: '1969-12-31T23:59:59.5Z',
    expires_at: '1970-01-01T00:00:01Z',
    organization_id: org,
  },
);
writeFileSync(output, JSON.stringify(doc, null, 1));
