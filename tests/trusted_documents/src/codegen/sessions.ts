// A typed client of GraphQL Code Generator's client preset: the fetcher
// sends only the document's hash (`documentId`), never its text.
import { graphql } from "../gql/index.js";
import type { TypedDocumentString } from "../gql/graphql.js";

export const SessionStats = graphql(`
  query SessionStats($zone: ID!) {
    sessionStats(zoneId: $zone) {
      total
    }
  }
`);

export async function execute<Result, Variables>(
  url: string,
  document: TypedDocumentString<Result, Variables>,
  variables: Variables,
): Promise<{ data?: Result; errors?: unknown[] }> {
  const meta = document.__meta__ as { hash: string } | undefined;
  if (!meta) throw new Error("the document carries no persisted hash");
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
    body: JSON.stringify({ documentId: meta.hash, variables }),
  });
  return (await response.json()) as { data?: Result; errors?: unknown[] };
}
