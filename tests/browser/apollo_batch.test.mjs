// Apollo Client's BatchHttpLink against the real gateway: the operations of
// one tick go out as one POSTed array, and each comes back to its own
// caller, errors included. Runs in Node (the link is the same code a
// browser bundle runs; what a browser adds, CORS, is cors.test.mjs's).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { BatchHttpLink } from '@apollo/client/link/batch-http';

import { startGateway } from './gateway.mjs';

describe("Apollo's BatchHttpLink", () => {
  let gateway;
  let stopGateway;
  const posts = [];

  before(async () => {
    ({ url: gateway, stop: stopGateway } = await startGateway());
  });

  after(async () => {
    await stopGateway?.();
  });

  function client() {
    // Counts what actually goes over the wire.
    const countingFetch = (url, init) => {
      posts.push(JSON.parse(init.body));
      return fetch(url, init);
    };
    return new ApolloClient({
      cache: new InMemoryCache(),
      link: new BatchHttpLink({ uri: `${gateway}/graphql`, batchMax: 10, batchInterval: 20, fetch: countingFetch }),
    });
  }

  test('sends one array and answers every operation in order', async () => {
    const apollo = client();
    posts.length = 0;
    const [page, count, broken] = await Promise.all([
      apollo.query({
        query: gql`query Page { sessions(zoneId: "zone_001", first: 3) { nodes { __typename ... on UserSession { id } ... on ApplicationSession { id } } } }`,
      }),
      apollo.query({ query: gql`query Count { sessions(zoneId: "zone_001") { totalCount } }` }),
      apollo.query({
        query: gql`query Broken { sessions(zoneId: "zone_001", first: -1) { totalCount } }`,
        errorPolicy: 'all',
      }),
    ]);
    assert.equal(posts.length, 1, `${posts.length} POSTs`);
    assert.ok(Array.isArray(posts[0]));
    assert.deepEqual(posts[0].map((entry) => entry.operationName), ['Page', 'Count', 'Broken']);

    assert.equal(page.data.sessions.nodes.length, 3);
    assert.ok(count.data.sessions.totalCount >= 3);
    // The failing entry fails alone, with its own code.
    assert.equal(broken.error.errors[0].extensions.code, 'BAD_USER_INPUT');
  });

  test('a mutation in a batch is seen by the query after it', async () => {
    const apollo = client();
    const { data } = await apollo.query({
      query: gql`{ sessions(zoneId: "zone_001", first: 1, filter: { status: [ACTIVE], includeNested: true }) { nodes { ... on UserSession { id } ... on ApplicationSession { id } } } }`,
    });
    const id = data.sessions.nodes[0].id;
    posts.length = 0;
    const [revoked, read] = await Promise.all([
      apollo.mutate({
        mutation: gql`mutation Revoke($id: ID!) { updateSession(id: $id, input: { status: REVOKED }) { revokedCount } }`,
        variables: { id },
      }),
      apollo.query({
        query: gql`query Read($id: ID!) { session(id: $id) { ... on UserSession { id status } ... on ApplicationSession { id status } } }`,
        variables: { id },
        fetchPolicy: 'network-only',
      }),
    ]);
    assert.equal(posts.length, 1, `${posts.length} POSTs`);
    assert.ok(revoked.data.updateSession.revokedCount >= 1);
    assert.equal(read.data.session.status, 'REVOKED');
  });
});
