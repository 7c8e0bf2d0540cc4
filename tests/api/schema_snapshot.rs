//! `schema.graphql` at the repository root is the committed contract:
//! it must equal what the binary prints.

#[test]
fn schema_graphql_matches_the_binary() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the repository root");
    let current = sessiongraph::graphql::sdl();
    assert!(
        committed == current,
        "schema.graphql is out of date. Regenerate it with:\n\n    cargo run -- schema > schema.graphql\n\nand review the diff: frontends and snapshot tests depend on it."
    );
}

#[tokio::test]
async fn schema_command_prints_the_sdl() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_sessiongraph"))
        .arg("schema")
        .output()
        .await
        .expect("run sessiongraph schema");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        sessiongraph::graphql::sdl()
    );
}

/// A field as introspection describes it, type and arguments included.
const FIELDS: &str = r#"fields(includeDeprecated: true) {
  name description isDeprecated deprecationReason
  args { name description type { ...T } defaultValue }
  type { ...T } }"#;
const TYPE_REF: &str = "fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// `IdentitySession` declares the fields both session types share, and
/// only through its declarations do clients see them once: each must be
/// the members' field exactly (type, nullability, arguments, description,
/// deprecation), or selecting it through the interface would tell a
/// different story from selecting it on the member.
#[tokio::test]
async fn identity_session_declares_the_members_shared_fields_exactly() {
    let schema = sessiongraph::graphql::build_schema(None, None, true);
    let query = format!(
        r#"{{ identity: __type(name: "IdentitySession") {{ interfaces {{ name }} possibleTypes {{ name }} {FIELDS} }}
             user: __type(name: "UserSession") {{ interfaces {{ name }} {FIELDS} }}
             application: __type(name: "ApplicationSession") {{ interfaces {{ name }} {FIELDS} }} }}
           {TYPE_REF}"#
    );
    let response = schema.execute(query.as_str()).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().expect("JSON");
    let names = |value: &serde_json::Value| -> Vec<String> {
        value
            .as_array()
            .expect("list")
            .iter()
            .map(|t| t["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(names(&data["identity"]["interfaces"]), ["Node"]);
    assert_eq!(
        names(&data["identity"]["possibleTypes"]),
        ["UserSession", "ApplicationSession"]
    );
    let shared = data["identity"]["fields"].as_array().expect("fields");
    let declared: Vec<String> = names(&data["identity"]["fields"]);
    assert_eq!(
        declared,
        [
            "id",
            "status",
            "active",
            "zoneId",
            "organizationId",
            "applicationId",
            "application",
            "authenticatedAt",
            "createdAt",
            "updatedAt",
            "expiresAt",
            "issuer",
            "subject",
            "providerId",
            "metadata",
            "sessionData"
        ]
    );
    for member in ["user", "application"] {
        assert_eq!(
            names(&data[member]["interfaces"]),
            ["Node", "IdentitySession"],
            "{member}"
        );
        let fields = data[member]["fields"].as_array().expect("fields");
        for field in shared {
            let own = fields
                .iter()
                .find(|f| f["name"] == field["name"])
                .unwrap_or_else(|| panic!("{member} lacks {}", field["name"]));
            assert_eq!(own, field, "{member}.{}", field["name"]);
        }
    }
    // The deprecation SPEC §1 gives `active` holds on the interface too.
    let active = shared
        .iter()
        .find(|f| f["name"] == "active")
        .expect("active");
    assert_eq!(active["deprecationReason"], "Use `status`.");
}
