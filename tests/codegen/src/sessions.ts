// A frontend's sessions list, as a team writes it against the schema: the
// fields both session types share are selected once, on IdentitySession,
// and read without narrowing to UserSession or ApplicationSession.
import { graphql } from "./gql";
import type { SessionFieldsFragment, SessionsQuery } from "./gql/graphql";

export const SessionFields = graphql(`
  fragment SessionFields on IdentitySession {
    id
    status
    expiresAt
    application { name }
  }
`);

export const Sessions = graphql(`
  query Sessions($zoneId: ID!) {
    sessions(zoneId: $zoneId, first: 10) {
      nodes {
        __typename
        ...SessionFields
        ... on UserSession { depth user { email } }
      }
    }
  }
`);

// Every shared field, once, whatever the member.
export function describe(session: SessionFieldsFragment): string {
  const application: string = session.application?.name ?? "no application";
  const status: "ACTIVE" | "EXPIRED" | "REVOKED" = session.status;
  const expires: unknown = session.expiresAt;
  return `${session.id} ${status} ${application} ${String(expires)}`;
}

// What only one member has still needs narrowing.
export function depthOf(node: SessionsQuery["sessions"]["nodes"][number]): number | null {
  // @ts-expect-error: depth is UserSession's own field
  const unnarrowed: number = node.depth;
  void unnarrowed;
  return node.__typename === "UserSession" ? node.depth : null;
}

// The fragment's type for either member carries the same fields with the
// same types (never an empty match: both name `status`).
type Member<Name extends string> = Omit<
  Extract<SessionFieldsFragment, { " $fragmentName"?: Name }>,
  " $fragmentName"
>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const sameFieldsOnBothMembers: Same<
  Member<"SessionFields_UserSession_Fragment">,
  Member<"SessionFields_ApplicationSession_Fragment">
> = true;
export const readsStatus: "status" extends keyof Member<"SessionFields_UserSession_Fragment">
  ? true
  : false = true;
