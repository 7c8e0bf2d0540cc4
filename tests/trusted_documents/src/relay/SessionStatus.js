// A Relay query as an app writes it; relay-compiler persists its text and
// leaves only its id in the artifact the runtime sends.
import { graphql } from "relay-runtime";

export const query = graphql`
  query SessionStatusQuery($id: ID!) {
    session(id: $id) {
      ... on UserSession {
        id
        status
      }
    }
  }
`;
