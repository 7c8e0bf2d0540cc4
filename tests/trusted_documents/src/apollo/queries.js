// An Apollo Client query as an app writes it; the manifest generator
// applies the client's own document transforms (`__typename`) before
// hashing, as the client does before sending.
import { gql } from "@apollo/client";

export const SESSION_USER = gql`
  query SessionUser($id: ID!) {
    session(id: $id) {
      ... on UserSession {
        id
        user {
          email
        }
      }
    }
  }
`;
