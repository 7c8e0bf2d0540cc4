//! The spec's FieldsInSetCanMerge (5.3.2), as graphql-js implements it.
//!
//! Upstream keyed fields by (fragment type condition, response name) within
//! one selection set. That refused valid documents (an untyped inline
//! fragment reset the parent type, so the same alias on different fields of
//! two distinct object types "conflicted") and accepted invalid ones
//! (conflicts between the sub-selections of merged fields, or between
//! differently shaped fields, went unseen). This version collects every
//! field a selection set contributes, fragments expanded, each with the
//! parent type it was selected on, and compares the fields of each response
//! name pairwise: names and arguments must agree unless the parents are
//! distinct object types, the response shapes must agree always, and the
//! sub-selections of two fields are compared the same way, recursively.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;

use crate::{
    Pos, Positioned,
    parser::types::{Directive, Field, Selection, SelectionSet},
    registry::{MetaType, MetaTypeName, Registry},
    validation::visitor::{Visitor, VisitorContext},
};

/// Past this many field comparisons the document is refused rather than
/// validated further: distinct but mergeable repeats of composite fields
/// still compare pairwise, and validation cannot be interrupted.
const MAX_COMPARISONS: usize = 100_000;

#[derive(Default)]
pub struct OverlappingFieldsCanBeMerged {
    /// Field comparisons made so far for this document.
    comparisons: usize,
    /// Whether the budget ran out, and whether that was reported.
    exhausted: bool,
    reported_exhausted: bool,
    /// Pairs of fields already compared, keyed by their AST addresses and
    /// whether their parents were mutually exclusive. Every nested selection
    /// set is visited on its own as well, so without this the sub-selections
    /// of deep documents would be compared once per level above them.
    compared: HashMap<(usize, usize, bool), Option<String>>,
}

/// One field as a selection set contributes it.
#[derive(Clone, Copy)]
struct CollectedField<'a> {
    parent_type: Option<&'a MetaType>,
    field: &'a Positioned<Field>,
}

type FieldsByResponseName<'a> = IndexMap<&'a str, Vec<CollectedField<'a>>>;

impl<'a> Visitor<'a> for OverlappingFieldsCanBeMerged {
    fn enter_selection_set(
        &mut self,
        ctx: &mut VisitorContext<'a>,
        selection_set: &'a Positioned<SelectionSet>,
    ) {
        let mut fields = FieldsByResponseName::new();
        collect_fields(
            ctx,
            ctx.current_type(),
            selection_set,
            &mut fields,
            &mut HashSet::new(),
        );
        let mut conflicts: Vec<(Vec<Pos>, String)> = Vec::new();
        for (response_name, group) in &fields {
            let group = distinct(group);
            'pairs: for (i, a) in group.iter().enumerate() {
                for b in &group[i + 1..] {
                    if let Some(reason) = self.find_conflict(ctx, a, b, false) {
                        conflicts.push((
                            vec![a.field.pos, b.field.pos],
                            format!(
                                "Fields \"{response_name}\" conflict because {reason}. Use different aliases on the fields to fetch both if this was intentional."
                            ),
                        ));
                        break 'pairs;
                    }
                }
            }
        }
        for (locations, message) in conflicts {
            ctx.report_error(locations, message);
        }
        if self.exhausted && !self.reported_exhausted {
            self.reported_exhausted = true;
            ctx.report_error(
                vec![selection_set.pos],
                format!(
                    "The document repeats fields in more forms than can be checked for merging ({MAX_COMPARISONS} comparisons); select each field once with all it needs."
                ),
            );
        }
    }
}

impl OverlappingFieldsCanBeMerged {
    /// Why two fields of one response name cannot be merged, if they cannot.
    fn find_conflict<'a>(
        &mut self,
        ctx: &VisitorContext<'a>,
        a: &CollectedField<'a>,
        b: &CollectedField<'a>,
        parents_mutually_exclusive: bool,
    ) -> Option<String> {
        if std::ptr::eq(a.field, b.field) {
            return None;
        }
        let key = (
            a.field as *const _ as usize,
            b.field as *const _ as usize,
            parents_mutually_exclusive,
        );
        if let Some(known) = self.compared.get(&key) {
            return known.clone();
        }
        if self.exhausted {
            return None;
        }
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            // Treated as no conflict; the caller refuses the document.
            self.exhausted = true;
            return None;
        }
        // Recursion through the same pair (only possible through fragment
        // cycles, which another rule reports) ends here.
        self.compared.insert(key, None);
        let conflict = self.compare(ctx, a, b, parents_mutually_exclusive);
        self.compared.insert(key, conflict.clone());
        conflict
    }

    fn compare<'a>(
        &mut self,
        ctx: &VisitorContext<'a>,
        a: &CollectedField<'a>,
        b: &CollectedField<'a>,
        parents_mutually_exclusive: bool,
    ) -> Option<String> {
        let mutually_exclusive = parents_mutually_exclusive
            || match (a.parent_type, b.parent_type) {
                (
                    Some(MetaType::Object { name: name_a, .. }),
                    Some(MetaType::Object { name: name_b, .. }),
                ) => name_a != name_b,
                _ => false,
            };
        let (field_a, field_b) = (&a.field.node, &b.field.node);
        if !mutually_exclusive {
            if field_a.name.node != field_b.name.node {
                return Some(format!(
                    "\"{}\" and \"{}\" are different fields",
                    field_a.name.node, field_b.name.node
                ));
            }
            if !same_arguments(field_a, field_b) {
                return Some("they have differing arguments".to_string());
            }
        }

        let type_a = field_type(a);
        let type_b = field_type(b);
        if let (Some(type_a), Some(type_b)) = (type_a, type_b)
            && types_conflict(ctx.registry, type_a, type_b)
        {
            return Some(format!(
                "they return conflicting types \"{type_a}\" and \"{type_b}\""
            ));
        }

        if field_a.selection_set.node.items.is_empty() || field_b.selection_set.node.items.is_empty()
        {
            return None;
        }
        let named = |ty: Option<&str>| {
            ty.and_then(|ty| ctx.registry.types.get(MetaTypeName::concrete_typename(ty)))
        };
        let mut sub_a = FieldsByResponseName::new();
        collect_fields(
            ctx,
            named(type_a),
            &field_a.selection_set,
            &mut sub_a,
            &mut HashSet::new(),
        );
        let mut sub_b = FieldsByResponseName::new();
        collect_fields(
            ctx,
            named(type_b),
            &field_b.selection_set,
            &mut sub_b,
            &mut HashSet::new(),
        );
        for (response_name, group_a) in &sub_a {
            let Some(group_b) = sub_b.get(response_name) else {
                continue;
            };
            for sub_field_a in distinct(group_a) {
                for sub_field_b in distinct(group_b) {
                    if let Some(reason) =
                        self.find_conflict(ctx, &sub_field_a, &sub_field_b, mutually_exclusive)
                    {
                        return Some(format!(
                            "subfields \"{response_name}\" conflict because {reason}"
                        ));
                    }
                }
            }
        }
        None
    }
}

/// Adds the fields `selection_set` contributes on `parent_type`, fragments
/// expanded with their own type conditions as parents.
fn collect_fields<'a>(
    ctx: &VisitorContext<'a>,
    parent_type: Option<&'a MetaType>,
    selection_set: &'a Positioned<SelectionSet>,
    fields: &mut FieldsByResponseName<'a>,
    expanded_fragments: &mut HashSet<&'a str>,
) {
    for selection in &selection_set.node.items {
        match &selection.node {
            Selection::Field(field) => {
                fields
                    .entry(field.node.response_key().node.as_str())
                    .or_default()
                    .push(CollectedField { parent_type, field });
            }
            Selection::InlineFragment(fragment) => {
                let fragment_type = match &fragment.node.type_condition {
                    Some(condition) => ctx.registry.types.get(condition.node.on.node.as_str()),
                    None => parent_type,
                };
                collect_fields(
                    ctx,
                    fragment_type,
                    &fragment.node.selection_set,
                    fields,
                    expanded_fragments,
                );
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                // A fragment spread twice contributes the very same fields
                // twice; once is enough, and it stops fragment cycles.
                if !expanded_fragments.insert(name) {
                    continue;
                }
                if let Some(fragment) = ctx.fragment(name) {
                    let fragment_type = ctx
                        .registry
                        .types
                        .get(fragment.node.type_condition.node.on.node.as_str());
                    collect_fields(
                        ctx,
                        fragment_type,
                        &fragment.node.selection_set,
                        fields,
                        expanded_fragments,
                    );
                }
            }
        }
    }
}

/// The fields of one response name with exact repeats folded: two fields
/// with the same parent and the same text (name, arguments, directives and
/// sub-selection, positions aside) compare alike against any other field,
/// so a document repeating one field ten thousand times costs one
/// comparison per distinct form instead of fifty million.
fn distinct<'a>(group: &[CollectedField<'a>]) -> Vec<CollectedField<'a>> {
    let mut kept: Vec<CollectedField<'a>> = Vec::with_capacity(group.len());
    for candidate in group {
        let repeat = kept.iter().any(|seen| {
            std::ptr::eq(seen.field, candidate.field)
                || (seen.parent_type.map(MetaType::name) == candidate.parent_type.map(MetaType::name)
                    && same_field(&seen.field.node, &candidate.field.node))
        });
        if !repeat {
            kept.push(*candidate);
        }
    }
    kept
}

fn same_field(a: &Field, b: &Field) -> bool {
    a.alias.as_ref().map(|alias| &alias.node) == b.alias.as_ref().map(|alias| &alias.node)
        && a.name.node == b.name.node
        && same_arguments(a, b)
        && same_directives(&a.directives, &b.directives)
        && same_selections(&a.selection_set.node, &b.selection_set.node)
}

fn same_directives(a: &[Positioned<Directive>], b: &[Positioned<Directive>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| {
            a.node.name.node == b.node.name.node
                && a.node.arguments.len() == b.node.arguments.len()
                && a.node
                    .arguments
                    .iter()
                    .zip(&b.node.arguments)
                    .all(|((name_a, value_a), (name_b, value_b))| {
                        name_a.node == name_b.node && value_a == value_b
                    })
        })
}

fn same_selections(a: &SelectionSet, b: &SelectionSet) -> bool {
    a.items.len() == b.items.len()
        && a.items
            .iter()
            .zip(&b.items)
            .all(|(a, b)| match (&a.node, &b.node) {
                (Selection::Field(a), Selection::Field(b)) => same_field(&a.node, &b.node),
                (Selection::FragmentSpread(a), Selection::FragmentSpread(b)) => {
                    a.node.fragment_name.node == b.node.fragment_name.node
                        && same_directives(&a.node.directives, &b.node.directives)
                }
                (Selection::InlineFragment(a), Selection::InlineFragment(b)) => {
                    a.node.type_condition.as_ref().map(|c| &c.node.on.node)
                        == b.node.type_condition.as_ref().map(|c| &c.node.on.node)
                        && same_directives(&a.node.directives, &b.node.directives)
                        && same_selections(&a.node.selection_set.node, &b.node.selection_set.node)
                }
                _ => false,
            })
}

fn same_arguments(a: &Field, b: &Field) -> bool {
    a.arguments.len() == b.arguments.len()
        && a.arguments
            .iter()
            .all(|(name, value)| b.get_argument(&name.node) == Some(value))
}

/// The declared type of a collected field, `None` where the schema does not
/// know it (another rule reports that).
fn field_type<'a>(field: &CollectedField<'a>) -> Option<&'a str> {
    let name = field.field.node.name.node.as_str();
    if name == "__typename" {
        return Some("String!");
    }
    field
        .parent_type?
        .field_by_name(name)
        .map(|definition| definition.ty.as_str())
}

/// The spec's SameResponseShape at one level: lists and non-null wrappers
/// must match, and leaf types must be the same type.
fn types_conflict(registry: &Registry, a: &str, b: &str) -> bool {
    match (MetaTypeName::create(a), MetaTypeName::create(b)) {
        (MetaTypeName::List(a), MetaTypeName::List(b)) => types_conflict(registry, a, b),
        (MetaTypeName::List(_), _) | (_, MetaTypeName::List(_)) => true,
        (MetaTypeName::NonNull(a), MetaTypeName::NonNull(b)) => types_conflict(registry, a, b),
        (MetaTypeName::NonNull(_), _) | (_, MetaTypeName::NonNull(_)) => true,
        (MetaTypeName::Named(a), MetaTypeName::Named(b)) => {
            let is_leaf = |name: &str| registry.types.get(name).is_some_and(MetaType::is_leaf);
            (is_leaf(a) || is_leaf(b)) && a != b
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn factory() -> OverlappingFieldsCanBeMerged {
        OverlappingFieldsCanBeMerged::default()
    }

    #[test]
    fn same_field_on_different_type() {
        expect_passes_rule!(
            factory,
            r#"
          {
           pet {
            ... on Dog {
                doesKnowCommand(dogCommand: SIT)
            }
            ... on Cat {
                doesKnowCommand(catCommand: JUMP)
            }
           }
          }
        "#,
        );
    }

    #[test]
    fn same_field_on_same_type() {
        expect_fails_rule!(
            factory,
            r#"
          {
           pet {
            ... on Dog {
                doesKnowCommand(dogCommand: SIT)
            }
            ... on Dog {
                doesKnowCommand(dogCommand: Heel)
            }
           }
          }
        "#,
        );
    }

    #[test]
    fn same_alias_on_different_type() {
        expect_passes_rule!(
            factory,
            r#"
          {
           pet {
            ... on Dog {
                volume: barkVolume
            }
            ... on Cat {
                volume: meowVolume
            }
           }
          }
        "#,
        );
    }

    #[test]
    fn same_alias_on_different_types_inside_untyped_fragments() {
        expect_passes_rule!(
            factory,
            r#"
          {
           pet {
            ... on Dog { ... { volume: barkVolume } }
            ... on Cat { ... { volume: meowVolume } }
           }
          }
        "#,
        );
    }

    #[test]
    fn conflicting_sub_selections_of_merged_fields() {
        expect_fails_rule!(
            factory,
            r#"
          {
           dog { name: nickname }
           dog { name }
          }
        "#,
        );
    }
}
