//! Every rule of DATASET.md, one test each: a document that breaks the rule
//! is refused with one error line naming the record and field at fault, and
//! the database keeps exactly what it held before.

use crate::helpers::*;

use std::process::Output;

use serde_json::{Value, json};
use sessiongraph::dataset::parse::parse_document;

/// Imports raw text (which need not be JSON) through a file.
async fn import_text(db: &TestDb, text: &str) -> Output {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), text).expect("write document");
    import_file(db, file.path()).await
}

/// Imports `base`, then `broken`. The second import must fail, print exactly
/// `expected.len()` errors with one line starting with each expected prefix,
/// and leave the database as `base` left it. Returns stderr's lines.
async fn assert_rejected_after(
    db: &TestDb,
    base: &Value,
    broken: &str,
    expected: &[&str],
) -> Vec<String> {
    let output = import_json(db, base).await;
    assert!(
        output.status.success(),
        "the base document should import:\n{}",
        stderr(&output)
    );
    let before = snapshot(&db.connect().await).await;

    let output = import_text(db, broken).await;
    let errors = stderr(&output);
    assert!(
        !output.status.success(),
        "a broken document was imported:\nstdout: {}\nstderr: {errors}",
        stdout(&output)
    );
    let lines: Vec<String> = errors.lines().map(str::to_owned).collect();
    for prefix in expected {
        assert!(
            lines.iter().any(|line| line.starts_with(prefix)),
            "no error line starts with {prefix:?}; stderr was:\n{errors}"
        );
    }
    let summary = format!(
        "{} error{} found; nothing was written",
        expected.len(),
        if expected.len() == 1 { "" } else { "s" }
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some(summary.as_str()),
        "stderr was:\n{errors}"
    );

    let after = snapshot(&db.connect().await).await;
    assert_eq!(after, before, "a refused import changed the database");
    lines
}

/// [`assert_rejected_after`] with the example document as the base.
async fn assert_rejected(db: &TestDb, broken: &Value, expected: &[&str]) -> Vec<String> {
    assert_rejected_after(db, &example_document(), &broken.to_string(), expected).await
}

/// The `index`th record of `array` in `document`.
fn record<'a>(document: &'a mut Value, array: &str, index: usize) -> &'a mut Value {
    &mut document[array][index]
}

fn push(document: &mut Value, array: &str, record: Value) {
    document[array]
        .as_array_mut()
        .expect("an array of records")
        .push(record);
}

/// A copy of the example's `index`th record of `array` with some keys replaced.
fn example_record(array: &str, index: usize, changes: Value) -> Value {
    let mut record = example_document()[array][index].clone();
    let fields = record.as_object_mut().expect("an object");
    for (key, value) in changes.as_object().expect("an object of changes") {
        fields.insert(key.clone(), value.clone());
    }
    record
}

/// A new user session of zone_demo owned by the example user.
fn user_session(id: &str, parent_id: Option<&str>) -> Value {
    let mut session = json!({
        "session_type": "user", "id": id, "zone_id": "zone_demo",
        "user_id": "usr_81aa0e", "status": "active",
        "created_at": "2026-03-05T10:00:00Z",
    });
    if let Some(parent_id) = parent_id {
        session["parent_id"] = json!(parent_id);
    }
    session
}

async fn missing_required_key(db: TestDb) {
    let mut broken = example_document();
    record(&mut broken, "users", 0)
        .as_object_mut()
        .unwrap()
        .remove("email");
    record(&mut broken, "applications", 0)["name"] = Value::Null;
    record(&mut broken, "sessions", 2)
        .as_object_mut()
        .unwrap()
        .remove("application_id");
    assert_rejected(
        &db,
        &broken,
        &[
            "applications[0] id=app_2f9c1d field=name: must not be null",
            "users[0] id=usr_81aa0e field=email: missing required key",
            "sessions[2] id=ses_app01 field=application_id: missing required key",
        ],
    )
    .await;
}

async fn wrong_type(db: TestDb) {
    let mut broken = example_document();
    record(&mut broken, "users", 0)["email_verified"] = json!("yes");
    record(&mut broken, "applications", 0)["dependencies_count"] = json!(-1);
    push(
        &mut broken,
        "applications",
        example_record(
            "applications",
            0,
            json!({ "id": "app_second", "identifier": "second", "slug": "second", "dependencies_count": 1.5 }),
        ),
    );
    record(&mut broken, "sessions", 0)["session_data"] = json!(["not", "an", "object"]);
    assert_rejected(
        &db,
        &broken,
        &[
            "applications[0] id=app_2f9c1d field=dependencies_count: -1 is out of range",
            "applications[1] id=app_second field=dependencies_count: expected an integer >= 0, found 1.5",
            "users[0] id=usr_81aa0e field=email_verified: expected a boolean, found a string",
            "sessions[0] id=ses_root01 field=session_data: expected an object, found an array",
        ],
    )
    .await;
}

async fn timestamp_without_offset(db: TestDb) {
    let mut broken = example_document();
    record(&mut broken, "users", 0)["created_at"] = json!("2026-01-02T03:04:05");
    record(&mut broken, "sessions", 0)["expires_at"] = json!("2026-01-02 03:04:05Z");
    record(&mut broken, "user_agents", 0)["updated_at"] = json!("2026-01-02");
    assert_rejected(
        &db,
        &broken,
        &[
            "users[0] id=usr_81aa0e field=created_at: \"2026-01-02T03:04:05\" is not an RFC 3339 timestamp",
            "user_agents[0] id=ua_7d2c44 field=updated_at: \"2026-01-02\" is not an RFC 3339 timestamp",
            "sessions[0] id=ses_root01 field=expires_at: \"2026-01-02 03:04:05Z\" is not an RFC 3339 timestamp",
        ],
    )
    .await;
}

async fn invalid_enum_values(db: TestDb) {
    let mut broken = example_document();
    record(&mut broken, "sessions", 0)["status"] = json!("paused");
    record(&mut broken, "applications", 0)["owner_type"] = json!("partner");
    record(&mut broken, "sessions", 2)["session_type"] = json!("device");
    assert_rejected(
        &db,
        &broken,
        &[
            "applications[0] id=app_2f9c1d field=owner_type: \"partner\" is not one of \"platform\", \"customer\"",
            "sessions[0] id=ses_root01 field=status: \"paused\" is not one of \"active\", \"expired\", \"revoked\"",
            "sessions[2] id=ses_app01 field=session_type: \"device\" is not one of \"user\", \"application\"",
        ],
    )
    .await;
}

async fn invalid_slug(db: TestDb) {
    let mut broken = example_document();
    record(&mut broken, "applications", 0)["slug"] = json!("Team Dashboard");
    record(&mut broken, "user_agents", 0)["slug"] = json!("acme_cli");
    assert_rejected(
        &db,
        &broken,
        &[
            "applications[0] id=app_2f9c1d field=slug: \"Team Dashboard\" is not a slug",
            "user_agents[0] id=ua_7d2c44 field=slug: \"acme_cli\" is not a slug",
        ],
    )
    .await;
}

async fn user_agent_identifier_format(db: TestDb) {
    let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let mut broken = example_document();
    record(&mut broken, "user_agents", 0)["identifier"] =
        json!(format!("ua:{}", hex.to_uppercase()));
    for (id, identifier) in [
        ("ua_short", format!("ua:{}", &hex[1..])),
        ("ua_noprefix", hex.to_owned()),
        ("ua_nothex", format!("ua:{}g", &hex[1..])),
    ] {
        let agent = example_record(
            "user_agents",
            0,
            json!({ "id": id, "slug": id.replace('_', "-"), "identifier": identifier }),
        );
        push(&mut broken, "user_agents", agent);
    }
    assert_rejected(
        &db,
        &broken,
        &[
            "user_agents[0] id=ua_7d2c44 field=identifier: \"ua:9F86D081",
            "user_agents[1] id=ua_short field=identifier:",
            "user_agents[2] id=ua_noprefix field=identifier:",
            "user_agents[3] id=ua_nothex field=identifier:",
        ],
    )
    .await;
}

async fn duplicate_id_across_arrays(db: TestDb) {
    let mut broken = example_document();
    push(
        &mut broken,
        "users",
        example_record(
            "users",
            0,
            json!({ "id": "app_2f9c1d", "email": "bob@example.com" }),
        ),
    );
    push(&mut broken, "sessions", user_session("ses_root01", None));
    assert_rejected(
        &db,
        &broken,
        &[
            "users[1] id=app_2f9c1d field=id: id is also used by applications[0]",
            "sessions[3] id=ses_root01 field=id: id is also used by sessions[0]",
        ],
    )
    .await;
}

async fn duplicate_identifier_and_slug_in_zone(db: TestDb) {
    let mut broken = example_document();
    push(
        &mut broken,
        "applications",
        example_record(
            "applications",
            0,
            json!({ "id": "app_copy", "name": "Copy" }),
        ),
    );
    assert_rejected(
        &db,
        &broken,
        &[
            "applications[1] id=app_copy field=identifier: \"team-dashboard\" is also the identifier of applications[0] (app_2f9c1d) in zone zone_demo",
            "applications[1] id=app_copy field=slug: \"team-dashboard\" is also the slug of applications[0] (app_2f9c1d) in zone zone_demo",
        ],
    )
    .await;

    // The same identifier and slug in another zone are fine, in the same
    // document as the original and against the stored original alike.
    let mut other_zone = example_document();
    push(
        &mut other_zone,
        "applications",
        example_record(
            "applications",
            0,
            json!({ "id": "app_other", "zone_id": "zone_other", "organization_id": "org_other" }),
        ),
    );
    let output = import_json(&db, &other_zone).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let stored = snapshot(&db.connect().await).await;
    let slugs: Vec<(&str, &str, &str)> = stored
        .applications
        .iter()
        .map(|a| (a.id.as_str(), a.zone_id.as_str(), a.slug.as_str()))
        .collect();
    assert_eq!(
        slugs,
        [
            ("app_2f9c1d", "zone_demo", "team-dashboard"),
            ("app_other", "zone_other", "team-dashboard"),
        ]
    );
}

async fn slug_taken_by_stored_record(db: TestDb) {
    let broken = json!({
        "applications": [
            example_record("applications", 0, json!({ "id": "app_new1", "identifier": "new-one" })),
            example_record("applications", 0, json!({ "id": "app_new2", "slug": "new-two" })),
        ]
    });
    assert_rejected(
        &db,
        &broken,
        &[
            "applications[0] id=app_new1 field=slug: \"team-dashboard\" is already the slug of app_2f9c1d, stored in zone zone_demo",
            "applications[1] id=app_new2 field=identifier: \"team-dashboard\" is already the identifier of app_2f9c1d, stored in zone zone_demo",
        ],
    )
    .await;
}

async fn user_agent_slug_duplicate(db: TestDb) {
    // Twice in the document.
    let mut broken = example_document();
    push(
        &mut broken,
        "user_agents",
        example_record("user_agents", 0, json!({ "id": "ua_copy" })),
    );
    assert_rejected(
        &db,
        &broken,
        &["user_agents[1] id=ua_copy field=slug: \"acme-cli\" is also the slug of user_agents[0] (ua_7d2c44) in zone zone_demo"],
    )
    .await;

    // Already taken by a stored user agent.
    let broken = json!({
        "user_agents": [example_record("user_agents", 0, json!({ "id": "ua_new" }))]
    });
    assert_rejected(
        &db,
        &broken,
        &["user_agents[0] id=ua_new field=slug: \"acme-cli\" is already the slug of ua_7d2c44, stored in zone zone_demo"],
    )
    .await;
}

async fn dangling_reference(db: TestDb) {
    let mut broken = example_document();
    record(&mut broken, "sessions", 0)["user_id"] = json!("usr_missing");
    push(
        &mut broken,
        "sessions",
        json!({
            "session_type": "user", "id": "ses_lost", "zone_id": "zone_demo",
            "user_id": "usr_81aa0e", "application_id": "app_missing",
            "user_agent_id": "ua_missing", "parent_id": "ses_missing",
        }),
    );
    assert_rejected(
        &db,
        &broken,
        &[
            "sessions[0] id=ses_root01 field=user_id: no user usr_missing in the document or the database",
            "sessions[3] id=ses_lost field=application_id: no application app_missing in the document or the database",
            "sessions[3] id=ses_lost field=user_agent_id: no user agent ua_missing in the document or the database",
            "sessions[3] id=ses_lost field=parent_id: no user session ses_missing in the document or the database",
        ],
    )
    .await;
}

async fn reference_in_other_zone(db: TestDb) {
    // A user of another zone, already stored.
    let mut base = example_document();
    push(
        &mut base,
        "users",
        example_record(
            "users",
            0,
            json!({ "id": "usr_stored_other", "zone_id": "zone_other" }),
        ),
    );
    // And one that arrives in the same document.
    let mut broken = example_document();
    push(
        &mut broken,
        "users",
        example_record(
            "users",
            0,
            json!({ "id": "usr_new_other", "zone_id": "zone_other" }),
        ),
    );
    let mut first = user_session("ses_cross1", None);
    first["user_id"] = json!("usr_stored_other");
    let mut second = user_session("ses_cross2", None);
    second["user_id"] = json!("usr_new_other");
    push(&mut broken, "sessions", first);
    push(&mut broken, "sessions", second);
    assert_rejected_after(
        &db,
        &base,
        &broken.to_string(),
        &[
            "sessions[3] id=ses_cross1 field=user_id: user usr_stored_other is in zone zone_other, not zone zone_demo",
            "sessions[4] id=ses_cross2 field=user_id: user usr_new_other is in zone zone_other, not zone zone_demo",
        ],
    )
    .await;
}

async fn parent_must_be_user_session(db: TestDb) {
    let mut broken = example_document();
    record(&mut broken, "sessions", 1)["parent_id"] = json!("ses_app01");
    let mut wrong_kind = user_session("ses_odd", Some("usr_81aa0e"));
    wrong_kind["user_id"] = json!("app_2f9c1d");
    push(&mut broken, "sessions", wrong_kind);
    assert_rejected(
        &db,
        &broken,
        &[
            "sessions[1] id=ses_child01 field=parent_id: ses_app01 is an application session, not a user session",
            "sessions[3] id=ses_odd field=user_id: app_2f9c1d is an application, not a user",
            "sessions[3] id=ses_odd field=parent_id: usr_81aa0e is a user, not a user session",
        ],
    )
    .await;
}

async fn parent_cycle_in_document(db: TestDb) {
    let mut broken = example_document();
    push(
        &mut broken,
        "sessions",
        user_session("ses_loop_a", Some("ses_loop_b")),
    );
    push(
        &mut broken,
        "sessions",
        user_session("ses_loop_b", Some("ses_loop_a")),
    );
    assert_rejected(
        &db,
        &broken,
        &[
            "sessions[3] id=ses_loop_a field=parent_id: parent chain forms a cycle",
            "sessions[4] id=ses_loop_b field=parent_id: parent chain forms a cycle",
        ],
    )
    .await;

    // The shortest cycle is caught while the record is read.
    let mut broken = example_document();
    push(
        &mut broken,
        "sessions",
        user_session("ses_self", Some("ses_self")),
    );
    assert_rejected(
        &db,
        &broken,
        &["sessions[3] id=ses_self field=parent_id: a session cannot be its own parent"],
    )
    .await;
}

async fn parent_cycle_through_stored_records(db: TestDb) {
    // ses_child01 is stored with parent ses_root01: making ses_root01 its
    // child's child closes a loop the document alone does not show.
    let broken = json!({
        "sessions": [example_record("sessions", 0, json!({ "parent_id": "ses_child01" }))]
    });
    assert_rejected(
        &db,
        &broken,
        &["sessions[0] id=ses_root01 field=parent_id: parent chain forms a cycle"],
    )
    .await;

    // The same through two stored generations.
    let mut base = example_document();
    push(
        &mut base,
        "sessions",
        user_session("ses_grand01", Some("ses_child01")),
    );
    let broken = json!({
        "sessions": [example_record("sessions", 0, json!({ "parent_id": "ses_grand01" }))]
    });
    let lines = assert_rejected_after(
        &db,
        &base,
        &broken.to_string(),
        &["sessions[0] id=ses_root01 field=parent_id: parent chain forms a cycle"],
    )
    .await;
    assert!(
        lines
            .iter()
            .any(|line| line.contains("ses_grand01") && line.contains("ses_child01")),
        "the cycle should be shown: {lines:?}"
    );
}

async fn application_session_with_user_fields(db: TestDb) {
    let mut broken = example_document();
    let app_session = record(&mut broken, "sessions", 2);
    app_session["parent_id"] = json!("ses_root01");
    app_session["user_id"] = json!("usr_81aa0e");
    app_session["user_agent_id"] = json!("ua_7d2c44");
    assert_rejected(
        &db,
        &broken,
        &[
            "sessions[2] id=ses_app01 field=user_id: must be absent on an application session",
            "sessions[2] id=ses_app01 field=user_agent_id: must be absent on an application session",
            "sessions[2] id=ses_app01 field=parent_id: must be absent on an application session",
        ],
    )
    .await;
}

async fn upsert_may_not_change_kind(db: TestDb) {
    let broken = json!({
        "users": [example_record("users", 0, json!({ "id": "ses_root01" }))],
        "sessions": [{
            "session_type": "user", "id": "ses_app01", "zone_id": "zone_demo",
            "user_id": "usr_81aa0e",
        }],
    });
    assert_rejected(
        &db,
        &broken,
        &[
            "users[0] id=ses_root01 field=id: ses_root01 is already stored as a user session; an import may not change a record's kind",
            "sessions[0] id=ses_app01 field=id: ses_app01 is already stored as an application session; an import may not change a record's kind",
        ],
    )
    .await;
}

async fn upsert_may_not_change_zone(db: TestDb) {
    let broken = json!({
        "users": [example_record("users", 0, json!({ "zone_id": "zone_other" }))],
    });
    assert_rejected(
        &db,
        &broken,
        &["users[0] id=usr_81aa0e field=zone_id: usr_81aa0e is stored in zone zone_demo; an import may not move a record to another zone"],
    )
    .await;
}

async fn malformed_document(db: TestDb) {
    let base = example_document();
    for text in [
        "this is not JSON",
        "{\"users\": [",
        "[]",
        "[[], [], [], []]",
        "null",
        "42",
        "\"users\"",
    ] {
        let lines = assert_rejected_after(&db, &base, text, &["document: "]).await;
        assert_eq!(
            lines.len(),
            2,
            "one error and the summary for {text:?}: {lines:?}"
        );
    }
    // An array of the wrong shape is the document's fault too.
    assert_rejected_after(
        &db,
        &base,
        r#"{"users": {"id": "usr_1"}}"#,
        &["document field=users: expected an array of records, found an object"],
    )
    .await;
    // A record that is not an object is that record's fault.
    let broken = json!({ "users": [42], "sessions": ["ses_root01"] });
    assert_rejected(
        &db,
        &broken,
        &[
            "users[0] id=?: expected an object, found a number",
            "sessions[0] id=?: expected an object, found a string",
        ],
    )
    .await;
}

async fn errors_are_capped_at_50(db: TestDb) {
    let mut broken = example_document();
    for n in 0..60 {
        let mut user = example_record("users", 0, json!({ "id": format!("usr_broken{n:02}") }));
        user.as_object_mut().unwrap().remove("email");
        push(&mut broken, "users", user);
    }
    let expected: Vec<String> = (0..50)
        .map(|n| {
            format!(
                "users[{}] id=usr_broken{n:02} field=email: missing required key",
                n + 1
            )
        })
        .collect();
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let before = snapshot(&db.connect().await).await;

    let output = import_json(&db, &broken).await;
    assert!(!output.status.success());
    let errors = stderr(&output);
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines.len(), 52, "stderr was:\n{errors}");
    assert_eq!(lines[..50], expected, "stderr was:\n{errors}");
    assert_eq!(lines[50], "... and 10 more errors");
    assert_eq!(lines[51], "60 errors found; nothing was written");
    assert_eq!(snapshot(&db.connect().await).await, before);
}

async fn all_or_nothing_on_large_document(db: TestDb) {
    let mut broken = example_document();
    for n in 0..1000 {
        // Half hang under the stored root, half under the previous new session.
        let parent = if n % 2 == 0 {
            "ses_root01".to_owned()
        } else {
            format!("ses_bulk{:04}", n - 1)
        };
        push(
            &mut broken,
            "sessions",
            user_session(&format!("ses_bulk{n:04}"), Some(&parent)),
        );
    }
    let mut last = user_session("ses_bulk_last", Some("ses_bulk0999"));
    last["user_agent_id"] = json!("ua_nowhere");
    push(&mut broken, "sessions", last);
    let lines = assert_rejected(
        &db,
        &broken,
        &["sessions[1003] id=ses_bulk_last field=user_agent_id: no user agent ua_nowhere in the document or the database"],
    )
    .await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    let stored = snapshot(&db.connect().await).await;
    assert_eq!(stored.sessions.len(), 3);

    // Without the broken session the same document imports in full.
    broken["sessions"].as_array_mut().unwrap().pop();
    let output = import_json(&db, &broken).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(snapshot(&db.connect().await).await.sessions.len(), 1003);
}

async fn unknown_keys_are_ignored(db: TestDb) {
    let mut document = example_document();
    document["exported_by"] = json!("sessions-api v3");
    // Serialised with escapes (`\"`, `\n`), which a reader must decode.
    document["notes \"internal\"\n"] = json!(["kept out of the database"]);
    for array in ["applications", "users", "user_agents", "sessions"] {
        for record in document[array].as_array_mut().unwrap() {
            record["future_field"] = json!({ "nested": [1, 2, 3] });
            record["deleted"] = json!(false);
        }
    }
    record(&mut document, "applications", 0)["metadata"]["logo_url"] =
        json!("https://x.example/logo.png");
    record(&mut document, "applications", 0)["protocols"]["saml"] = json!({ "entity_id": "urn:x" });
    record(&mut document, "sessions", 0)["metadata"]["device"] = json!("laptop");
    // The deprecated `active` is read but ignored: status decides.
    record(&mut document, "sessions", 2)["active"] = json!(true);

    let output = import_json(&db, &document).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let expected = parse_document(&example_document().to_string()).expect("the example parses");
    assert_eq!(snapshot(&db.connect().await).await, sorted(expected));
}

async fn reimport_replaces(db: TestDb) {
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let before = snapshot(&db.connect().await).await;

    let mut refreshed = example_document();
    record(&mut refreshed, "applications", 0)["name"] = json!("Team Dashboard 2");
    let output = import_json(&db, &refreshed).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output)
            .starts_with("imported 1 applications, 1 users, 1 user agents and 3 sessions")
    );

    let after = snapshot(&db.connect().await).await;
    let mut expected = before.clone();
    expected.applications[0].name = "Team Dashboard 2".to_owned();
    assert_eq!(after, expected);
    assert_eq!(after.record_count(), 6);
}

async fn reimport_may_hand_over_slugs(db: TestDb) {
    // Uniqueness is a rule about the document's final state: a refreshed
    // export may swap two stored applications' slugs and identifiers, or
    // give a renamed user agent's old slug to a new one.
    let mut base = example_document();
    push(
        &mut base,
        "applications",
        example_record(
            "applications",
            0,
            json!({ "id": "app_second", "identifier": "second", "slug": "second" }),
        ),
    );
    let output = import_json(&db, &base).await;
    assert!(output.status.success(), "{}", stderr(&output));

    let mut refreshed = base.clone();
    record(&mut refreshed, "applications", 0)["identifier"] = json!("second");
    record(&mut refreshed, "applications", 0)["slug"] = json!("second");
    record(&mut refreshed, "applications", 1)["identifier"] = json!("team-dashboard");
    record(&mut refreshed, "applications", 1)["slug"] = json!("team-dashboard");
    refreshed["user_agents"].as_array_mut().unwrap().insert(
        0,
        example_record("user_agents", 0, json!({ "id": "ua_newer" })),
    );
    record(&mut refreshed, "user_agents", 1)["slug"] = json!("acme-cli-old");
    let output = import_json(&db, &refreshed).await;
    assert!(output.status.success(), "{}", stderr(&output));

    let stored = snapshot(&db.connect().await).await;
    let applications: Vec<(&str, &str, &str)> = stored
        .applications
        .iter()
        .map(|a| (a.id.as_str(), a.identifier.as_str(), a.slug.as_str()))
        .collect();
    assert_eq!(
        applications,
        [
            ("app_2f9c1d", "second", "second"),
            ("app_second", "team-dashboard", "team-dashboard"),
        ]
    );
    let agents: Vec<(&str, &str)> = stored
        .user_agents
        .iter()
        .map(|u| (u.id.as_str(), u.slug.as_str()))
        .collect();
    assert_eq!(
        agents,
        [("ua_7d2c44", "acme-cli-old"), ("ua_newer", "acme-cli")]
    );
}

crate::on_both_databases!(
    missing_required_key,
    wrong_type,
    timestamp_without_offset,
    invalid_enum_values,
    invalid_slug,
    user_agent_identifier_format,
    duplicate_id_across_arrays,
    duplicate_identifier_and_slug_in_zone,
    slug_taken_by_stored_record,
    user_agent_slug_duplicate,
    dangling_reference,
    reference_in_other_zone,
    parent_must_be_user_session,
    parent_cycle_in_document,
    parent_cycle_through_stored_records,
    application_session_with_user_fields,
    upsert_may_not_change_kind,
    upsert_may_not_change_zone,
    malformed_document,
    errors_are_capped_at_50,
    all_or_nothing_on_large_document,
    unknown_keys_are_ignored,
    reimport_replaces,
    reimport_may_hand_over_slugs,
);
