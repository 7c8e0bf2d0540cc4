//! Which columns a document's fields read (see `store::Projection`).
//!
//! The decision is by field name over the whole document, every operation
//! and fragment included, whatever type the field is on: asking for
//! `createdAt` anywhere loads `created_at` in every table. That errs only
//! towards loading too much, and needs no knowledge of which type a
//! selection lands on.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use rustc_hash::FxHashSet;

use crate::store::Projection;

/// The columns the fields named anywhere in `document` read.
pub fn projection_of(document: &ExecutableDocument) -> Projection {
    let mut names = FxHashSet::default();
    for (_, operation) in document.operations.iter() {
        collect_field_names(&operation.node.selection_set.node, &mut names);
    }
    for fragment in document.fragments.values() {
        collect_field_names(&fragment.node.selection_set.node, &mut names);
    }
    Projection::for_fields(|field| names.contains(field))
}

fn collect_field_names<'a>(set: &'a SelectionSet, names: &mut FxHashSet<&'a str>) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                names.insert(field.node.name.node.as_str());
                collect_field_names(&field.node.selection_set.node, names);
            }
            Selection::InlineFragment(fragment) => {
                collect_field_names(&fragment.node.selection_set.node, names);
            }
            // Fragments are walked once, from the document's definitions.
            Selection::FragmentSpread(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Table;

    fn projection(query: &str) -> Projection {
        let document = async_graphql::parser::parse_query(query).expect("test query parses");
        projection_of(&document)
    }

    #[test]
    fn unasked_columns_are_selected_as_null() {
        let p =
            projection("query { session(id: \"s\") { ... on UserSession { id user { email } } } }");
        assert_eq!(
            p.select_list(Table::Users),
            "zone_id, id, NULL AS organization_id, NULL AS created_at, NULL AS updated_at, \
             email, NULL AS email_verified, NULL AS authenticated_at, NULL AS issuer, \
             NULL AS provider_id, NULL AS subject"
        );
        assert!(
            p.select_list(Table::Sessions)
                .ends_with("NULL AS metadata_name, NULL AS session_data")
        );
    }

    #[test]
    fn fields_in_named_fragments_count() {
        let p = projection(
            "query { node(id: \"s\") { ...Claims } } \
             fragment Claims on UserSession { sessionData createdAt }",
        );
        let sessions = p.select_list(Table::Sessions);
        assert!(sessions.ends_with("CAST(session_data AS TEXT) AS session_data"));
        assert!(p.select_list(Table::Users).contains(", created_at,"));
    }
}
