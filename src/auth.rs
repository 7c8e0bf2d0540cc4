//! Who is calling, and what they may see: bearer JWTs verified against the
//! configured keys, turned into the [`Access`] every statement is filtered by.
//!
//! A token carries `sub`, `exp`, `org` (the organization), `zones` (the zone
//! ids it may read) and `scope` (`sessions:read`, `sessions:write`, space
//! separated as in OAuth). Without configured keys the server runs open:
//! every request gets [`Access::unrestricted`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

pub const READ_SCOPE: &str = "sessions:read";
pub const WRITE_SCOPE: &str = "sessions:write";
/// Lets a token send any document under `--trusted-documents-only`
/// (operators exploring in GraphiQL).
pub const ANY_DOCUMENT_SCOPE: &str = "documents:any";
/// Clock skew tolerated on `exp` and `nbf`, at most.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);
/// HS256 keys shorter than the hash (RFC 7518 §3.2) are refused.
const MIN_SECRET_BYTES: usize = 32;

/// What a request may read and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    subject: Option<String>,
    organization_id: Option<String>,
    /// `None`: every zone (open mode).
    zones: Option<Vec<String>>,
    read: bool,
    write: bool,
    /// May send documents that are not trusted (`documents:any`).
    any_document: bool,
    /// The token's `exp`, in seconds since the epoch; `None` in open mode.
    expires_at: Option<u64>,
}

impl Access {
    /// Open mode: no token, every zone, reads and writes.
    pub fn unrestricted() -> Self {
        Access {
            subject: None,
            organization_id: None,
            zones: None,
            read: true,
            write: true,
            // Without authentication nobody is exempt from
            // `--trusted-documents-only`.
            any_document: false,
            expires_at: None,
        }
    }

    fn from_claims(claims: Claims) -> Self {
        let scopes: HashSet<&str> = claims.scope.split_ascii_whitespace().collect();
        Access {
            read: scopes.contains(READ_SCOPE),
            write: scopes.contains(WRITE_SCOPE),
            any_document: scopes.contains(ANY_DOCUMENT_SCOPE),
            subject: Some(claims.sub),
            organization_id: Some(claims.org),
            zones: Some(claims.zones),
            expires_at: Some(claims.exp),
        }
    }

    /// When the token expires; `None` in open mode. A socket is closed then.
    pub fn expires_at(&self) -> Option<std::time::SystemTime> {
        self.expires_at
            .map(|seconds| std::time::UNIX_EPOCH + Duration::from_secs(seconds))
    }

    /// The token's `sub`; `None` in open mode.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The organization every row must belong to; `None` in open mode.
    pub fn organization_id(&self) -> Option<&str> {
        self.organization_id.as_deref()
    }

    /// The zones the caller may read; `None` means every zone.
    pub fn zones(&self) -> Option<&[String]> {
        self.zones.as_deref()
    }

    pub fn permits_zone(&self, zone_id: &str) -> bool {
        self.zones
            .as_ref()
            .is_none_or(|zones| zones.iter().any(|z| z == zone_id))
    }

    pub fn may_read(&self) -> bool {
        self.read
    }

    pub fn may_write(&self) -> bool {
        self.write
    }

    /// Whether the token may send documents that are not trusted.
    pub fn may_send_any_document(&self) -> bool {
        self.any_document
    }
}

/// The claims sessiongraph reads; `exp` (and `iss`/`aud` when configured)
/// are checked by the JWT library.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    pub org: String,
    pub zones: Vec<String>,
    pub scope: String,
    /// Written by `sessiongraph token`; when reading, the library checks
    /// them from the raw claims (where `aud` may be a string or an array).
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub aud: Option<String>,
}

/// Where verification keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// HS256 with a shared secret.
    Secret(String),
    /// RS256/ES256 public keys from a JWKS document.
    JwksFile(PathBuf),
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `None` runs open.
    pub keys: Option<KeySource>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            keys: None,
            issuer: None,
            audience: None,
            leeway: MAX_LEEWAY,
        }
    }
}

/// Why a request is not authenticated; the message goes to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("this API needs a bearer token: send `Authorization: Bearer <JWT>`")]
    Missing,
    #[error("the Authorization header must be `Bearer <JWT>`")]
    MalformedHeader,
    #[error("the bearer token is not valid: {0}")]
    InvalidToken(String),
}

impl AuthError {
    /// The `WWW-Authenticate` challenge (RFC 6750 §3).
    pub fn challenge(&self) -> String {
        match self {
            AuthError::Missing => r#"Bearer realm="sessiongraph""#.to_owned(),
            AuthError::MalformedHeader => {
                r#"Bearer realm="sessiongraph", error="invalid_request""#.to_owned()
            }
            AuthError::InvalidToken(reason) => {
                let description: String = reason
                    .chars()
                    .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
                    .collect();
                format!(
                    r#"Bearer realm="sessiongraph", error="invalid_token", error_description="{description}""#
                )
            }
        }
    }
}

struct VerificationKey {
    key_id: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Verifies bearer tokens against the configured keys.
pub struct Authenticator {
    keys: Vec<VerificationKey>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: Duration,
}

impl Authenticator {
    /// `Ok(None)` when no key is configured (open mode).
    pub fn from_settings(settings: &AuthSettings) -> anyhow::Result<Option<Self>> {
        if settings.leeway > MAX_LEEWAY {
            bail!(
                "the clock leeway is {} s; at most {} s is allowed",
                settings.leeway.as_secs(),
                MAX_LEEWAY.as_secs()
            );
        }
        let keys = match &settings.keys {
            None => return Ok(None),
            Some(KeySource::Secret(secret)) => {
                if secret.len() < MIN_SECRET_BYTES {
                    bail!(
                        "the JWT secret is {} bytes; HS256 needs at least {MIN_SECRET_BYTES}",
                        secret.len()
                    );
                }
                vec![VerificationKey {
                    key_id: None,
                    algorithm: Algorithm::HS256,
                    key: DecodingKey::from_secret(secret.as_bytes()),
                }]
            }
            Some(KeySource::JwksFile(path)) => jwks_keys(path)?,
        };
        Ok(Some(Authenticator {
            keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway: settings.leeway,
        }))
    }

    /// The access an `Authorization` header value grants.
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Access, AuthError> {
        let header = authorization.ok_or(AuthError::Missing)?;
        let header = std::str::from_utf8(header).map_err(|_| AuthError::MalformedHeader)?;
        let (scheme, token) = header
            .trim()
            .split_once(' ')
            .ok_or(AuthError::MalformedHeader)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::MalformedHeader);
        }
        self.verify(token.trim()).map(Access::from_claims)
    }

    fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let invalid = |reason: &str| AuthError::InvalidToken(reason.to_owned());
        // `alg: none` and unknown algorithms fail here: the library has no
        // such algorithm to parse them into.
        let header = jsonwebtoken::decode_header(token).map_err(|error| match error.kind() {
            ErrorKind::InvalidAlgorithmName => invalid("its algorithm is not supported"),
            _ => invalid("it is not a well-formed JWT"),
        })?;
        let candidates: Vec<&VerificationKey> = self
            .keys
            .iter()
            .filter(|key| key.algorithm == header.alg)
            .filter(|key| match (&header.kid, &key.key_id) {
                (Some(wanted), Some(id)) => wanted == id,
                _ => true,
            })
            .collect();
        let key = match candidates.as_slice() {
            [key] => *key,
            [] => {
                let accepted: Vec<String> = self
                    .keys
                    .iter()
                    .map(|k| format!("{:?}", k.algorithm))
                    .collect();
                return Err(AuthError::InvalidToken(format!(
                    "it is signed with {:?}{}; this server accepts {}",
                    header.alg,
                    header
                        .kid
                        .as_deref()
                        .map(|kid| format!(" by key {kid:?}"))
                        .unwrap_or_default(),
                    accepted.join(", ")
                )));
            }
            _ => {
                return Err(invalid(
                    "it names no key id (kid) and several keys could verify it",
                ));
            }
        };
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|error| AuthError::InvalidToken(rejection_reason(error.kind())))
    }
}

/// Why the library refused a token, in the client's terms.
fn rejection_reason(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "it has expired".to_owned(),
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf)".to_owned(),
        ErrorKind::InvalidSignature => "its signature does not verify".to_owned(),
        ErrorKind::InvalidIssuer => "its issuer (iss) is not the expected one".to_owned(),
        ErrorKind::InvalidAudience => "its audience (aud) is not the expected one".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => {
            format!("it lacks the required claim `{claim}`")
        }
        ErrorKind::Json(cause) => {
            format!("its claims are not sessiongraph's (sub, exp, org, zones, scope): {cause}")
        }
        _ => "it is not a well-formed JWT".to_owned(),
    }
}

/// Reads the RS256/ES256 keys of a JWKS document.
fn jwks_keys(path: &Path) -> anyhow::Result<Vec<VerificationKey>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the JWKS file {}", path.display()))?;
    let set: JwkSet = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JWKS document", path.display()))?;
    let mut keys = Vec::new();
    for (index, jwk) in set.keys.iter().enumerate() {
        let name = jwk
            .common
            .key_id
            .as_deref()
            .map(|kid| format!("key {kid:?}"))
            .unwrap_or_else(|| format!("key #{index}"));
        let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
            (Some(KeyAlgorithm::RS256), AlgorithmParameters::RSA(_))
            | (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
            (Some(KeyAlgorithm::ES256), AlgorithmParameters::EllipticCurve(ec))
            | (None, AlgorithmParameters::EllipticCurve(ec))
                if ec.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => bail!(
                "{name} of {} is neither an RS256 (RSA) nor an ES256 (P-256) key",
                path.display()
            ),
        };
        let key = DecodingKey::from_jwk(jwk)
            .with_context(|| format!("{name} of {} is not a usable key", path.display()))?;
        keys.push(VerificationKey {
            key_id: jwk.common.key_id.clone(),
            algorithm,
            key,
        });
    }
    if keys.is_empty() {
        bail!("the JWKS file {} holds no keys", path.display());
    }
    Ok(keys)
}

/// Signs an HS256 token; `sessiongraph token` mints development tokens with it.
pub fn mint_hs256(secret: &str, claims: &Claims) -> anyhow::Result<String> {
    if secret.len() < MIN_SECRET_BYTES {
        bail!(
            "the JWT secret is {} bytes; HS256 needs at least {MIN_SECRET_BYTES}",
            secret.len()
        );
    }
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .context("signing the token")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn claims(exp_in: i64) -> Claims {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        Claims {
            sub: "alice".into(),
            exp: (now + exp_in) as u64,
            org: "org_1".into(),
            zones: vec!["zone_a".into()],
            scope: "sessions:read".into(),
            iss: None,
            aud: None,
        }
    }

    fn authenticator(settings: AuthSettings) -> Authenticator {
        Authenticator::from_settings(&settings)
            .expect("valid settings")
            .expect("keys configured")
    }

    fn secret_settings() -> AuthSettings {
        AuthSettings {
            keys: Some(KeySource::Secret(SECRET.into())),
            ..AuthSettings::default()
        }
    }

    fn bearer(token: &str) -> Vec<u8> {
        format!("Bearer {token}").into_bytes()
    }

    #[test]
    fn a_valid_token_grants_its_zones_and_scopes() {
        let auth = authenticator(secret_settings());
        let token = mint_hs256(SECRET, &claims(300)).expect("mint");
        let access = auth.authenticate(Some(&bearer(&token))).expect("valid");
        assert_eq!(access.subject(), Some("alice"));
        assert_eq!(access.organization_id(), Some("org_1"));
        assert!(access.permits_zone("zone_a"));
        assert!(!access.permits_zone("zone_b"));
        assert!(access.may_read());
        assert!(!access.may_write());
    }

    #[test]
    fn expiry_allows_the_leeway_and_no_more() {
        let auth = authenticator(secret_settings());
        let recent = mint_hs256(SECRET, &claims(-30)).expect("mint");
        assert!(auth.authenticate(Some(&bearer(&recent))).is_ok());
        let stale = mint_hs256(SECRET, &claims(-120)).expect("mint");
        assert_eq!(
            auth.authenticate(Some(&bearer(&stale))),
            Err(AuthError::InvalidToken("it has expired".into()))
        );
    }

    #[test]
    fn leeway_above_a_minute_is_refused() {
        let settings = AuthSettings {
            leeway: Duration::from_secs(61),
            ..secret_settings()
        };
        assert!(Authenticator::from_settings(&settings).is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        let settings = AuthSettings {
            keys: Some(KeySource::Secret("short".into())),
            ..AuthSettings::default()
        };
        let error = Authenticator::from_settings(&settings)
            .err()
            .expect("refused");
        assert!(error.to_string().contains("at least 32"), "{error}");
    }

    #[test]
    fn headers_other_than_bearer_are_malformed() {
        let auth = authenticator(secret_settings());
        assert_eq!(auth.authenticate(None), Err(AuthError::Missing));
        assert_eq!(
            auth.authenticate(Some(b"Basic YWxpY2U6c2VjcmV0")),
            Err(AuthError::MalformedHeader)
        );
        assert_eq!(
            auth.authenticate(Some(b"Bearer")),
            Err(AuthError::MalformedHeader)
        );
    }

    #[test]
    fn challenges_never_quote_the_reason_raw() {
        let error = AuthError::InvalidToken("a \"quoted\" \\ reason\n".into());
        assert_eq!(
            error.challenge(),
            r#"Bearer realm="sessiongraph", error="invalid_token", error_description="a quoted  reason""#
        );
    }
}
