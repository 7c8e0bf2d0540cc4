//! Bad input gets its clear code, never a 500 or a hang: malformed bodies,
//! wrong media types, invalid and abusive documents, bad arguments and
//! cursors, unknown ids, oversized requests, odd unicode and deep nesting,
//! each sent to a real server over the example data on both databases.
//!
//! Every request has a client timeout, so a request the server never
//! answers fails the test instead of hanging it. Each test runs all its
//! cases and then fails once, listing every case that failed. Input that
//! may crash the server goes to the real binary in a process of its own
//! ([`Probe::start_process`]), so that a crash fails that test only.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::probe::*;
use crate::helpers::*;

// ---------------------------------------------------------------------------
// The HTTP envelope.

async fn malformed_bodies_are_bad_user_input(db: TestDb) {
    let probe = Probe::start(db).await;
    let mut cases = Cases::default();
    let malformed: [(&str, &[u8]); 6] = [
        ("not JSON", b"{not json"),
        ("truncated JSON", br#"{"query": "{ __typename }""#),
        ("trailing garbage", br#"{"query": "{ __typename }"} x"#),
        ("an empty body", b""),
        ("invalid UTF-8", b"{\"query\": \"\xff\xfe\"}"),
        ("a JSON comment", b"// hi\n{\"query\": \"{ __typename }\"}"),
    ];
    for (what, body) in malformed {
        cases
            .check(what, async {
                probe
                    .post_raw(format!("POST {what}"), body.to_vec())
                    .await
                    .expect_error(400, &["BAD_USER_INPUT"], &["body"]);
            })
            .await;
    }

    // JSON that is not a request object (nor an array of them).
    for body in ["[]", "\"{ __typename }\"", "42", "null", "true"] {
        cases
            .check(format!("POST {body}"), async {
                let answer = probe.post_raw(format!("POST {body}"), body).await;
                let message = answer.expect_error(400, &["BAD_USER_INPUT"], &[]);
                let lower = message.to_lowercase();
                assert!(
                    lower.contains("object") || lower.contains("query"),
                    "the message names neither the object nor the query: {message}"
                );
            })
            .await;
    }

    // An array is a batch: what is not a request in it is an error entry
    // naming its index, and the batch, read, is 200.
    for body in ["[1, 2]", "[null, \"{ __typename }\", [], true]"] {
        cases
            .check(format!("POST {body}"), async {
                let answer = probe.post_raw(format!("POST {body}"), body).await;
                assert_eq!(answer.status, 200, "{}", answer.text);
                let entries = answer.body.as_array().expect("an array of answers");
                for (index, entry) in entries.iter().enumerate() {
                    let error = &entry["errors"][0];
                    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{entry}");
                    let message = error["message"].as_str().unwrap_or("");
                    assert!(message.contains(&format!("entry {index}")), "{message}");
                }
            })
            .await;
    }

    // An object without a query (and without a persisted query's hash).
    for body in [
        json!({}),
        json!({ "variables": {} }),
        json!({ "operationName": "A" }),
        json!({ "query": null }),
        json!({ "query": 42 }),
        json!({ "query": { "text": "{ __typename }" } }),
        json!({ "query": ["{ __typename }"] }),
    ] {
        cases
            .check(format!("POST {body}"), async {
                probe
                    .post_json(format!("POST {body}"), &body)
                    .await
                    .expect_error(400, &["BAD_USER_INPUT"], &["query"]);
            })
            .await;
    }
    probe.assert_alive().await;
    cases.finish();
}

async fn wrong_media_types_are_refused(db: TestDb) {
    let probe = Probe::start(db).await;
    let mut cases = Cases::default();
    let body = json!({ "query": "{ __typename }" }).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/graphql"),
        Some("application/jsonx"),
        None,
    ] {
        let what = format!("POST with content-type {content_type:?}");
        cases
            .check(&what, async {
                let mut request = probe.post().header("accept", MODERN).body(body.clone());
                if let Some(content_type) = content_type {
                    request = request.header("content-type", content_type);
                }
                probe.send(&what, request).await.expect_error(
                    415,
                    &["BAD_USER_INPUT"],
                    &["content-type", "application/json"],
                );
            })
            .await;
    }
    // Parameters and case do not matter.
    let what = "POST with content-type Application/JSON; charset=utf-8";
    cases
        .check(what, async {
            let answer = probe
                .send(
                    what,
                    probe
                        .post()
                        .header("accept", MODERN)
                        .header("content-type", "Application/JSON; charset=utf-8")
                        .body(body.clone()),
                )
                .await;
            assert_eq!(answer.expect_data()["__typename"], "Query");
        })
        .await;

    for accept in ["text/html", "image/png, text/*", "application/xml"] {
        let what = format!("POST accepting {accept}");
        cases
            .check(&what, async {
                let answer = probe
                    .send(
                        &what,
                        probe
                            .post()
                            .header("accept", accept)
                            .header("content-type", LEGACY)
                            .body(body.clone()),
                    )
                    .await;
                answer.expect_error(406, &["BAD_USER_INPUT"], &["application/json"]);
            })
            .await;
    }
    probe.assert_alive().await;
    cases.finish();
}

// ---------------------------------------------------------------------------
// Documents.

async fn invalid_documents_get_their_codes(db: TestDb) {
    let probe = Probe::start(db).await;
    let mut cases = Cases::default();
    for query in [
        "{ session(id: ",
        "{ session(id: \"ses_root01\") { __typename }",
        "query { ... }",
        "}{",
        "{ session(id: \"ses_root01\") { ... on UserSession } }",
        "{ a: b: c }",
        "{ session(id: \"unterminated) { id } }",
        "\u{0}",
    ] {
        cases
            .check(format!("parse {query:?}"), async {
                probe.query(query, json!({})).await.expect_error(
                    400,
                    &["GRAPHQL_PARSE_FAILED"],
                    &[],
                );
            })
            .await;
    }
    // A document with no operation: a parse failure, or a missing query.
    for query in ["", "   ", "# only a comment"] {
        cases
            .check(format!("parse {query:?}"), async {
                probe.query(query, json!({})).await.expect_error(
                    400,
                    &["GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT"],
                    &[],
                );
            })
            .await;
    }

    let invalid: [(&str, &[&str]); 6] = [
        (
            r#"{ session(id: "ses_root01") { noSuchField } }"#,
            &["noSuchField"],
        ),
        (
            r#"{ sessions(zoneId: "zone_demo", bogus: 1) { totalCount } }"#,
            &["bogus"],
        ),
        ("{ sessions { totalCount } }", &["zoneId"]),
        ("query A { __typename } query B { __typename }", &[]),
        (
            r#"{ session(id: "ses_root01") { ... on Bogus { id } } }"#,
            &["Bogus"],
        ),
        ("subscription { sessions }", &[]),
    ];
    for (query, needles) in invalid {
        cases
            .check(format!("validate {query:?}"), async {
                probe.query(query, json!({})).await.expect_error(
                    400,
                    &["GRAPHQL_VALIDATION_FAILED"],
                    needles,
                );
            })
            .await;
    }

    // Fragments that spread each other forever: refused, promptly.
    let cycle = r#"
        { session(id: "ses_root01") { ...A } }
        fragment A on UserSession { parent { ...B } }
        fragment B on UserSession { parent { ...A } }
    "#;
    cases
        .check("a fragment cycle", async {
            let started = std::time::Instant::now();
            let answer = probe.query(cycle, json!({})).await;
            answer.expect_error(
                400,
                &["GRAPHQL_VALIDATION_FAILED", "QUERY_TOO_COMPLEX"],
                &[],
            );
            if answer.code() == "GRAPHQL_VALIDATION_FAILED" {
                let message = answer.message();
                assert!(
                    message.contains('A') && message.contains('B'),
                    "the message names neither fragment: {message}"
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "took {:?}",
                started.elapsed()
            );
        })
        .await;
    let self_cycle = r#"
        { session(id: "ses_root01") { ...A } }
        fragment A on UserSession { id ...A }
    "#;
    cases
        .check("a fragment spreading itself", async {
            let started = std::time::Instant::now();
            probe.query(self_cycle, json!({})).await.expect_error(
                400,
                &["GRAPHQL_VALIDATION_FAILED", "QUERY_TOO_COMPLEX"],
                &[],
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "took {:?}",
                started.elapsed()
            );
        })
        .await;
    probe.assert_alive().await;
    cases.finish();
}

/// `session(id:) { ... on UserSession { parent { ... } } }`, `levels` parents deep.
fn parent_chain(levels: usize) -> String {
    format!(
        r#"{{ session(id: "ses_child01") {{ ... on UserSession {{ {}id{} }} }} }}"#,
        "parent { ".repeat(levels),
        " }".repeat(levels)
    )
}

async fn documents_over_the_limits_are_too_complex(db: TestDb) {
    let probe = Probe::start(db).await;
    let mut cases = Cases::default();

    cases
        .check("within the limits", async {
            let answer = probe.query(&parent_chain(3), json!({})).await;
            assert!(answer.expect_data()["session"].is_object());
        })
        .await;

    // Depth: session > 30 parents > id is 32 levels.
    let deep = parent_chain(30);
    cases
        .check("depth 32", async {
            let message = probe.query(&deep, json!({})).await.expect_error(
                400,
                &["QUERY_TOO_COMPLEX"],
                &["depth", "15"],
            );
            assert!(
                numbers_in(&message).iter().any(|n| (30..=33).contains(n)),
                "the message does not give the measured depth (32): {message}"
            );
        })
        .await;
    cases
        .check("depth 32, legacy JSON", async {
            // Legacy JSON clients get the same error with status 200.
            let legacy = probe
                .send(
                    "a deep query, legacy JSON",
                    probe
                        .post()
                        .header("accept", LEGACY)
                        .header("content-type", LEGACY)
                        .body(json!({ "query": deep }).to_string()),
                )
                .await;
            legacy.expect_error(200, &["QUERY_TOO_COMPLEX"], &["depth", "15"]);
        })
        .await;
    cases
        .check("depth 32 over GET", async {
            let get = probe
                .send(
                    "a deep query over GET",
                    probe
                        .get()
                        .header("accept", MODERN)
                        .query(&[("query", &deep)]),
                )
                .await;
            get.expect_error(400, &["QUERY_TOO_COMPLEX"], &["depth", "15"]);
        })
        .await;
    cases
        .check("depth 32 in a chain of fragments", async {
            let mut fragments = String::from(r#"{ session(id: "ses_child01") { ...F0 } }"#);
            for i in 0..30 {
                fragments.push_str(&format!(
                    " fragment F{i} on UserSession {{ parent {{ id ...F{} }} }}",
                    i + 1
                ));
            }
            fragments.push_str(" fragment F30 on UserSession { id }");
            probe.query(&fragments, json!({})).await.expect_error(
                400,
                &["QUERY_TOO_COMPLEX"],
                &["depth", "15"],
            );
        })
        .await;

    cases
        .check("100 aliases", async {
            // Below the root: one root field.
            let aliases: String = (1..=100).map(|i| format!(" a{i}: __typename")).collect();
            let query = format!(r#"{{ session(id: "ses_root01") {{{aliases} }} }}"#);
            probe.query(&query, json!({})).await.expect_error(
                400,
                &["QUERY_TOO_COMPLEX"],
                &["aliases", "30"],
            );
        })
        .await;

    cases
        .check("25 root fields", async {
            let roots: String = (1..=25)
                .map(|i| format!(r#" r{i}: session(id: "ses_root01") {{ __typename }}"#))
                .collect();
            let message = probe
                .query(&format!("{{{roots} }}"), json!({}))
                .await
                .expect_error(400, &["QUERY_TOO_COMPLEX"], &["root", "20"]);
            assert!(
                message.to_lowercase().contains("root field") || message.contains("rootFields"),
                "the message does not name root fields: {message}"
            );
        })
        .await;

    cases
        .check("cost of 100 x 100 x 100", async {
            let costly = r#"{ sessions(zoneId: "zone_demo", first: 100) { nodes { ... on UserSession {
                children(first: 100) { nodes { ... on UserSession {
                    children(first: 100) { nodes { id } } } } } } } } }"#;
            let message = probe.query(costly, json!({})).await.expect_error(
                400,
                &["QUERY_TOO_COMPLEX"],
                &["cost"],
            );
            assert!(
                message.contains("25000") || message.contains("25,000"),
                "the message does not give the limit 25000: {message}"
            );
        })
        .await;
    cases
        .check("cost of 100 x 100 x 100 through variables", async {
            let costly = r#"query($n: Int) { sessions(zoneId: "zone_demo", first: $n) {
                nodes { ... on UserSession { children(first: $n) { nodes { ... on UserSession {
                    children(first: $n) { nodes { id } } } } } } } } }"#;
            probe.query(costly, json!({ "n": 100 })).await.expect_error(
                400,
                &["QUERY_TOO_COMPLEX"],
                &["cost"],
            );
        })
        .await;

    cases
        .check("a fragment bomb", async {
            // A fragment spread twice in each of 40 fragments expands to
            // 2^40 fields: refused by its cost, not expanded.
            let mut bomb = String::from(r#"{ session(id: "ses_root01") { ...F0 } }"#);
            for i in 0..40 {
                bomb.push_str(&format!(
                    " fragment F{i} on UserSession {{ ...F{n} ...F{n} }}",
                    n = i + 1
                ));
            }
            bomb.push_str(" fragment F40 on UserSession { id }");
            let started = std::time::Instant::now();
            probe.query(&bomb, json!({})).await.expect_error(
                400,
                &["QUERY_TOO_COMPLEX"],
                &["cost"],
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "took {:?}",
                started.elapsed()
            );
        })
        .await;
    probe.assert_alive().await;
    cases.finish();
}

async fn oversized_requests_are_refused(db: TestDb) {
    let probe = Probe::start(db).await;
    let mut cases = Cases::default();

    cases
        .check("a 2 MiB body", async {
            // Refused with 413 before it is parsed.
            let huge =
                json!({ "query": format!("{{ __typename }}{}", " ".repeat(2 * 1024 * 1024)) });
            let message = probe.post_json("a 2 MiB body", &huge).await.expect_error(
                413,
                &["BAD_USER_INPUT"],
                &["body"],
            );
            assert!(
                message.contains("1048576") || message.contains("1 MiB"),
                "the message does not give the body limit: {message}"
            );
        })
        .await;
    cases
        .check("a body just under 1 MiB", async {
            // Read, and its query text refused.
            let under = json!({ "query": format!("{{ __typename }}{}", " ".repeat(1000 * 1000)) });
            probe
                .post_json("a body just under 1 MiB", &under)
                .await
                .expect_error(400, &["QUERY_TOO_COMPLEX"], &["65536"]);
        })
        .await;

    // Query text over 64 KiB in a body under 1 MiB.
    let padding = 70 * 1024;
    let spaces = format!("{{ __typename{} }}", " ".repeat(padding));
    let comment = format!("# {}\n{{ __typename }}", "x".repeat(padding));
    for (what, query) in [("whitespace", spaces), ("a comment", comment)] {
        let what = format!("70 KiB of {what}");
        cases
            .check(&what, async {
                let message = probe
                    .post_json(&what, &json!({ "query": query }))
                    .await
                    .expect_error(400, &["QUERY_TOO_COMPLEX"], &["query", "65536"]);
                assert!(
                    message.contains(&query.len().to_string()),
                    "the message does not give the size {}: {message}",
                    query.len()
                );
            })
            .await;
    }
    cases
        .check("a query of exactly 64 KiB", async {
            let at_limit = format!(
                "{{ __typename }}{}",
                " ".repeat(65536 - "{ __typename }".len())
            );
            assert_eq!(at_limit.len(), 65536);
            let answer = probe.query(&at_limit, json!({})).await;
            assert_eq!(answer.expect_data()["__typename"], "Query");
        })
        .await;
    cases
        .check("a 900 KiB variable", async {
            // Within the body limit it is only data.
            let big_id = "x".repeat(900 * 1024);
            let answer = probe
                .query(
                    "query($id: ID!) { session(id: $id) { __typename } }",
                    json!({ "id": big_id }),
                )
                .await;
            assert_eq!(answer.assert_clear().expect_data()["session"], Value::Null);
        })
        .await;
    probe.assert_alive().await;
    cases.finish();
}

// ---------------------------------------------------------------------------
// Arguments.

async fn bad_page_sizes_are_bad_user_input(db: TestDb) {
    let probe = Probe::start(db).await;
    let mut cases = Cases::default();
    let sessions = |arguments: &str| {
        format!(r#"{{ sessions(zoneId: "zone_demo", {arguments}) {{ nodes {{ __typename }} }} }}"#)
    };
    let literals: [(&str, &[&str]); 7] = [
        ("first: 1000000", &["first", "100"]),
        ("last: 1000000", &["last", "100"]),
        ("first: 101", &["first", "100"]),
        ("first: -1", &["first", "negative"]),
        ("last: -1", &["last", "negative"]),
        ("first: -2147483648", &["first", "negative"]),
        ("first: 1, last: 1", &["first", "last"]),
    ];
    for (arguments, needles) in literals {
        cases
            .check(arguments, async {
                let answer = probe.query(&sessions(arguments), json!({})).await;
                answer.expect_error(200, &["BAD_USER_INPUT"], needles);
            })
            .await;
    }
    // The same through variables, and on nested and other connections.
    let others: [(&str, Value, &[&str]); 4] = [
        (
            r#"query($n: Int) { sessions(zoneId: "zone_demo", first: $n) { totalCount } }"#,
            json!({ "n": 1_000_000 }),
            &["first", "100"],
        ),
        (
            r#"{ session(id: "ses_root01") { ... on UserSession { children(first: -1) { totalCount } } } }"#,
            json!({}),
            &["first", "negative"],
        ),
        (
            r#"{ user(id: "usr_81aa0e") { sessions(first: 1000000) { totalCount } } }"#,
            json!({}),
            &["first", "100"],
        ),
        (
            r#"{ applications(zoneId: "zone_demo", first: 5, last: 5) { totalCount } }"#,
            json!({}),
            &["first", "last"],
        ),
    ];
    for (query, variables, needles) in others {
        cases
            .check(format!("{query} with {variables}"), async {
                let answer = probe.query(query, variables.clone()).await;
                answer.expect_error(200, &["BAD_USER_INPUT"], needles);
            })
            .await;
    }
    cases
        .check("first: 0", async {
            let answer = probe.query(&sessions("first: 0"), json!({})).await;
            assert_eq!(answer.expect_data()["sessions"]["nodes"], json!([]));
        })
        .await;

    // Not an Int at all: refused, never a 500.
    for arguments in [
        "first: 99999999999",
        "first: 99999999999999999999999",
        "first: 1.5",
        "first: \"10\"",
        "first: true",
        "first: [1]",
        "first: {n: 1}",
        "first: FIRST",
    ] {
        cases
            .check(arguments, async {
                let message = probe
                    .query(&sessions(arguments), json!({}))
                    .await
                    .expect_refused();
                assert!(
                    message.contains("first") || message.contains("Int"),
                    "the message names neither `first` nor Int: {message}"
                );
            })
            .await;
    }
    for n in [
        json!(99_999_999_999_i64),
        json!(1.5),
        json!("10"),
        json!(-1e300),
        json!([1]),
        json!({ "n": 1 }),
    ] {
        cases
            .check(format!("$n = {n}"), async {
                probe
                    .query(
                        r#"query($n: Int) { sessions(zoneId: "zone_demo", first: $n) { totalCount } }"#,
                        json!({ "n": n }),
                    )
                    .await
                    .expect_refused();
            })
            .await;
    }

    // Other arguments of the wrong shape.
    for query in [
        r#"{ sessions(zoneId: "zone_demo", orderBy: {field: NOPE, direction: ASC}) { totalCount } }"#,
        r#"{ sessions(zoneId: "zone_demo", filter: {status: [BOGUS]}) { totalCount } }"#,
        r#"{ sessions(zoneId: "zone_demo", filter: {nope: 1}) { totalCount } }"#,
        r#"{ sessions(zoneId: null) { totalCount } }"#,
        r#"{ sessions(zoneId: ["zone_demo"]) { totalCount } }"#,
        r#"{ nodes(ids: null) { id } }"#,
        r#"mutation { updateSession(id: "ses_root01", input: {status: BOGUS}) { revokedCount } }"#,
        r#"mutation { updateSession(id: "ses_root01", input: {}) { revokedCount } }"#,
        r#"query($id: ID!) { session(id: $id) { __typename } }"#,
    ] {
        cases
            .check(query, async {
                probe.query(query, json!({})).await.expect_refused();
            })
            .await;
    }
    for id in [json!({ "a": 1 }), json!([1, 2]), json!(null), json!(true)] {
        cases
            .check(format!("$id = {id}"), async {
                probe
                    .query(
                        r#"query($id: ID!) { session(id: $id) { __typename } }"#,
                        json!({ "id": id }),
                    )
                    .await
                    .expect_refused();
            })
            .await;
    }
    cases
        .check("101 ids", async {
            let ids: Vec<String> = (0..101).map(|i| format!("ses_{i}")).collect();
            let answer = probe
                .query(
                    "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                    json!({ "ids": ids }),
                )
                .await;
            answer.expect_error(200, &["BAD_USER_INPUT"], &["ids", "100"]);
        })
        .await;
    cases
        .check("updateSession to ACTIVE", async {
            let answer = probe
                .query(
                    r#"mutation { updateSession(id: "ses_root01", input: {status: ACTIVE}) { revokedCount } }"#,
                    json!({}),
                )
                .await;
            answer.expect_error(200, &["BAD_USER_INPUT"], &["REVOKED"]);
        })
        .await;
    probe.assert_alive().await;
    cases.finish();
}

async fn invalid_cursors_are_bad_user_input(db: TestDb) {
    let probe = Probe::start(db).await;
    let mut cases = Cases::default();
    let b64 = |text: &str| URL_SAFE_NO_PAD.encode(text);
    let mut cursors = vec![
        "garbage".to_owned(),
        "%%%".to_owned(),
        "".to_owned(),
        "=".to_owned(),
        "ses_root01".to_owned(),
        // (A NUL anywhere in a request is refused before this: odd_unicode.)
        "😀".to_owned(),
        b64("junk"),
        b64("\u{0}\u{1}\u{2}"),
        b64("created_at|desc"),
        b64("created_at|desc|notanumber|ses_root01"),
        b64("created_at|desc|99999999999999999999|ses_root01"),
        b64("created_at|desc|9223372036854775807|ses_root01"),
        b64("created_at|desc|-9223372036854775808|ses_root01"),
        b64("created_at|desc|0|"),
        b64("created_at|sideways|0|ses_root01"),
        b64("bogus_column|desc|0|ses_root01"),
        URL_SAFE_NO_PAD.encode([0xff, 0xfe, b'|', 0x80]),
    ];
    // A real cursor, padded and suffixed.
    let data = probe
        .query(
            r#"{ sessions(zoneId: "zone_demo", first: 1) { pageInfo { endCursor } } }"#,
            json!({}),
        )
        .await;
    let real = data.expect_data()["sessions"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    cursors.push(format!("{real}=="));
    cursors.push(format!("{real}!"));

    for cursor in &cursors {
        cases
            .check(format!("cursor {cursor:?}"), async {
                for argument in ["after", "before"] {
                    let answer = probe
                        .query(
                            &format!(
                                r#"query($c: String) {{ sessions(zoneId: "zone_demo", {argument}: $c) {{ nodes {{ __typename }} }} }}"#
                            ),
                            json!({ "c": cursor }),
                        )
                        .await;
                    answer.expect_error(200, &["BAD_USER_INPUT"], &[argument]);
                }
                // As a literal in the document too.
                let answer = probe
                    .query(
                        &format!(
                            r#"{{ sessions(zoneId: "zone_demo", after: {}) {{ totalCount }} }}"#,
                            literal(cursor)
                        ),
                        json!({}),
                    )
                    .await;
                answer.expect_error(200, &["BAD_USER_INPUT"], &["after"]);
            })
            .await;
    }
    // On nested and other connections.
    for query in [
        r#"{ session(id: "ses_root01") { ... on UserSession { children(after: "garbage") { totalCount } } } }"#,
        r#"{ user(id: "usr_81aa0e") { sessions(before: "%%%") { totalCount } } }"#,
        r#"{ applications(zoneId: "zone_demo", after: "garbage") { totalCount } }"#,
        r#"{ users(zoneId: "zone_demo", after: "garbage") { totalCount } }"#,
        r#"{ userAgents(zoneId: "zone_demo", before: "garbage") { totalCount } }"#,
    ] {
        cases
            .check(query, async {
                probe
                    .query(query, json!({}))
                    .await
                    .expect_error(200, &["BAD_USER_INPUT"], &[]);
            })
            .await;
    }
    cases
        .check("a cursor of another ordering", async {
            let answer = probe
                .query(
                    r#"query($c: String) { sessions(zoneId: "zone_demo", after: $c,
                        orderBy: {field: EXPIRES_AT, direction: ASC}) { totalCount } }"#,
                    json!({ "c": real }),
                )
                .await;
            answer.expect_error(200, &["BAD_USER_INPUT"], &["after"]);
        })
        .await;
    cases
        .check("a well-formed cursor of no row", async {
            let answer = probe
                .query(
                    r#"query($c: String) { sessions(zoneId: "zone_demo", after: $c) { totalCount } }"#,
                    json!({ "c": b64("created_at|desc|0|no_such_session") }),
                )
                .await;
            answer.assert_clear();
        })
        .await;
    probe.assert_alive().await;
    cases.finish();
}

// ---------------------------------------------------------------------------
// Lookups.

async fn unknown_ids_are_null_or_not_found(db: TestDb) {
    let probe = Probe::start(db).await;
    let mut cases = Cases::default();
    cases
        .check("lookups of unknown ids", async {
            let answer = probe
                .query(
                    r#"{
                        session(id: "no_such_session") { __typename }
                        node(id: "no_such_node") { id }
                        nodes(ids: ["nope", "ses_root01", "also_nope"]) { id }
                        user(id: "nope") { id }
                        application(id: "nope") { id }
                        userAgent(id: "nope") { id }
                        wrongKind: session(id: "usr_81aa0e") { __typename }
                        empty: sessions(zoneId: "no_such_zone") { totalCount nodes { __typename } }
                    }"#,
                    json!({}),
                )
                .await;
            let data = answer.expect_data();
            assert_eq!(data["session"], Value::Null);
            assert_eq!(data["node"], Value::Null);
            assert_eq!(
                data["nodes"],
                json!([null, { "id": "ses_root01" }, null]),
                "{}",
                answer.text
            );
            assert_eq!(data["user"], Value::Null);
            assert_eq!(data["application"], Value::Null);
            assert_eq!(data["userAgent"], Value::Null);
            assert_eq!(data["wrongKind"], Value::Null);
            assert_eq!(data["empty"], json!({ "totalCount": 0, "nodes": [] }));
        })
        .await;

    let mutations: [(&str, &str); 3] = [
        (
            r#"mutation { updateSession(id: "no_such_session", input: {status: REVOKED}) { revokedCount } }"#,
            "no_such_session",
        ),
        (
            r#"mutation { deleteSession(id: "no_such_session") { deletedCount } }"#,
            "no_such_session",
        ),
        // A user's id is not a session's.
        (
            r#"mutation { updateSession(id: "usr_81aa0e", input: {status: REVOKED}) { revokedCount } }"#,
            "usr_81aa0e",
        ),
    ];
    for (mutation, id) in mutations {
        cases
            .check(mutation, async {
                probe
                    .query(mutation, json!({}))
                    .await
                    .expect_error(200, &["NOT_FOUND"], &[id]);
            })
            .await;
    }
    cases
        .check("nothing changed", async {
            let answer = probe
                .query(
                    r#"{ session(id: "ses_root01") { ... on UserSession { status } } }"#,
                    json!({}),
                )
                .await;
            assert_eq!(answer.expect_data()["session"]["status"], "ACTIVE");
        })
        .await;
    probe.assert_alive().await;
    cases.finish();
}

// ---------------------------------------------------------------------------
// Odd unicode.

/// Ids no record has, none of which may break the server.
pub fn odd_ids() -> Vec<(&'static str, String)> {
    vec![
        ("NUL", "\u{0}".to_owned()),
        ("an id with NUL inside", "ses_root01\u{0}x".to_owned()),
        (
            "control characters",
            "\u{1}\u{7}\u{8}\u{1b}\u{7f}".to_owned(),
        ),
        ("RTL override", "\u{202e}10toor_ses".to_owned()),
        ("emoji", "😀🔥👩‍👩‍👧‍👦".to_owned()),
        (
            "BOM and zero-width space",
            "\u{feff}ses_root01\u{200b}".to_owned(),
        ),
        ("combining marks", "s\u{301}\u{302}\u{303}es".to_owned()),
        ("the replacement character", "\u{fffd}".to_owned()),
        ("a private-use character", "\u{10ffff}".to_owned()),
        ("SQL", "'; DROP TABLE sessions; --".to_owned()),
        ("LIKE wildcards", "%_\\".to_owned()),
        ("quotes and backslashes", "\"\\'\\\\".to_owned()),
        ("newlines", "ses\r\nroot\n01".to_owned()),
        ("an empty id", String::new()),
        ("10k characters", "x".repeat(10_000)),
        ("10k emoji", "😀".repeat(10_000)),
    ]
}

async fn odd_unicode_is_answered(db: TestDb) {
    let probe = Probe::start(db).await;
    let mut cases = Cases::default();
    for (what, id) in odd_ids() {
        cases
            .check(format!("{what} in lookups through variables"), async {
                let answer = probe
                    .query(
                        r#"query($id: ID!) {
                            session(id: $id) { __typename }
                            node(id: $id) { id }
                            nodes(ids: [$id, "ses_root01"]) { id }
                            user(id: $id) { id }
                            sessions(zoneId: $id) { totalCount nodes { __typename } }
                            filtered: sessions(zoneId: "zone_demo", filter: {userId: $id, applicationId: $id, userAgentId: $id}) { totalCount }
                        }"#,
                        json!({ "id": id }),
                    )
                    .await;
                answer.assert_clear();
                if answer.errors().is_empty() {
                    let data = &answer.body["data"];
                    assert_eq!(data["session"], Value::Null, "{}", clip(&answer.text));
                    assert_eq!(data["node"], Value::Null);
                    assert_eq!(data["nodes"], json!([null, { "id": "ses_root01" }]));
                    assert_eq!(data["user"], Value::Null);
                    assert_eq!(data["sessions"]["totalCount"], 0);
                    assert_eq!(data["filtered"]["totalCount"], 0);
                } else {
                    assert_eq!(answer.code(), "BAD_USER_INPUT", "{}", clip(&answer.text));
                }
            })
            .await;
        cases
            .check(format!("{what} as literals"), async {
                let id_literal = literal(&id);
                let answer = probe
                    .query(
                        &format!(
                            "{{ session(id: {id_literal}) {{ __typename }} sessions(zoneId: {id_literal}) {{ totalCount }} }}"
                        ),
                        json!({}),
                    )
                    .await;
                answer.assert_clear();
                if answer.errors().is_empty() {
                    assert_eq!(answer.body["data"]["session"], Value::Null);
                }
            })
            .await;
        cases
            .check(format!("deleteSession of {what}"), async {
                let answer = probe
                    .query(
                        "mutation($id: ID!) { deleteSession(id: $id) { deletedCount } }",
                        json!({ "id": id }),
                    )
                    .await;
                answer.assert_clear();
                assert!(
                    matches!(answer.code(), "NOT_FOUND" | "BAD_USER_INPUT"),
                    "{}",
                    clip(&answer.text)
                );
            })
            .await;
        cases
            .check(format!("{what} as operationName"), async {
                // Not an operation the document defines.
                let answer = probe
                    .post_json(
                        format!("operationName {what}"),
                        &json!({ "query": "query Q { __typename }", "operationName": id }),
                    )
                    .await;
                answer.assert_clear();
                assert!(
                    matches!(
                        answer.code(),
                        "GRAPHQL_VALIDATION_FAILED" | "BAD_USER_INPUT"
                    ),
                    "{}",
                    clip(&answer.text)
                );
            })
            .await;
        cases
            .check(format!("{what} as an unused variable's name"), async {
                let answer = probe
                    .post_json(
                        format!("a variable named {what}"),
                        &json!({ "query": "{ __typename }", "variables": { id.clone(): id } }),
                    )
                    .await;
                answer.assert_clear();
            })
            .await;
    }

    // Escapes the JSON body cannot hold as Unicode (lone surrogates), and
    // escapes in the GraphQL document that decode to none.
    let bodies = [
        r#"{"query": "{ session(id: \"\ud800\") { __typename } }"}"#,
        r#"{"query": "query($id: ID!) { session(id: $id) { __typename } }", "variables": {"id": "\ud800"}}"#,
        r#"{"query": "query($id: ID!) { session(id: $id) { __typename } }", "variables": {"id": "\udc00\ud800"}}"#,
        r#"{"query": "{ __typename }", "operationName": "\ud800"}"#,
        r#"{"query": "{ __typename }", "variables": {"\ud800": 1}}"#,
        r#"{"query": "{ __typename }", "extensions": {"x": "\udfff"}}"#,
        r#"{"query": "query($id: ID!) { session(id: $id) { __typename } }", "variables": {"id": "\u0000"}}"#,
        r#"{"query": "{ session(id: \"\\ud800\") { __typename } }"}"#,
        r#"{"query": "{ session(id: \"\\udc00\\ud800\") { __typename } }"}"#,
        r#"{"query": "{ session(id: \"\\u0000\") { __typename } }"}"#,
        r#"{"query": "{ session(id: \"\\uZZZZ\") { __typename } }"}"#,
        r#"{"query": "{ session(id: \"\\u{1F600}\") { __typename } }"}"#,
    ];
    for body in bodies {
        cases
            .check(format!("POST {body}"), async {
                let answer = probe.post_raw(format!("POST {body}"), body).await;
                answer.assert_clear();
                if answer.errors().is_empty() {
                    let data = &answer.body["data"];
                    assert!(
                        data["session"].is_null() || data["__typename"] == "Query",
                        "{}",
                        answer.text
                    );
                }
            })
            .await;
    }

    // Odd bytes in a GET's parameters.
    for query in [
        "query=%00",
        "query=%ff%fe",
        "query=%7B%20session(id%3A%20%22%00%22)%20%7B%20__typename%20%7D%20%7D",
        "query=%7B__typename%7D&operationName=%E2%80%AE",
        "query=%zz",
    ] {
        cases
            .check(format!("GET ?{query}"), async {
                let url = format!("{}?{query}", probe.url("/graphql"));
                let answer = probe
                    .send(
                        format!("GET ?{query}"),
                        probe.http.get(url).header("accept", MODERN),
                    )
                    .await;
                answer.assert_clear();
            })
            .await;
    }
    probe.assert_alive().await;
    cases.finish();
}

// ---------------------------------------------------------------------------
// Deep nesting.

/// Values, selections and fragments nested thousands deep within the 64 KiB
/// query limit: refused with a code, and the server lives on. Run on the
/// real binary in its own process, as a stack overflow aborts the process.
async fn deep_nesting_does_not_crash_the_server(db: TestDb) {
    let mut probe = Probe::start_process(db).await;
    let mut cases = Cases::default();
    let lists = |n: usize, inner: &str| format!("{}{inner}{}", "[".repeat(n), "]".repeat(n));
    let objects = |n: usize| format!("{}1{}", "{a: ".repeat(n), "}".repeat(n));
    let mut inputs = Vec::new();
    // The parser gives up by itself somewhere past 6,000 levels; below
    // that, each level costs stack.
    for depth in [1_500, 3_000, 6_000, 30_000] {
        inputs.push((
            format!("lists {depth} deep in an argument"),
            format!(
                r#"{{ session(id: {}) {{ __typename }} }}"#,
                lists(depth, "\"x\"")
            ),
        ));
        inputs.push((
            format!("objects {depth} deep in an argument"),
            format!(
                r#"{{ sessions(zoneId: "zone_demo", filter: {}) {{ totalCount }} }}"#,
                objects(depth.min(12_000))
            ),
        ));
    }
    for depth in [3_000, 20_000] {
        inputs.push((
            format!("lists {depth} deep in a variable's default"),
            format!("query($v: [ID] = {}) {{ __typename }}", lists(depth, "1")),
        ));
        inputs.push((
            format!("lists {depth} deep in a directive"),
            format!("{{ __typename @include(if: {}) }}", lists(depth, "true")),
        ));
    }
    inputs.push((
        "selections 12,000 deep".to_owned(),
        format!("{}{}", "{ a ".repeat(12_000), "}".repeat(12_000)),
    ));
    inputs.push((
        "inline fragments 7,500 deep".to_owned(),
        format!(
            "{{ {}__typename{} }}",
            "... { ".repeat(7_500),
            " }".repeat(7_500)
        ),
    ));
    for (what, query) in &inputs {
        assert!(query.len() <= 65536, "{what}: {} bytes", query.len());
        cases
            .check(what, async {
                let answer = probe.query(query, json!({})).await;
                answer.assert_clear();
                answer.expect_error(
                    400,
                    &[
                        "GRAPHQL_PARSE_FAILED",
                        "GRAPHQL_VALIDATION_FAILED",
                        "QUERY_TOO_COMPLEX",
                    ],
                    &[],
                );
            })
            .await;
        if let Some(exit) = probe.revive().await {
            cases.fail(what, exit);
        }
    }
    // Deep JSON in the variables (beyond serde_json's recursion limit).
    let deep_json = format!(
        r#"{{"query": "query($v: [ID]) {{ __typename }}", "variables": {{"v": {}}}}}"#,
        lists(20_000, "1")
    );
    cases
        .check("JSON variables 20,000 deep", async {
            probe
                .post_raw("JSON variables 20,000 deep", deep_json)
                .await
                .expect_error(400, &["BAD_USER_INPUT"], &[]);
        })
        .await;
    if let Some(exit) = probe.revive().await {
        cases.fail("JSON variables 20,000 deep", exit);
    }
    probe.assert_alive().await;
    cases.finish();
}

// ---------------------------------------------------------------------------
// GET.

async fn get_refuses_mutations_and_bad_parameters(db: TestDb) {
    let probe = Probe::start(db).await;
    let mut cases = Cases::default();
    let mutation = r#"mutation { deleteSession(id: "ses_root01") { deletedCount } }"#;
    let named =
        "query Q { __typename } mutation M { deleteSession(id: \"ses_root01\") { deletedCount } }";
    for (what, params) in [
        ("a mutation", vec![("query", mutation)]),
        (
            "a named mutation",
            vec![("query", named), ("operationName", "M")],
        ),
    ] {
        let what = format!("GET with {what}");
        cases
            .check(&what, async {
                let answer = probe
                    .send(&what, probe.get().header("accept", MODERN).query(&params))
                    .await;
                answer.expect_error(405, &["BAD_USER_INPUT"], &["POST"]);
            })
            .await;
    }
    cases
        .check("nothing was deleted", async {
            let answer = probe
                .query(r#"{ session(id: "ses_root01") { __typename } }"#, json!({}))
                .await;
            assert_eq!(answer.expect_data()["session"]["__typename"], "UserSession");
        })
        .await;

    for (what, params, needle) in [
        (
            "malformed variables",
            vec![("query", "{ __typename }"), ("variables", "{not json")],
            "variables",
        ),
        (
            "truncated variables",
            vec![("query", "{ __typename }"), ("variables", "{\"id\": ")],
            "variables",
        ),
        (
            "malformed extensions",
            vec![("query", "{ __typename }"), ("extensions", "[[[")],
            "extensions",
        ),
    ] {
        let what = format!("GET with {what}");
        cases
            .check(&what, async {
                let answer = probe
                    .send(&what, probe.get().header("accept", MODERN).query(&params))
                    .await;
                answer.expect_error(400, &["BAD_USER_INPUT"], &[needle]);
            })
            .await;
    }
    cases
        .check("GET without parameters", async {
            let answer = probe
                .send(
                    "GET without parameters",
                    probe.get().header("accept", MODERN),
                )
                .await;
            answer.assert_clear();
            assert!(!answer.errors().is_empty(), "{}", answer.text);
        })
        .await;
    probe.assert_alive().await;
    cases.finish();
}

crate::on_both_databases!(
    malformed_bodies_are_bad_user_input,
    wrong_media_types_are_refused,
    invalid_documents_get_their_codes,
    documents_over_the_limits_are_too_complex,
    oversized_requests_are_refused,
    bad_page_sizes_are_bad_user_input,
    invalid_cursors_are_bad_user_input,
    unknown_ids_are_null_or_not_found,
    odd_unicode_is_answered,
    deep_nesting_does_not_crash_the_server,
    get_refuses_mutations_and_bad_parameters,
);
