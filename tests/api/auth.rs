//! Authentication and tenancy over HTTP: bearer tokens verified against a
//! shared secret or a JWKS document, every statement limited to the token's
//! zones and organization, scopes, open mode, and `sessiongraph token`.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use sessiongraph::auth::{AuthSettings, KeySource};
use sessiongraph::server::{Application, ServerConfig};

use crate::helpers::*;

const SECRET: &str = "auth-tests-shared-secret-0123456789abcdef";
const OTHER_SECRET: &str = "not-the-server-secret-0123456789abcdefgh";

const DEMO_ZONE: &str = "zone_demo";
const DEMO_ORG: &str = "org_demo";
const OTHER_ZONE: &str = "zone_other";
const OTHER_ORG: &str = "org_other";

const READ: &str = "sessions:read";
const WRITE: &str = "sessions:write";
const READ_WRITE: &str = "sessions:read sessions:write";

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

const COUNT_DEMO: &str = r#"{ sessions(zoneId: "zone_demo") { totalCount } }"#;

const REVOKE: &str = r#"
mutation ($id: ID!) {
  updateSession(id: $id, input: { status: REVOKED }) {
    revokedCount
    session { ... on UserSession { id status } ... on ApplicationSession { id status } }
  }
}"#;

const DELETE: &str = r#"
mutation ($id: ID!) {
  deleteSession(id: $id) { deletedSessionId deletedCount }
}"#;

// ---------------------------------------------------------------------------
// Fixture: two tenants

/// Every record of the example document (zone_demo, org_demo) plus a copy
/// of each with its ids prefixed by `x`, in zone_other. The copies of the
/// applications, users and user agents belong to org_other; the copies of
/// the sessions belong to no organization, so a token for org_demo that
/// grants zone_other sees those sessions but none of what they point to.
fn two_tenant_document() -> Value {
    let mut document = example_document();
    for kind in ["applications", "users", "user_agents", "sessions"] {
        let copies: Vec<Value> = document[kind]
            .as_array()
            .expect("array")
            .iter()
            .map(|record| {
                let mut record = record.clone();
                let object = record.as_object_mut().expect("record");
                for key in [
                    "id",
                    "user_id",
                    "application_id",
                    "user_agent_id",
                    "parent_id",
                ] {
                    if let Some(Value::String(id)) = object.get(key) {
                        let prefixed = format!("x{id}");
                        object.insert(key.to_owned(), json!(prefixed));
                    }
                }
                object.insert("zone_id".to_owned(), json!(OTHER_ZONE));
                if kind == "sessions" {
                    object.insert("organization_id".to_owned(), Value::Null);
                } else {
                    object.insert("organization_id".to_owned(), json!(OTHER_ORG));
                }
                record
            })
            .collect();
        document[kind].as_array_mut().expect("array").extend(copies);
    }
    document
}

/// The sessions of zone_other, all without organization.
const OTHER_SESSIONS: [&str; 3] = ["xses_root01", "xses_child01", "xses_app01"];

/// Imports `document`, then serves it with `auth`.
async fn spawn_authenticated(db: TestDb, document: &Value, auth: AuthSettings) -> TestApp {
    spawn_app_with_configured(db, document, |config| config.auth = auth).await
}

fn secret_settings() -> AuthSettings {
    AuthSettings {
        keys: Some(KeySource::Secret(SECRET.to_owned())),
        ..AuthSettings::default()
    }
}

fn jwks_settings() -> AuthSettings {
    AuthSettings {
        keys: Some(KeySource::JwksFile(key_path("jwks.json"))),
        ..AuthSettings::default()
    }
}

// ---------------------------------------------------------------------------
// Tokens

fn key_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name)
}

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(key_path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Claims of a token valid for ten minutes.
fn claims(org: &str, zones: &[&str], scope: &str) -> Value {
    json!({
        "sub": "auth-test", "exp": now() + 600,
        "org": org, "zones": zones, "scope": scope
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("claims").remove(key);
    claims
}

fn header(algorithm: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    header
}

fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("sign a test token")
}

fn hs256(secret: &[u8], claims: &Value) -> String {
    sign(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

/// An RSA-signed token (RS256 unless `algorithm` says otherwise).
fn rsa(algorithm: Algorithm, pem: &str, kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(&key_file(pem)).expect("RSA key");
    sign(&header(algorithm, kid), claims, &key)
}

fn es256(kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_ec_pem(&key_file("ec_private.pem")).expect("EC key");
    sign(&header(Algorithm::ES256, kid), claims, &key)
}

/// A token of the server's secret for `org`, `zones` and `scope`.
fn token(org: &str, zones: &[&str], scope: &str) -> String {
    hs256(SECRET.as_bytes(), &claims(org, zones, scope))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token assembled by hand: `header` and `claims` as given, any signature.
fn assembled(header: &str, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// The three segments of a compact JWT.
fn segments(token: &str) -> [String; 3] {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWT: {token}");
    [
        parts[0].to_owned(),
        parts[1].to_owned(),
        parts[2].to_owned(),
    ]
}

/// The claims of a token, read without verifying it.
fn unverified_claims(token: &str) -> Value {
    let [_, claims, _] = segments(token);
    let bytes = URL_SAFE_NO_PAD.decode(claims).expect("base64url claims");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn der_unsigned(magnitude: &[u8]) -> Vec<u8> {
    let start = magnitude
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(magnitude.len());
    let mut content = Vec::new();
    if magnitude.get(start).is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(&magnitude[start..]);
    der(0x02, &content)
}

fn pem(label: &str, der: &[u8]) -> String {
    let text = STANDARD.encode(der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The public half of `rsa-1`, built from `jwks.json` the way anyone who
/// fetched the JWKS could: SubjectPublicKeyInfo PEM, PKCS#1 PEM, and the
/// SubjectPublicKeyInfo DER. Algorithm-confusion attacks use these bytes
/// as an HMAC secret.
fn rsa_public_key_encodings() -> Vec<(&'static str, Vec<u8>)> {
    let jwks: Value = serde_json::from_slice(&key_file("jwks.json")).expect("jwks JSON");
    let key = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|key| key["kid"] == "rsa-1")
        .expect("rsa-1 in jwks.json");
    let part = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(key[name].as_str().expect("base64url"))
            .expect("base64url")
    };
    let pkcs1 = der(
        0x30,
        &[der_unsigned(&part("n")), der_unsigned(&part("e"))].concat(),
    );
    // rsaEncryption (1.2.840.113549.1.1.1), NULL parameters.
    let algorithm = der(
        0x30,
        &[
            der(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            der(0x05, &[]),
        ]
        .concat(),
    );
    let spki = der(
        0x30,
        &[algorithm, der(0x03, &[&[0u8][..], &pkcs1].concat())].concat(),
    );
    let spki_pem = pem("PUBLIC KEY", &spki);
    let encodings = vec![
        ("SubjectPublicKeyInfo PEM", spki_pem.clone().into_bytes()),
        (
            "SubjectPublicKeyInfo PEM without final newline",
            spki_pem.trim_end().as_bytes().to_vec(),
        ),
        ("PKCS#1 PEM", pem("RSA PUBLIC KEY", &pkcs1).into_bytes()),
        ("SubjectPublicKeyInfo DER", spki),
        ("the JWKS document", key_file("jwks.json")),
    ];
    // The encodings really are rsa-1's public key: they verify its tokens.
    let genuine = rsa(
        Algorithm::RS256,
        "rsa_private.pem",
        None,
        &claims(DEMO_ORG, &[DEMO_ZONE], READ),
    );
    for (name, bytes) in &encodings[..3] {
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(bytes)
            .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
        jsonwebtoken::decode::<Value>(
            &genuine,
            &key,
            &jsonwebtoken::Validation::new(Algorithm::RS256),
        )
        .unwrap_or_else(|e| panic!("{name} is not rsa-1's public key: {e}"));
    }
    encodings
}

// ---------------------------------------------------------------------------
// Requests

struct Reply {
    status: u16,
    challenge: Option<String>,
    body: Value,
}

/// POSTs a GraphQL request with `authorization` as the header, if any.
async fn post(
    app: &TestApp,
    authorization: Option<&str>,
    accept: Option<&str>,
    query: &str,
    variables: Value,
) -> Reply {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await.expect("POST /graphql");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().expect("ASCII challenge").to_owned());
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"));
    Reply {
        status,
        challenge,
        body,
    }
}

/// Requests made with one bearer token.
struct Caller<'a> {
    app: &'a TestApp,
    authorization: String,
}

impl<'a> Caller<'a> {
    fn new(app: &'a TestApp, token: &str) -> Self {
        Caller {
            app,
            authorization: format!("Bearer {token}"),
        }
    }

    async fn post(&self, query: &str, variables: Value) -> Reply {
        post(
            self.app,
            Some(&self.authorization),
            Some(GRAPHQL_RESPONSE),
            query,
            variables,
        )
        .await
    }

    /// The `data` of a request that must succeed without errors.
    async fn data(&self, query: &str, variables: Value) -> Value {
        let reply = self.post(query, variables).await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        assert!(
            reply.body.get("errors").is_none(),
            "{query}: errors: {}",
            reply.body
        );
        reply.body["data"].clone()
    }
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

fn data_is_null(body: &Value) -> bool {
    body.get("data").is_none_or(Value::is_null)
}

/// The body without its request ids, which differ per request.
fn without_request_ids(mut body: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(object) => {
                object.remove("requestId");
                object.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut body);
    body
}

/// A 401 as RFC 6750 describes it, coded UNAUTHENTICATED, with no data.
fn assert_unauthenticated(reply: &Reply, case: &str) {
    assert_eq!(reply.status, 401, "{case}: {}", reply.body);
    let challenge = reply
        .challenge
        .as_deref()
        .unwrap_or_else(|| panic!("{case}: no WWW-Authenticate header"));
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains(r#"realm="sessiongraph""#),
        "{case}: challenge {challenge:?}"
    );
    assert_eq!(
        code(&reply.body),
        "UNAUTHENTICATED",
        "{case}: {}",
        reply.body
    );
    assert!(data_is_null(&reply.body), "{case}: {}", reply.body);
}

fn ids_of(connection: &Value) -> Vec<String> {
    let mut ids: Vec<String> = connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {connection}"))
        .iter()
        .map(|node| node["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

/// Everything stored in `zone`, for checking that nothing there changed.
async fn zone_records(app: &TestApp, zone: &str) -> Value {
    let stored = snapshot(&app.db.connect().await).await;
    let value = serde_json::to_value(&stored).expect("dataset JSON");
    let mut filtered = json!({});
    for (kind, records) in value.as_object().expect("dataset") {
        let records: Vec<Value> = records
            .as_array()
            .expect("records")
            .iter()
            .filter(|record| record["zone_id"] == zone)
            .cloned()
            .collect();
        filtered[kind] = json!(records);
    }
    filtered
}

// ---------------------------------------------------------------------------
// 1. Tokens

async fn requests_without_a_valid_token_are_unauthenticated(db: TestDb) {
    let app = spawn_authenticated(db, &two_tenant_document(), secret_settings()).await;
    let before = snapshot(&app.db.connect().await).await;
    let good = claims(DEMO_ORG, &[DEMO_ZONE], READ_WRITE);
    let valid = hs256(SECRET.as_bytes(), &good);
    let [head, payload, signature] = segments(&valid);
    let stale = now() - 120;
    let fixed: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("an empty Authorization header", Some(String::new())),
        ("the scheme alone", Some("Bearer".into())),
        ("the scheme and a space", Some("Bearer ".into())),
        ("Basic credentials", Some("Basic YWxpY2U6c2VjcmV0".into())),
        ("a valid token under Basic", Some(format!("Basic {valid}"))),
        ("a valid token without a scheme", Some(valid.clone())),
        ("a valid token under Token", Some(format!("Token {valid}"))),
        (
            "a valid token twice",
            Some(format!("Bearer {valid} {valid}")),
        ),
        ("garbage", Some("Bearer garbage".into())),
        ("three garbage segments", Some("Bearer a.b.c".into())),
        ("binary noise", Some(format!("Bearer {}", b64(&[0xff; 48])))),
        ("two segments", Some(format!("Bearer {head}.{payload}"))),
        (
            "the signature stripped",
            Some(format!("Bearer {head}.{payload}.")),
        ),
        (
            "claims swapped under a valid signature",
            Some(format!(
                "Bearer {head}.{}.{signature}",
                b64(claims(OTHER_ORG, &[OTHER_ZONE], READ_WRITE)
                    .to_string()
                    .as_bytes())
            )),
        ),
        (
            "signed with another secret",
            Some(format!("Bearer {}", hs256(OTHER_SECRET.as_bytes(), &good))),
        ),
        (
            "HS512 with the server's secret",
            Some(format!(
                "Bearer {}",
                sign(
                    &Header::new(Algorithm::HS512),
                    &good,
                    &EncodingKey::from_secret(SECRET.as_bytes())
                )
            )),
        ),
        (
            "expired two minutes ago",
            Some(format!(
                "Bearer {}",
                hs256(SECRET.as_bytes(), &with(good.clone(), "exp", json!(stale)))
            )),
        ),
        (
            "not valid for two more minutes (nbf)",
            Some(format!(
                "Bearer {}",
                hs256(
                    SECRET.as_bytes(),
                    &with(good.clone(), "nbf", json!(now() + 120))
                )
            )),
        ),
        (
            "alg none, no signature",
            Some(format!(
                "Bearer {}",
                assembled(r#"{"alg":"none","typ":"JWT"}"#, &good, "")
            )),
        ),
        (
            "alg None with a valid signature",
            Some(format!(
                "Bearer {}",
                assembled(r#"{"alg":"None","typ":"JWT"}"#, &good, &signature)
            )),
        ),
        (
            "alg NONE",
            Some(format!(
                "Bearer {}",
                assembled(r#"{"alg":"NONE"}"#, &good, "")
            )),
        ),
        (
            "no alg at all",
            Some(format!(
                "Bearer {}",
                assembled(r#"{"typ":"JWT"}"#, &good, &signature)
            )),
        ),
    ];
    let mut cases: Vec<(String, Option<String>)> = fixed
        .into_iter()
        .map(|(case, authorization)| (case.to_owned(), authorization))
        .collect();
    for claim in ["sub", "exp", "org", "zones", "scope"] {
        let token = hs256(SECRET.as_bytes(), &without(good.clone(), claim));
        cases.push((
            format!("no `{claim}` claim"),
            Some(format!("Bearer {token}")),
        ));
    }
    for (case, claim, value) in [
        ("`zones` a string", "zones", json!(DEMO_ZONE)),
        ("`org` null", "org", Value::Null),
        ("`exp` a string", "exp", json!("tomorrow")),
    ] {
        let token = hs256(SECRET.as_bytes(), &with(good.clone(), claim, value));
        cases.push((case.to_owned(), Some(format!("Bearer {token}"))));
    }

    for (case, authorization) in &cases {
        // A mutation: if anything ran, the snapshot below would show it.
        let reply = post(
            &app,
            authorization.as_deref(),
            Some(GRAPHQL_RESPONSE),
            DELETE,
            json!({ "id": "ses_root01" }),
        )
        .await;
        assert_unauthenticated(&reply, case);
        // Legacy JSON clients get the same 401.
        let reply = post(&app, authorization.as_deref(), None, COUNT_DEMO, json!({})).await;
        assert_unauthenticated(&reply, &format!("{case} (application/json)"));
    }
    // GET needs the token as much as POST does.
    let response = app
        .client
        .get(app.url("/graphql?query=%7B__typename%7D"))
        .header("accept", GRAPHQL_RESPONSE)
        .send()
        .await
        .expect("GET /graphql");
    assert_eq!(response.status(), 401);
    assert!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer ")),
        "{:?}",
        response.headers()
    );
    assert_eq!(snapshot(&app.db.connect().await).await, before);

    // Valid tokens: the scheme is case-insensitive, and a token that
    // expired within the leeway (60 s) still counts.
    let recent = hs256(
        SECRET.as_bytes(),
        &with(good.clone(), "exp", json!(now() - 30)),
    );
    for authorization in [
        format!("Bearer {valid}"),
        format!("bearer {valid}"),
        format!("BEARER  {valid} "),
        format!("Bearer {recent}"),
    ] {
        let reply = post(
            &app,
            Some(&authorization),
            Some(GRAPHQL_RESPONSE),
            COUNT_DEMO,
            json!({}),
        )
        .await;
        assert_eq!(reply.status, 200, "{authorization}: {}", reply.body);
        assert_eq!(
            reply.body,
            json!({ "data": { "sessions": { "totalCount": 3 } } }),
            "{authorization}"
        );
        assert!(reply.challenge.is_none());
    }
    // Health needs no token.
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

async fn jwks_keys_verify_rs256_and_es256_tokens(db: TestDb) {
    let app = spawn_authenticated(db, &two_tenant_document(), jwks_settings()).await;
    let good = claims(DEMO_ORG, &[DEMO_ZONE], READ);
    let accepted = [
        (
            "RS256 by rsa-1",
            rsa(Algorithm::RS256, "rsa_private.pem", Some("rsa-1"), &good),
        ),
        (
            "RS256 without kid",
            rsa(Algorithm::RS256, "rsa_private.pem", None, &good),
        ),
        ("ES256 by ec-1", es256(Some("ec-1"), &good)),
        ("ES256 without kid", es256(None, &good)),
    ];
    for (case, token) in &accepted {
        let reply = Caller::new(&app, token).post(COUNT_DEMO, json!({})).await;
        assert_eq!(reply.status, 200, "{case}: {}", reply.body);
        assert_eq!(
            reply.body["data"]["sessions"]["totalCount"], 3,
            "{case}: {}",
            reply.body
        );
    }

    let mut refused = vec![
        (
            "RS256 by an unknown key claiming rsa-1".to_owned(),
            rsa(
                Algorithm::RS256,
                "other_rsa_private.pem",
                Some("rsa-1"),
                &good,
            ),
        ),
        (
            "RS256 by an unknown key without kid".to_owned(),
            rsa(Algorithm::RS256, "other_rsa_private.pem", None, &good),
        ),
        (
            "RS256 by rsa-1 naming an unknown kid".to_owned(),
            rsa(Algorithm::RS256, "rsa_private.pem", Some("rsa-2"), &good),
        ),
        (
            "RS256 by rsa-1 naming the EC key".to_owned(),
            rsa(Algorithm::RS256, "rsa_private.pem", Some("ec-1"), &good),
        ),
        (
            "ES256 by ec-1 naming the RSA key".to_owned(),
            es256(Some("rsa-1"), &good),
        ),
        (
            "RS512 by rsa-1".to_owned(),
            rsa(Algorithm::RS512, "rsa_private.pem", Some("rsa-1"), &good),
        ),
        (
            "PS256 by rsa-1".to_owned(),
            rsa(Algorithm::PS256, "rsa_private.pem", Some("rsa-1"), &good),
        ),
        (
            "RS256 by rsa-1, expired".to_owned(),
            rsa(
                Algorithm::RS256,
                "rsa_private.pem",
                Some("rsa-1"),
                &with(good.clone(), "exp", json!(now() - 120)),
            ),
        ),
        (
            "RS256 by rsa-1 without zones".to_owned(),
            rsa(
                Algorithm::RS256,
                "rsa_private.pem",
                Some("rsa-1"),
                &without(good.clone(), "zones"),
            ),
        ),
        (
            "alg none naming rsa-1".to_owned(),
            assembled(r#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#, &good, ""),
        ),
        (
            "an HS256 token of some secret".to_owned(),
            hs256(SECRET.as_bytes(), &good),
        ),
    ];
    // Algorithm confusion: HS256 keyed with the RSA public key's bytes.
    for (encoding, bytes) in rsa_public_key_encodings() {
        for kid in [Some("rsa-1"), None] {
            let token = sign(
                &header(Algorithm::HS256, kid),
                &good,
                &EncodingKey::from_secret(&bytes),
            );
            refused.push((format!("HS256 keyed with {encoding}, kid {kid:?}"), token));
        }
    }
    for (case, token) in &refused {
        let reply = Caller::new(&app, token).post(COUNT_DEMO, json!({})).await;
        assert_unauthenticated(&reply, case);
    }
}

async fn issuer_and_audience_are_required_when_configured(db: TestDb) {
    const ISSUER: &str = "https://issuer.example.test/";
    const AUDIENCE: &str = "sessiongraph-tests";
    let settings = AuthSettings {
        issuer: Some(ISSUER.to_owned()),
        audience: Some(AUDIENCE.to_owned()),
        ..secret_settings()
    };
    let app = spawn_authenticated(db, &two_tenant_document(), settings).await;
    let good = with(
        with(claims(DEMO_ORG, &[DEMO_ZONE], READ), "iss", json!(ISSUER)),
        "aud",
        json!(AUDIENCE),
    );
    let accepted = Caller::new(&app, &hs256(SECRET.as_bytes(), &good))
        .data(COUNT_DEMO, json!({}))
        .await;
    assert_eq!(accepted["sessions"]["totalCount"], 3);

    let cases = [
        (
            "another audience",
            with(good.clone(), "aud", json!("someone-else")),
        ),
        (
            "another issuer",
            with(good.clone(), "iss", json!("https://evil.example.test/")),
        ),
        (
            "the issuer without its trailing slash",
            with(good.clone(), "iss", json!("https://issuer.example.test")),
        ),
        ("no audience", without(good.clone(), "aud")),
        ("no issuer", without(good.clone(), "iss")),
        ("a null audience", with(good.clone(), "aud", Value::Null)),
    ];
    for (case, claims) in &cases {
        let reply = Caller::new(&app, &hs256(SECRET.as_bytes(), claims))
            .post(COUNT_DEMO, json!({}))
            .await;
        assert_unauthenticated(&reply, case);
    }

    // `sessiongraph token` puts the configured issuer and audience in.
    let token_args = |extra: &'static [&'static str]| {
        let mut args = vec![
            "token",
            "--jwt-secret",
            SECRET,
            "--org",
            DEMO_ORG,
            "--zones",
            DEMO_ZONE,
        ];
        args.extend_from_slice(extra);
        args
    };
    let output = sessiongraph(
        &app.db,
        &token_args(&["--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE]),
        None,
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let minted = stdout(&output).trim().to_owned();
    assert_eq!(unverified_claims(&minted)["aud"], AUDIENCE);
    let data = Caller::new(&app, &minted).data(COUNT_DEMO, json!({})).await;
    assert_eq!(data["sessions"]["totalCount"], 3);
    let output = sessiongraph(&app.db, &token_args(&[]), None).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let reply = Caller::new(&app, stdout(&output).trim())
        .post(COUNT_DEMO, json!({}))
        .await;
    assert_unauthenticated(&reply, "a minted token without issuer and audience");
}

// ---------------------------------------------------------------------------
// 2. Zones and organizations

/// Point lookups by id: (root field, query).
const LOOKUPS: [(&str, &str); 5] = [
    (
        "session",
        r#"query ($id: ID!) { session(id: $id) { __typename
            ... on UserSession { id status user { id } children { totalCount } }
            ... on ApplicationSession { id status application { id } } } }"#,
    ),
    (
        "node",
        r#"query ($id: ID!) { node(id: $id) { __typename id } }"#,
    ),
    (
        "application",
        r#"query ($id: ID!) { application(id: $id) { id name sessions { totalCount } } }"#,
    ),
    (
        "user",
        r#"query ($id: ID!) { user(id: $id) { id email sessions { totalCount } } }"#,
    ),
    (
        "userAgent",
        r#"query ($id: ID!) { userAgent(id: $id) { id name sessions { totalCount } } }"#,
    ),
];

fn other_zone_ids(field: &str) -> Vec<&'static str> {
    match field {
        "session" => OTHER_SESSIONS.to_vec(),
        "application" => vec!["xapp_2f9c1d"],
        "user" => vec!["xusr_81aa0e"],
        "userAgent" => vec!["xua_7d2c44"],
        _ => [
            &OTHER_SESSIONS[..],
            &["xapp_2f9c1d", "xusr_81aa0e", "xua_7d2c44"],
        ]
        .concat(),
    }
}

async fn other_zones_read_as_missing(db: TestDb) {
    let app = spawn_authenticated(db, &two_tenant_document(), secret_settings()).await;
    let demo = Caller::new(&app, &token(DEMO_ORG, &[DEMO_ZONE], READ_WRITE));
    let owner = Caller::new(&app, &token(OTHER_ORG, &[OTHER_ZONE], READ));

    for (field, query) in LOOKUPS {
        let missing = demo.post(query, json!({ "id": "never_existed" })).await;
        assert_eq!(missing.status, 200, "{field}: {}", missing.body);
        assert_eq!(
            without_request_ids(missing.body.clone()),
            json!({ "data": { field: null } }),
            "{field}"
        );
        for id in other_zone_ids(field) {
            let seen = demo.post(query, json!({ "id": id })).await;
            assert_eq!(seen.status, missing.status, "{field}({id})");
            assert_eq!(
                without_request_ids(seen.body),
                without_request_ids(missing.body.clone()),
                "{field}({id}) differs from an unknown id"
            );
            // Not vacuous: the zone's own token reads it.
            let owned = owner.data(query, json!({ "id": id })).await;
            assert_eq!(owned[field]["id"], id, "{field}({id}) for its owner");
        }
    }

    let nodes = r#"query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"#;
    let mut foreign: Vec<&str> = other_zone_ids("node");
    foreign.push("ses_root01");
    let mut unknown: Vec<String> = (0..foreign.len() - 1)
        .map(|i| format!("never_existed_{i}"))
        .collect();
    unknown.push("ses_root01".to_owned());
    let seen = demo.post(nodes, json!({ "ids": foreign })).await;
    let missing = demo.post(nodes, json!({ "ids": unknown })).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(
        without_request_ids(seen.body.clone()),
        without_request_ids(missing.body)
    );
    let listed = seen.body["data"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone();
    assert!(listed[..6].iter().all(Value::is_null), "{}", seen.body);
    assert_eq!(listed[6]["id"], "ses_root01");
    let owned = owner.data(nodes, json!({ "ids": foreign })).await;
    let owned = owned["nodes"].as_array().expect("nodes").clone();
    assert!(owned[..6].iter().all(|node| !node.is_null()));
    assert!(owned[6].is_null());

    // Zone-wide lists outside the token: FORBIDDEN, the same for a zone
    // that exists and one that never did.
    for field in ["sessions", "applications", "users", "userAgents"] {
        let query = format!("query ($zone: ID!) {{ {field}(zoneId: $zone) {{ totalCount }} }}");
        let mut messages = Vec::new();
        for zone in [OTHER_ZONE, "zone_never"] {
            let reply = demo.post(&query, json!({ "zone": zone })).await;
            assert_eq!(reply.status, 200, "{field}({zone}): {}", reply.body);
            assert_eq!(
                code(&reply.body),
                "FORBIDDEN",
                "{field}({zone}): {}",
                reply.body
            );
            assert_eq!(reply.body["errors"][0]["path"], json!([field]));
            assert!(data_is_null(&reply.body), "{field}({zone}): {}", reply.body);
            let message = reply.body["errors"][0]["message"]
                .as_str()
                .expect("message")
                .replace(zone, "ZONE");
            messages.push(message);
        }
        assert_eq!(messages[0], messages[1], "{field}");
        let own = demo.data(&query, json!({ "zone": DEMO_ZONE })).await;
        assert!(
            own[field]["totalCount"].as_i64().expect("count") > 0,
            "{own}"
        );
    }

    // Changes to another zone's sessions: NOT_FOUND, exactly as for an
    // unknown id, and nothing changes.
    let before = snapshot(&app.db.connect().await).await;
    for mutation in [REVOKE, DELETE] {
        let missing = demo.post(mutation, json!({ "id": "never_existed" })).await;
        assert_eq!(code(&missing.body), "NOT_FOUND", "{}", missing.body);
        assert!(data_is_null(&missing.body), "{}", missing.body);
        for id in OTHER_SESSIONS {
            let reply = demo.post(mutation, json!({ "id": id })).await;
            assert_eq!(reply.status, missing.status);
            let text = without_request_ids(reply.body).to_string();
            assert_eq!(
                text.replace(id, "never_existed"),
                without_request_ids(missing.body.clone()).to_string(),
                "{id}"
            );
        }
    }
    assert_eq!(snapshot(&app.db.connect().await).await, before);
}

/// zone_other's sessions have no organization, so an org_demo token that
/// grants zone_other reads them, but not the org_other user, application
/// and user agent they point to; their tree still resolves.
async fn relations_stop_at_the_organization(db: TestDb) {
    let app = spawn_authenticated(db, &two_tenant_document(), secret_settings()).await;
    let query = r#"{
      root: session(id: "xses_root01") { ... on UserSession {
        id organizationId userId user { id } userAgentId userAgent { id }
        root { id } parent { id } depth
        children { totalCount nodes { ... on UserSession { id } } } } }
      child: session(id: "xses_child01") { ... on UserSession {
        id userId user { id } applicationId application { id }
        parentId parent { id userAgent { id } } root { id } depth } }
      app: session(id: "xses_app01") { ... on ApplicationSession {
        id applicationId application { id } } }
      sessions(zoneId: "zone_other", filter: { includeNested: true }) { totalCount }
      applications(zoneId: "zone_other") { totalCount nodes { id } }
      users(zoneId: "zone_other") { totalCount nodes { id } }
      userAgents(zoneId: "zone_other") { totalCount nodes { id } }
      user(id: "xusr_81aa0e") { id }
      userNode: node(id: "xusr_81aa0e") { id }
      sessionNode: node(id: "xses_child01") { id }
    }"#;
    let visible = |user: Value, app: Value, agent: Value, count: i64| {
        json!({
            "root": {
                "id": "xses_root01", "organizationId": null,
                "userId": "xusr_81aa0e", "user": user.clone(),
                "userAgentId": "xua_7d2c44", "userAgent": agent.clone(),
                "root": { "id": "xses_root01" }, "parent": null, "depth": 0,
                "children": { "totalCount": 1, "nodes": [{ "id": "xses_child01" }] }
            },
            "child": {
                "id": "xses_child01", "userId": "xusr_81aa0e", "user": user.clone(),
                "applicationId": "xapp_2f9c1d", "application": app.clone(),
                "parentId": "xses_root01",
                "parent": { "id": "xses_root01", "userAgent": agent.clone() },
                "root": { "id": "xses_root01" }, "depth": 1
            },
            "app": { "id": "xses_app01", "applicationId": "xapp_2f9c1d", "application": app.clone() },
            "sessions": { "totalCount": 3 },
            "applications": { "totalCount": count, "nodes": if count > 0 { json!([app.clone()]) } else { json!([]) } },
            "users": { "totalCount": count, "nodes": if count > 0 { json!([user.clone()]) } else { json!([]) } },
            "userAgents": { "totalCount": count, "nodes": if count > 0 { json!([agent.clone()]) } else { json!([]) } },
            "user": user.clone(),
            "userNode": user,
            "sessionNode": { "id": "xses_child01" }
        })
    };
    let foreign_org = Caller::new(&app, &token(DEMO_ORG, &[OTHER_ZONE], READ));
    assert_eq!(
        foreign_org.data(query, json!({})).await,
        visible(Value::Null, Value::Null, Value::Null, 0)
    );
    // The organization's own token sees everything.
    let own_org = Caller::new(&app, &token(OTHER_ORG, &[OTHER_ZONE], READ));
    assert_eq!(
        own_org.data(query, json!({})).await,
        visible(
            json!({ "id": "xusr_81aa0e" }),
            json!({ "id": "xapp_2f9c1d" }),
            json!({ "id": "xua_7d2c44" }),
            1
        )
    );
}

/// `User.sessions`, `Application.sessions`, `UserAgent.sessions` and
/// `children` list only the caller's zones and organization, with counts
/// to match, even when a zone mixes organizations.
async fn owner_session_lists_stay_within_the_token(db: TestDb) {
    let mut document = two_tenant_document();
    // A session of org_other in zone_demo, of zone_demo's user, application
    // and user agent, under ses_root01.
    document["sessions"]
        .as_array_mut()
        .expect("sessions")
        .push(json!({
            "session_type": "user", "id": "ses_foreign", "zone_id": DEMO_ZONE,
            "organization_id": OTHER_ORG, "user_id": "usr_81aa0e",
            "application_id": "app_2f9c1d", "user_agent_id": "ua_7d2c44",
            "parent_id": "ses_root01", "status": "active",
            "created_at": "2026-03-04T08:10:00Z", "expires_at": "2099-01-01T00:00:00Z"
        }));
    let app = spawn_authenticated(db, &document, secret_settings()).await;
    let query = r#"{
      user(id: "usr_81aa0e") { sessions(filter: { includeNested: true }) { totalCount nodes { ...Id } } }
      application(id: "app_2f9c1d") { sessions(filter: { includeNested: true }) { totalCount nodes { ...Id } } }
      userAgent(id: "ua_7d2c44") { sessions(filter: { includeNested: true }) { totalCount nodes { ...Id } } }
      session(id: "ses_root01") { ... on UserSession { children { totalCount nodes { ...Id } } } }
      sessions(zoneId: "zone_demo", filter: { includeNested: true }) { totalCount nodes { ...Id } }
      byOtherUser: sessions(zoneId: "zone_demo", filter: { userId: "xusr_81aa0e" }) { totalCount }
      otherZone: sessions(zoneId: "zone_other", filter: { userId: "usr_81aa0e" }) { totalCount }
      foreign: node(id: "ses_foreign") { id }
    }
    fragment Id on Session { ... on UserSession { id } ... on ApplicationSession { id } }"#;
    let caller = Caller::new(&app, &token(DEMO_ORG, &[DEMO_ZONE, OTHER_ZONE], READ));
    let data = caller.data(query, json!({})).await;
    let check = |path: &str, connection: &Value, expected: &[&str]| {
        assert_eq!(ids_of(connection), expected, "{path}: {connection}");
        assert_eq!(
            connection["totalCount"],
            expected.len(),
            "{path}: {connection}"
        );
    };
    check(
        "User.sessions",
        &data["user"]["sessions"],
        &["ses_child01", "ses_root01"],
    );
    check(
        "Application.sessions",
        &data["application"]["sessions"],
        &["ses_app01", "ses_child01"],
    );
    check(
        "UserAgent.sessions",
        &data["userAgent"]["sessions"],
        &["ses_root01"],
    );
    check("children", &data["session"]["children"], &["ses_child01"]);
    check(
        "Query.sessions",
        &data["sessions"],
        &["ses_app01", "ses_child01", "ses_root01"],
    );
    assert_eq!(data["byOtherUser"]["totalCount"], 0);
    assert_eq!(data["otherZone"]["totalCount"], 0);
    assert_eq!(data["foreign"], Value::Null);

    // org_other's token for zone_demo sees only its own session there; the
    // org_demo user, application and user agent read as missing.
    let other = Caller::new(&app, &token(OTHER_ORG, &[DEMO_ZONE], READ));
    let data = other
        .data(
            r#"{
              sessions(zoneId: "zone_demo", filter: { includeNested: true }) { totalCount nodes { ... on UserSession { id user { id } application { id } userAgent { id } parent { id } } } }
              user(id: "usr_81aa0e") { id }
            }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "sessions": { "totalCount": 1, "nodes": [{
                "id": "ses_foreign", "user": null, "application": null,
                "userAgent": null, "parent": null
            }] },
            "user": null
        })
    );
}

// ---------------------------------------------------------------------------
// 3. Scopes

async fn scopes_limit_reads_and_writes(db: TestDb) {
    let app = spawn_authenticated(db, &two_tenant_document(), secret_settings()).await;
    let before = snapshot(&app.db.connect().await).await;
    let variables = json!({ "id": "ses_root01" });

    // Without sessions:write no mutation runs.
    for scope in [
        READ,
        "",
        "sessions:read sessions:writes",
        "sessions:read,sessions:write",
        "SESSIONS:WRITE sessions:read",
    ] {
        let reader = Caller::new(&app, &token(DEMO_ORG, &[DEMO_ZONE], scope));
        for mutation in [REVOKE, DELETE] {
            let reply = reader.post(mutation, variables.clone()).await;
            assert_eq!(reply.status, 403, "scope {scope:?}: {}", reply.body);
            assert_eq!(code(&reply.body), "FORBIDDEN", "scope {scope:?}");
            assert!(data_is_null(&reply.body), "{}", reply.body);
            assert!(
                reply.body["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(WRITE)),
                "{}",
                reply.body
            );
        }
        // The operation chosen by name decides, not the first in the document.
        let document = format!(
            "query Look {COUNT_DEMO}\nmutation Change {{ deleteSession(id: \"ses_root01\") {{ deletedCount }} }}"
        );
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("accept", GRAPHQL_RESPONSE)
            .header("authorization", &reader.authorization)
            .json(&json!({ "query": document, "operationName": "Change" }))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 403, "scope {scope:?}");
        // Legacy JSON: status 200, the same error.
        let reply = post(
            &app,
            Some(&reader.authorization),
            None,
            DELETE,
            variables.clone(),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(code(&reply.body), "FORBIDDEN");
    }
    assert_eq!(snapshot(&app.db.connect().await).await, before);

    // Without sessions:read no query runs.
    for scope in [WRITE, "", "sessions:reader", "SESSIONS:READ sessions:write"] {
        let writer = Caller::new(&app, &token(DEMO_ORG, &[DEMO_ZONE], scope));
        let reply = writer.post(COUNT_DEMO, json!({})).await;
        assert_eq!(reply.status, 403, "scope {scope:?}: {}", reply.body);
        assert_eq!(code(&reply.body), "FORBIDDEN");
        assert!(data_is_null(&reply.body), "{}", reply.body);
        assert!(
            reply.body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains(READ)),
            "{}",
            reply.body
        );
    }

    // Read and write, in either order: a revoke in the token's zone works
    // and leaves the other zone alone.
    let others = zone_records(&app, OTHER_ZONE).await;
    let editor = Caller::new(
        &app,
        &token(DEMO_ORG, &[DEMO_ZONE], "sessions:write sessions:read"),
    );
    let data = editor.data(REVOKE, variables.clone()).await;
    assert!(
        data["updateSession"]["revokedCount"]
            .as_i64()
            .expect("count")
            >= 1,
        "{data}"
    );
    assert_eq!(
        data["updateSession"]["session"],
        json!({ "id": "ses_root01", "status": "REVOKED" })
    );
    let reader = Caller::new(&app, &token(DEMO_ORG, &[DEMO_ZONE], READ));
    let status = reader
        .data(
            r#"{ session(id: "ses_root01") { ... on UserSession { status } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(status["session"]["status"], "REVOKED");
    let data = editor.data(DELETE, json!({ "id": "ses_app01" })).await;
    assert_eq!(data["deleteSession"]["deletedCount"], 1);
    assert_eq!(zone_records(&app, OTHER_ZONE).await, others);
}

// ---------------------------------------------------------------------------
// 4. Open mode

async fn open_mode_needs_loopback_or_explicit_consent(db: TestDb) {
    let open = |listen: &str, allow: bool| ServerConfig {
        listen: listen.parse().expect("address"),
        allow_unauthenticated: allow,
        ..test_config(&db)
    };
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let error = Application::build(open(listen, false))
            .await
            .err()
            .unwrap_or_else(|| panic!("{listen}: served without authentication"));
        let message = format!("{error:#}");
        assert!(
            message.contains("--allow-unauthenticated"),
            "{listen}: {message}"
        );
    }
    // With keys, any address is fine.
    let keyed = ServerConfig {
        auth: secret_settings(),
        ..open("0.0.0.0:0", false)
    };
    drop(Application::build(keyed).await.expect("build with keys"));
    // Bad key settings are refused up front.
    for (auth, expected) in [
        (
            AuthSettings {
                keys: Some(KeySource::Secret("too-short".into())),
                ..AuthSettings::default()
            },
            "at least 32",
        ),
        (
            AuthSettings {
                leeway: std::time::Duration::from_secs(61),
                ..secret_settings()
            },
            "leeway",
        ),
        (
            AuthSettings {
                keys: Some(KeySource::JwksFile(key_path("missing.json"))),
                ..AuthSettings::default()
            },
            "missing.json",
        ),
    ] {
        let error = Application::build(ServerConfig {
            auth,
            ..test_config(&db)
        })
        .await
        .err()
        .unwrap_or_else(|| panic!("built despite bad settings ({expected})"));
        let message = format!("{error:#}");
        assert!(message.contains(expected), "{message}");
    }

    // Consent given: it serves every zone without a token.
    let app = Application::build(open("0.0.0.0:0", true))
        .await
        .expect("build with --allow-unauthenticated");
    app.database().ready().await.expect("database ready");
    let port = app.address().port();
    tokio::spawn(app.run_until_stopped());
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&json!({ "query": COUNT_DEMO }))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body, json!({ "data": { "sessions": { "totalCount": 0 } } }));
}

// ---------------------------------------------------------------------------
// 5. `sessiongraph token`

/// Runs `sessiongraph token` with exactly `env` as its sessiongraph settings.
async fn mint(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sessiongraph"));
    command.arg("token").args(args).env("RUST_LOG", "warn");
    for (name, _) in std::env::vars() {
        if name.starts_with("SESSIONGRAPH_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command.output().await.expect("run sessiongraph token")
}

async fn minted_tokens_are_accepted(db: TestDb) {
    let app = spawn_authenticated(db, &two_tenant_document(), secret_settings()).await;
    let started = now();
    let output = mint(
        &[
            "--jwt-secret",
            SECRET,
            "--org",
            DEMO_ORG,
            "--zones",
            "zone_demo,zone_other",
            "--scope",
            READ,
            "--subject",
            "cli-test",
            "--ttl",
            "600",
        ],
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let minted = stdout(&output).trim().to_owned();
    let claims = unverified_claims(&minted);
    assert_eq!(claims["sub"], "cli-test");
    assert_eq!(claims["org"], DEMO_ORG);
    assert_eq!(claims["zones"], json!([DEMO_ZONE, OTHER_ZONE]));
    assert_eq!(claims["scope"], READ);
    let exp = claims["exp"].as_u64().expect("exp");
    assert!(
        (started + 600..=now() + 600).contains(&exp),
        "exp {exp}, minted at {started}"
    );
    let caller = Caller::new(&app, &minted);
    let data = caller
        .data(
            r#"{ demo: sessions(zoneId: "zone_demo") { totalCount }
                 other: sessions(zoneId: "zone_other") { totalCount }
                 users(zoneId: "zone_other") { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "demo": { "totalCount": 3 },
            "other": { "totalCount": 3 },
            "users": { "totalCount": 0 }
        })
    );
    let reply = caller.post(DELETE, json!({ "id": "ses_root01" })).await;
    assert_eq!(reply.status, 403, "{}", reply.body);

    // The secret from the environment, default scope and subject.
    let output = mint(
        &["--org", DEMO_ORG, "--zones", DEMO_ZONE],
        &[("SESSIONGRAPH_JWT_SECRET", SECRET)],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let minted = stdout(&output).trim().to_owned();
    let data = Caller::new(&app, &minted).data(COUNT_DEMO, json!({})).await;
    assert_eq!(data["sessions"]["totalCount"], 3);
    let output = mint(
        &[
            "--org", DEMO_ORG, "--zones", DEMO_ZONE, "--scope", READ_WRITE,
        ],
        &[("SESSIONGRAPH_JWT_SECRET", SECRET)],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let data = Caller::new(&app, stdout(&output).trim())
        .data(DELETE, json!({ "id": "ses_app01" }))
        .await;
    assert_eq!(data["deleteSession"]["deletedCount"], 1);

    // Another secret's token is refused.
    let output = mint(
        &[
            "--jwt-secret",
            OTHER_SECRET,
            "--org",
            DEMO_ORG,
            "--zones",
            DEMO_ZONE,
        ],
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let reply = Caller::new(&app, stdout(&output).trim())
        .post(COUNT_DEMO, json!({}))
        .await;
    assert_unauthenticated(&reply, "a token of another secret");

    // No secret, or a short one: nothing minted.
    for (args, expected) in [
        (
            &["--org", DEMO_ORG, "--zones", DEMO_ZONE][..],
            "--jwt-secret",
        ),
        (
            &[
                "--jwt-secret",
                "short",
                "--org",
                DEMO_ORG,
                "--zones",
                DEMO_ZONE,
            ][..],
            "at least 32",
        ),
    ] {
        let output = mint(args, &[]).await;
        assert!(!output.status.success(), "minted {:?}", stdout(&output));
        assert!(stdout(&output).trim().is_empty(), "{}", stdout(&output));
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
    }
}

crate::on_both_databases!(
    requests_without_a_valid_token_are_unauthenticated,
    jwks_keys_verify_rs256_and_es256_tokens,
    issuer_and_audience_are_required_when_configured,
    other_zones_read_as_missing,
    relations_stop_at_the_organization,
    owner_session_lists_stay_within_the_token,
    scopes_limit_reads_and_writes,
    open_mode_needs_loopback_or_explicit_consent,
    minted_tokens_are_accepted,
    mutations_never_reach_another_organization,
    audiences_may_be_arrays,
);

/// A tree of zone_demo mixing organizations: ses_root01 (org_demo) has a
/// child of org_other, which has a grandchild of org_demo.
async fn mutations_never_reach_another_organization(db: TestDb) {
    let mut document = two_tenant_document();
    let session = |id: &str, organization: &str, parent: Option<&str>, minute: u32| {
        json!({
            "session_type": "user", "id": id, "zone_id": DEMO_ZONE,
            "organization_id": organization, "user_id": "usr_81aa0e",
            "parent_id": parent, "status": "active",
            "created_at": format!("2026-03-04T08:{minute:02}:00Z"),
            "expires_at": "2099-01-01T00:00:00Z"
        })
    };
    let sessions = document["sessions"].as_array_mut().expect("sessions");
    sessions.push(session("ses_foreign", OTHER_ORG, Some("ses_root01"), 10));
    sessions.push(session("ses_mine_below", DEMO_ORG, Some("ses_foreign"), 11));
    // And a tree whose root belongs to org_other.
    sessions.push(session("ses_foreign_root", OTHER_ORG, None, 12));
    sessions.push(session(
        "ses_mine_mid",
        DEMO_ORG,
        Some("ses_foreign_root"),
        13,
    ));
    let app = spawn_authenticated(db, &document, secret_settings()).await;
    let caller = Caller::new(&app, &token(DEMO_ORG, &[DEMO_ZONE], READ_WRITE));
    let status_of = |id: &'static str| {
        let app = &app;
        async move {
            let db = app.db.connect().await;
            sessiongraph::entities::session::Entity::find_by_id((
                DEMO_ZONE.to_owned(),
                id.to_owned(),
            ))
            .one(&db)
            .await
            .expect("read")
            .map(|row| format!("{:?}", row.status))
        }
    };

    // `root` of a session whose root is hidden is an error, never itself.
    let reply = caller
        .post(
            r#"{ session(id: "ses_mine_mid") { ... on UserSession { id root { id } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&reply.body), "FORBIDDEN", "{}", reply.body);

    // Deleting would cascade into org_other's session: refused, nothing gone.
    let before = snapshot(&app.db.connect().await).await;
    let reply = caller.post(DELETE, json!({ "id": "ses_root01" })).await;
    assert_eq!(code(&reply.body), "FORBIDDEN", "{}", reply.body);
    assert_eq!(snapshot(&app.db.connect().await).await, before);

    // Revoking changes and counts only what the caller may see.
    let data = caller
        .data(
            r#"mutation { updateSession(id: "ses_root01", input: { status: REVOKED }) {
                 revokedCount revokedSessions { ... on IdentitySession { id status organizationId } } } }"#,
            json!({}),
        )
        .await;
    let revoked = data["updateSession"]["revokedCount"]
        .as_i64()
        .expect("count");
    assert_eq!(status_of("ses_foreign").await.as_deref(), Some("Active"));
    assert_eq!(
        status_of("ses_mine_below").await.as_deref(),
        Some("Revoked")
    );
    assert_eq!(status_of("ses_root01").await.as_deref(), Some("Revoked"));
    // ses_root01 and ses_mine_below; not ses_foreign (hidden) nor
    // ses_child01 (expired in 2026).
    assert_eq!(revoked, 2, "{data}");
    // The payload lists the same two, never the hidden session.
    assert_eq!(
        data["updateSession"]["revokedSessions"],
        json!([
            { "id": "ses_root01", "status": "REVOKED", "organizationId": DEMO_ORG },
            { "id": "ses_mine_below", "status": "REVOKED", "organizationId": DEMO_ORG },
        ])
    );
}

/// RFC 7519 lets `aud` be an array; identity providers issue both forms.
async fn audiences_may_be_arrays(db: TestDb) {
    let app = spawn_authenticated(
        db,
        &example_document(),
        AuthSettings {
            audience: Some("sessiongraph".into()),
            ..secret_settings()
        },
    )
    .await;
    for audience in [json!("sessiongraph"), json!(["other-api", "sessiongraph"])] {
        let claims = with(
            claims(DEMO_ORG, &[DEMO_ZONE], READ),
            "aud",
            audience.clone(),
        );
        let caller = Caller::new(&app, &hs256(SECRET.as_bytes(), &claims));
        let data = caller.data(COUNT_DEMO, json!({})).await;
        assert!(
            data["sessions"]["totalCount"].as_i64().unwrap_or(0) > 0,
            "{audience}: {data}"
        );
    }
    let claims = with(
        claims(DEMO_ORG, &[DEMO_ZONE], READ),
        "aud",
        json!(["other-api"]),
    );
    let reply = Caller::new(&app, &hs256(SECRET.as_bytes(), &claims))
        .post(COUNT_DEMO, json!({}))
        .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
}
