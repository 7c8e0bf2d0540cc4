// Each client sends its own ids to a gateway that loaded the manifests its
// tool wrote and runs nothing else (--trusted-documents-only).
//
//   node e2e.mjs GRAPHQL_URL SESSION_ID ZONE_ID
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import relayRuntime from "relay-runtime";
import { ApolloClient, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { generatePersistedQueryIdsFromManifest } from "@apollo/persisted-query-lists";

import SessionStatusQuery from "./src/relay/__generated__/SessionStatusQuery.graphql.js";
import { SESSION_USER } from "./src/apollo/queries.js";
import { SessionStats, execute } from "./out/js/codegen/sessions.js";

const [url, sessionId, zoneId] = process.argv.slice(2);
const { Environment, Network, RecordSource, Store, fetchQuery } = relayRuntime;

test("Relay's runtime sends the compiler's doc_id", async () => {
  const sent = [];
  const network = Network.create(async (params, variables) => {
    sent.push(params);
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ doc_id: params.id, variables }),
    });
    return response.json();
  });
  const environment = new Environment({ network, store: new Store(new RecordSource()) });
  const data = await fetchQuery(environment, SessionStatusQuery, { id: sessionId }).toPromise();
  assert.equal(sent[0].text, null, "the artifact still holds the text");
  assert.equal(data.session.id, sessionId);
  assert.equal(typeof data.session.status, "string");
});

test("Apollo Client's persisted query link sends the manifest's hashes", async () => {
  const manifest = JSON.parse(readFileSync("out/persisted-query-manifest.json", "utf8"));
  const bodies = [];
  const link = new PersistedQueryLink(
    generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest }),
  ).concat(
    new HttpLink({
      uri: url,
      fetch: (input, init) => {
        bodies.push(JSON.parse(init.body));
        return fetch(input, init);
      },
    }),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const { data, error } = await client.query({ query: SESSION_USER, variables: { id: sessionId } });
  assert.equal(error, undefined);
  assert.equal(bodies.length, 1);
  assert.equal(bodies[0].query, undefined, "the link sent the text");
  assert.equal(
    bodies[0].extensions.persistedQuery.sha256Hash,
    manifest.operations[0].id,
  );
  assert.equal(data.session.id, sessionId);
  assert.match(data.session.user.email, /@/);
});

test("GraphQL Code Generator's documents carry the hash the fetcher sends", async () => {
  const { data, errors } = await execute(url, SessionStats, { zone: zoneId });
  assert.equal(errors, undefined);
  assert.ok(data.sessionStats.total > 0, JSON.stringify(data));
});

test("text is refused", async () => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
    body: JSON.stringify({ query: "{ __typename }" }),
  });
  assert.equal(response.status, 400);
  const body = await response.json();
  assert.equal(body.errors[0].extensions.code, "TRUSTED_DOCUMENT_REQUIRED");
});
