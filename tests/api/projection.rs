//! Statements select only the columns a document's fields read. Each field
//! asked for on its own must read exactly what it reads when every field is
//! asked for, through every loader: zone pages, per-owner pages, and
//! records by id.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::helpers::*;

const SESSION_FIELDS: &[&str] = &[
    "__typename",
    "id",
    "status",
    "active",
    "zoneId",
    "organizationId",
    "applicationId",
    "authenticatedAt",
    "createdAt",
    "updatedAt",
    "expiresAt",
    "issuer",
    "subject",
    "providerId",
    "metadata { name }",
    "sessionData",
];

const USER_SESSION_FIELDS: &[&str] = &[
    "userId",
    "userAgentId",
    "parentId",
    "depth",
    "root { id }",
    "children { totalCount }",
];

const USER_FIELDS: &[&str] = &[
    "id",
    "createdAt",
    "updatedAt",
    "email",
    "emailVerified",
    "organizationId",
    "zoneId",
    "authenticatedAt",
    "issuer",
    "providerId",
    "subject",
    "sessions { totalCount }",
];

const APPLICATION_FIELDS: &[&str] = &[
    "id",
    "createdAt",
    "updatedAt",
    "dependenciesCount",
    "identifier",
    "name",
    "organizationId",
    "ownerType",
    "slug",
    "zoneId",
    "description",
    "metadata { docsUrl }",
    "protocols { oauth2 { redirectUris postLogoutRedirectUris } }",
];

const USER_AGENT_FIELDS: &[&str] = &[
    "id",
    "createdAt",
    "updatedAt",
    "identifier",
    "name",
    "organizationId",
    "slug",
    "zoneId",
];

/// Every session of the fixture, nested ones too, through a zone page.
fn page(selection: &str) -> String {
    format!(
        "{{ page: sessions(zoneId: \"zone_demo\", first: 20, filter: {{includeNested: true}}) \
         {{ nodes {{ {selection} }} }} }}"
    )
}

/// The response key of a field selection such as `metadata { name }`.
fn key(field: &str) -> &str {
    field.split_whitespace().next().unwrap_or(field)
}

/// Every object in `value` that carries an `id`, by id.
fn by_id(value: &Value, found: &mut BTreeMap<String, Map<String, Value>>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(id)) = object.get("id") {
                found.entry(id.clone()).or_default().extend(object.clone());
            }
            object.values().for_each(|inner| by_id(inner, found));
        }
        Value::Array(items) => items.iter().for_each(|item| by_id(item, found)),
        _ => {}
    }
}

/// Every field of every record, read through root fields that load whole
/// rows (`nodes`, and the root lists), not through the batched loaders.
async fn whole_rows(app: &TestApp) -> BTreeMap<String, Map<String, Value>> {
    let all = |fields: &[&str]| fields.join(" ");
    let query = format!(
        "{{ nodes(ids: [\"ses_root01\", \"ses_child01\", \"ses_app01\"]) {{
             ... on UserSession {{ {sessions} {user_sessions} }}
             ... on ApplicationSession {{ {sessions} }} }}
           users(zoneId: \"zone_demo\") {{ nodes {{ {users} }} }}
           applications(zoneId: \"zone_demo\") {{ nodes {{ {applications} }} }}
           userAgents(zoneId: \"zone_demo\") {{ nodes {{ {user_agents} }} }} }}",
        sessions = all(SESSION_FIELDS),
        user_sessions = all(USER_SESSION_FIELDS),
        users = all(USER_FIELDS),
        applications = all(APPLICATION_FIELDS),
        user_agents = all(USER_AGENT_FIELDS),
    );
    let mut rows = BTreeMap::new();
    by_id(&app.query(&query, json!({})).await, &mut rows);
    rows
}

/// For each field: a document asking for it alone (beside `id`) reads what
/// the whole row holds for it, and the fixture gives it a non-null value
/// somewhere (or a field reading a left-out column would go unseen) unless
/// `may_be_null`.
async fn each_field_alone_reads_the_whole_rows_value(
    app: &TestApp,
    rows: &BTreeMap<String, Map<String, Value>>,
    fields: &[&str],
    may_be_null: bool,
    wrap: impl Fn(&str) -> String,
) {
    for field in fields {
        let query = wrap(&format!("id {field}"));
        let mut read = BTreeMap::new();
        by_id(&app.query(&query, json!({})).await, &mut read);
        let read: Vec<_> = read
            .iter()
            .filter_map(|(id, object)| Some((id, object.get(key(field))?)))
            .collect();
        assert!(!read.is_empty(), "`{query}` read no `{field}`");
        for (id, value) in &read {
            assert_eq!(
                Some(*value),
                rows[*id].get(key(field)),
                "`{field}` of {id} read alone differs from the whole row"
            );
        }
        assert!(
            may_be_null || read.iter().any(|(_, value)| !value.is_null()),
            "the fixture gives `{field}` no value to compare in `{query}`"
        );
    }
}

async fn every_field_reads_its_own_columns(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let rows = whole_rows(&app).await;
    let check = |fields, may_be_null, wrap: fn(&str) -> String| {
        each_field_alone_reads_the_whole_rows_value(&app, &rows, fields, may_be_null, wrap)
    };
    // A zone page; records by id (parents); per-owner pages (children).
    check(SESSION_FIELDS, false, |f| {
        page(&format!(
            "... on UserSession {{ {f} }} ... on ApplicationSession {{ {f} }}"
        ))
    })
    .await;
    check(USER_SESSION_FIELDS, false, |f| {
        page(&format!("... on UserSession {{ {f} }}"))
    })
    .await;
    check(SESSION_FIELDS, true, |f| {
        page(&format!("... on UserSession {{ parent {{ {f} }} }}"))
    })
    .await;
    check(SESSION_FIELDS, true, |f| {
        page(&format!(
            "... on UserSession {{ children {{ nodes {{ ... on UserSession {{ {f} }} }} }} }}"
        ))
    })
    .await;
    // Records by id of the other kinds.
    check(USER_FIELDS, false, |f| {
        page(&format!("... on UserSession {{ user {{ {f} }} }}"))
    })
    .await;
    check(APPLICATION_FIELDS, false, |f| {
        page(&format!(
            "... on ApplicationSession {{ application {{ {f} }} }}"
        ))
    })
    .await;
    check(USER_AGENT_FIELDS, false, |f| {
        page(&format!("... on UserSession {{ userAgent {{ {f} }} }}"))
    })
    .await;
}

crate::on_both_databases!(every_field_reads_its_own_columns);
