// Apollo Client's normalized cache against the real gateway: a revoke's
// `revokedSessions` updates every cached session of the subtree, and a
// fragment on `IdentitySession` reads both kinds of session, with no
// refetch. Runs in Node (the cache is the same code a browser bundle runs).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';

import { startGateway } from './gateway.mjs';

// What a frontend generates from the schema (graphql-codegen's
// fragment-matcher): without it the cache cannot match abstract fragments.
const possibleTypes = {
  Session: ['UserSession', 'ApplicationSession'],
  IdentitySession: ['UserSession', 'ApplicationSession'],
  Node: ['UserSession', 'ApplicationSession', 'Application', 'User', 'UserAgent'],
};

const TREES = gql`
  query Trees {
    sessions(zoneId: "zone_001", first: 30, filter: { status: [ACTIVE] }) {
      nodes {
        __typename
        ... on IdentitySession { id status application { name } }
        ... on UserSession {
          depth
          descendants(first: 20) { nodes { __typename ... on IdentitySession { id status } } }
        }
      }
    }
  }
`;

const REVOKE = gql`
  mutation Revoke($id: ID!) {
    updateSession(id: $id, input: { status: REVOKED }) {
      revokedCount
      revokedSessions { __typename ... on IdentitySession { id status updatedAt } }
    }
  }
`;

const STATUS = gql`fragment Status on IdentitySession { id status }`;

describe("Apollo's InMemoryCache", () => {
  let gateway;
  let stopGateway;

  before(async () => {
    ({ url: gateway, stop: stopGateway } = await startGateway());
  });

  after(async () => {
    await stopGateway?.();
  });

  test('a revoke updates every cached descendant without a refetch', async () => {
    const requests = [];
    const countingFetch = (url, init) => {
      requests.push(JSON.parse(init.body).operationName);
      return fetch(url, init);
    };
    const cache = new InMemoryCache({ possibleTypes });
    const apollo = new ApolloClient({ cache, link: new HttpLink({ uri: `${gateway}/graphql`, fetch: countingFetch }) });

    const { data } = await apollo.query({ query: TREES });
    const root = data.sessions.nodes.find(
      (s) => s.__typename === 'UserSession' && s.depth === 0 && s.descendants.nodes.some((d) => d.status === 'ACTIVE'),
    );
    assert.ok(root, 'the seeded zone has an active root with active descendants');
    const active = root.descendants.nodes.filter((d) => d.status === 'ACTIVE').map((d) => d.id);

    const { data: revoked } = await apollo.mutate({ mutation: REVOKE, variables: { id: root.id } });
    const listed = revoked.updateSession.revokedSessions.map((s) => s.id);
    assert.equal(listed.length, revoked.updateSession.revokedCount);
    assert.equal(listed[0], root.id);
    assert.deepEqual([...listed.slice(1)].sort(), [...active].sort());

    // Read from the cache only: the tree query and fragments on the interface.
    for (const id of [root.id, ...active]) {
      const cached = cache.readFragment({ id: cache.identify({ __typename: 'UserSession', id }), fragment: STATUS });
      assert.equal(cached?.status, 'REVOKED', id);
    }
    const again = apollo.readQuery({ query: TREES });
    const cachedRoot = again.sessions.nodes.find((s) => s.id === root.id);
    assert.equal(cachedRoot.status, 'REVOKED');
    for (const d of cachedRoot.descendants.nodes) {
      if (active.includes(d.id)) assert.equal(d.status, 'REVOKED', d.id);
    }
    assert.deepEqual(requests, ['Trees', 'Revoke'], 'nothing was refetched');
  });

  test('a fragment on IdentitySession reads both kinds from the cache', async () => {
    const cache = new InMemoryCache({ possibleTypes });
    const apollo = new ApolloClient({ cache, link: new HttpLink({ uri: `${gateway}/graphql` }) });
    const { data } = await apollo.query({ query: TREES });
    const kinds = new Set();
    for (const s of data.sessions.nodes) {
      const cached = cache.readFragment({ id: cache.identify(s), fragment: STATUS });
      assert.equal(cached.id, s.id);
      kinds.add(s.__typename);
    }
    assert.deepEqual([...kinds].sort(), ['ApplicationSession', 'UserSession']);
  });
});
