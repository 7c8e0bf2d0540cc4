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
