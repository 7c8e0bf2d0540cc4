//! The facts about the schema that the store keeps by name, held to the
//! schema itself: which GraphQL fields read which columns
//! (`store::projection`) and which session fields a statement can join
//! (`joins.rs`). A field renamed, added or dropped without its column or
//! join fails here rather than selecting a column no field reads, or
//! leaving one out that a field needs (answered as its default).

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

use super::joins::JOINABLE;
use crate::store::Table;

/// Per object type, its fields and the name of the type each returns
/// (lists unwrapped); and the names of the leaf types (scalars, enums).
struct Schema {
    fields: HashMap<String, HashMap<String, String>>,
    leaves: HashSet<String>,
}

fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(item) => named(item),
    }
}

fn schema() -> Schema {
    let document = async_graphql::parser::parse_schema(super::sdl()).expect("the SDL parses");
    let mut schema = Schema {
        fields: HashMap::new(),
        leaves: ["ID", "String", "Int", "Float", "Boolean"]
            .map(str::to_owned)
            .into(),
    };
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(definition) = definition else {
            continue;
        };
        let name = definition.node.name.node.to_string();
        match &definition.node.kind {
            TypeKind::Object(object) => {
                let fields = object
                    .fields
                    .iter()
                    .map(|field| {
                        let field = &field.node;
                        (
                            field.name.node.to_string(),
                            named(&field.ty.node).to_owned(),
                        )
                    })
                    .collect();
                schema.fields.insert(name, fields);
            }
            TypeKind::Scalar | TypeKind::Enum(_) => {
                schema.leaves.insert(name);
            }
            _ => {}
        }
    }
    schema
}

/// The object types a table's rows answer, and their leaf fields that read
/// only columns every statement selects (so no column lists them).
fn tables() -> [(Table, &'static [&'static str], &'static [&'static str]); 4] {
    const SESSION_KEYS: &[&str] = &[
        "id",
        "status",
        "active",
        "zoneId",
        "authenticatedAt",
        "createdAt",
        "expiresAt",
        "parentId",
    ];
    [
        (Table::Users, &["User"], &["id", "zoneId"]),
        (Table::Applications, &["Application"], &["id", "zoneId"]),
        (Table::UserAgents, &["UserAgent"], &["id", "zoneId"]),
        (
            Table::Sessions,
            &["UserSession", "ApplicationSession"],
            SESSION_KEYS,
        ),
    ]
}

#[test]
fn every_column_is_read_by_fields_the_schema_has_and_every_leaf_has_its_column() {
    let schema = schema();
    for (table, types, always) in tables() {
        let read: HashSet<&str> = table.fields_read().collect();
        let mut declared = HashSet::new();
        for type_name in types {
            let fields = &schema.fields[*type_name];
            declared.extend(fields.keys().map(String::as_str));
            for (field, returns) in fields {
                let is_leaf = schema.leaves.contains(returns);
                if is_leaf {
                    assert!(
                        read.contains(field.as_str()) || always.contains(&field.as_str()),
                        "{type_name}.{field} reads no column of {table:?}: add it to a column's `read_by` (store/projection.rs), or to the fields that read only columns every statement selects"
                    );
                }
            }
        }
        for field in read.iter().chain(always) {
            assert!(
                declared.contains(field),
                "{table:?} names `{field}`, which none of {types:?} has"
            );
        }
    }
}

#[test]
fn joinable_fields_return_the_objects_their_joins_read() {
    let schema = schema();
    for (field, returns) in JOINABLE {
        assert_eq!(
            schema.fields["UserSession"].get(field).map(String::as_str),
            Some(returns),
            "UserSession.{field}"
        );
    }
}
