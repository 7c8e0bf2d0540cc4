//! Trusted documents (SPEC §9): the operations a team's frontends ship,
//! loaded from the manifests their build writes (Apollo's persisted query
//! manifest, Relay's `persisted_queries.json`, GraphQL Code Generator's
//! `persisted-documents.json`), which requests then name by id instead of
//! sending their text. With `--trusted-documents-only` they are the only
//! documents that run.
//!
//! Each document is prepared (parsed, walked, measured against the limits:
//! `prepared.rs`) and validated against the schema once, when it is
//! loaded: a request by id copies the parsed document and runs only the
//! validation rule that reads its variables, so it costs less than sending
//! the text would.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_graphql::Variables;
use async_graphql::parser::types::DocumentOperations;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::limits::Limits;
use super::prepared::{PreparedDocument, PreparedOperation};
use super::screening;
use super::{RequestLimits, persisted_queries::sha256_hex};
use crate::graphql::SessionGraphSchema;

/// The longest id a request may name; manifests' ids are hashes (32 to 71
/// characters) or short names.
pub const MAX_ID_CHARS: usize = 256;
/// The prefix of the GraphQL over HTTP draft's hash ids.
const SHA256_PREFIX: &str = "sha256:";

/// One document of a manifest, ready to run: its validation marked passed
/// when it was loaded, so requests run only the rule that reads their
/// variables.
pub struct TrustedDocument {
    document: Arc<PreparedDocument>,
    /// Its operations as requests name them: by each of their names, and
    /// by none when it has one.
    operations: Vec<Arc<PreparedOperation>>,
}

impl TrustedDocument {
    /// Puts the prepared document into `request`, as if its text had been
    /// sent, parsed and validated; returns the operation it names. A name
    /// the document lacks is prepared for this request alone (`limits`
    /// measure it), and validation refuses it.
    pub fn install(
        &self,
        request: &mut async_graphql::Request,
        limits: &Limits,
    ) -> Arc<PreparedOperation> {
        request.query = self.document.text.to_string();
        let name = request.operation_name.as_deref();
        let operation = self
            .operations
            .iter()
            .find(|operation| operation.requested_name.as_deref() == name)
            .cloned()
            .unwrap_or_else(|| {
                Arc::new(PreparedOperation::new(self.document.clone(), name, limits))
            });
        operation.install(request);
        operation
    }

    fn text(&self) -> &str {
        &self.document.text
    }
}

/// The set loaded from the `--trusted-documents` files; replaced whole on
/// a reload.
#[derive(Default)]
pub struct TrustedDocuments {
    /// By the manifests' own ids, as written.
    by_id: HashMap<String, Arc<TrustedDocument>>,
    /// By the SHA-256 of the text, in lowercase hex.
    by_hash: HashMap<String, Arc<TrustedDocument>>,
}

/// Why a request's id cannot name a document.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("`documentId` must be a string")]
    NotAString,
    #[error("`documentId` is {0} characters long, above the limit of {MAX_ID_CHARS}")]
    TooLong(usize),
    #[error("`documentId` `sha256:` must be followed by 64 hexadecimal digits")]
    BadHash,
    #[error(
        "`documentId` has the prefix `{0}:`; the ids this server takes are `sha256:<hex>` or a manifest's own id"
    )]
    UnknownPrefix(String),
    #[error("send either `documentId` or `query`, not both")]
    WithQuery,
    #[error("PersistedQueryNotFound: no trusted document has the id `{0}`")]
    NotFound(String),
}

impl TrustedDocuments {
    /// Loads every file in order; the first bad file or entry fails the
    /// whole set, naming the file and the entry's id.
    pub fn load(
        files: &[PathBuf],
        schema: &SessionGraphSchema,
        limits: &RequestLimits,
    ) -> anyhow::Result<Self> {
        let mut documents = TrustedDocuments::default();
        for file in files {
            documents.load_file(file, schema, limits)?;
        }
        Ok(documents)
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    fn load_file(
        &mut self,
        file: &Path,
        schema: &SessionGraphSchema,
        limits: &RequestLimits,
    ) -> anyhow::Result<()> {
        let shown = file.display();
        let bytes = std::fs::read(file)
            .map_err(|error| anyhow::anyhow!("trusted documents {shown}: {error}"))?;
        let manifest: Fields = serde_json::from_slice(&bytes).map_err(|error| {
            anyhow::anyhow!("trusted documents {shown}: not a JSON manifest: {error}")
        })?;
        for (id, text) in entries(manifest)
            .map_err(|reason| anyhow::anyhow!("trusted documents {shown}: {reason}"))?
        {
            self.add(&id, text, schema, limits).map_err(|reason| {
                anyhow::anyhow!("trusted documents {shown}: entry `{id}`: {reason}")
            })?;
        }
        Ok(())
    }

    fn add(
        &mut self,
        id: &str,
        text: String,
        schema: &SessionGraphSchema,
        limits: &RequestLimits,
    ) -> Result<(), String> {
        let hash = sha256_hex(&text);
        if let Some(claimed) = sha256_shaped(id)
            && claimed != hash
        {
            return Err(format!(
                "the id looks like a SHA-256 but the text's SHA-256 is {hash}"
            ));
        }
        let document = match self.by_hash.get(&hash) {
            Some(known) => known.clone(),
            None => Arc::new(prepare(text, schema, limits)?),
        };
        match self.by_id.entry(id.to_owned()) {
            Entry::Occupied(entry) if entry.get().text() != document.text() => {
                return Err("the id is already given to a different text".to_owned());
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(entry) => {
                entry.insert(document.clone());
            }
        }
        self.by_hash.insert(hash, document);
        Ok(())
    }

    /// The document a request names: by `documentId` (or Relay's
    /// `doc_id`), or by Apollo's `extensions.persistedQuery.sha256Hash`
    /// when this set holds that hash. `Ok(None)`: the request names none
    /// of these documents (it sends its text, or leaves the hash to the
    /// automatic persisted queries).
    pub fn named(
        &self,
        request: &async_graphql::Request,
    ) -> Result<Option<Arc<TrustedDocument>>, IdError> {
        if let Some(id) = &request.document_id {
            let async_graphql::Value::String(id) = id else {
                return Err(IdError::NotAString);
            };
            if !request.query.is_empty() {
                return Err(IdError::WithQuery);
            }
            return self
                .find(id)?
                .map(Some)
                .ok_or_else(|| IdError::NotFound(id.clone()));
        }
        Ok(apollo_hash(request).and_then(|hash| self.by_hash.get(&hash).cloned()))
    }

    fn find(&self, id: &str) -> Result<Option<Arc<TrustedDocument>>, IdError> {
        let length = id.chars().count();
        if length > MAX_ID_CHARS {
            return Err(IdError::TooLong(length));
        }
        if let Some(hex) = id.strip_prefix(SHA256_PREFIX) {
            if !is_sha256_hex(hex) {
                return Err(IdError::BadHash);
            }
            return Ok(self.by_hash.get(&hex.to_ascii_lowercase()).cloned());
        }
        if let Some((prefix, _)) = id.split_once(':') {
            return Err(IdError::UnknownPrefix(prefix.to_owned()));
        }
        if let Some(document) = self.by_id.get(id) {
            return Ok(Some(document.clone()));
        }
        // A bare hash names the text whose hash it is, whatever id the
        // manifest gave it (codegen writes `sha256:<hex>` or `<hex>`).
        Ok(is_sha256_hex(id)
            .then(|| self.by_hash.get(&id.to_ascii_lowercase()).cloned())
            .flatten())
    }
}

/// Whether a request names a document by id (`documentId`, `doc_id`, or a
/// persisted query's hash without its text): under
/// `--trusted-documents-only` only such requests run.
pub fn names_an_id(request: &async_graphql::Request) -> bool {
    request.document_id.is_some() || (request.query.is_empty() && apollo_hash(request).is_some())
}

/// The `(id, text)` entries of a manifest in any of the three formats.
fn entries(Fields(fields): Fields) -> Result<Vec<(String, String)>, String> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    };
    let apollo = field("format").and_then(Value::as_str) == Some(APOLLO_FORMAT);
    if !apollo {
        // Relay's `persisted_queries.json` and codegen's
        // `persisted-documents.json` are both `{"<id>": "<text>"}`.
        return fields
            .into_iter()
            .map(|(id, text)| match text {
                Value::String(text) => Ok((id, text)),
                _ => Err(format!("entry `{id}`: the document must be a string")),
            })
            .collect();
    }
    if field("version").and_then(Value::as_u64) != Some(1) {
        return Err(format!("{APOLLO_FORMAT}: only version 1 is known"));
    }
    let Some(Value::Array(operations)) = field("operations") else {
        return Err(format!("{APOLLO_FORMAT}: `operations` must be an array"));
    };
    operations
        .iter()
        .enumerate()
        .map(|(index, operation)| {
            let id = operation.get("id").and_then(Value::as_str);
            let body = operation.get("body").and_then(Value::as_str);
            match (id, body) {
                (Some(id), Some(body)) => Ok((id.to_owned(), body.to_owned())),
                (Some(id), None) => Err(format!("entry `{id}`: `body` must be a string")),
                (None, _) => Err(format!("operation {index}: `id` must be a string")),
            }
        })
        .collect()
}

/// A manifest's top-level object, every key kept in order: a map would
/// keep only the last of two entries under one id, and an id given twice
/// with different texts must be refused, not resolved by position.
struct Fields(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter
                    .write_str("a JSON object (Apollo's manifest, or {\"<id>\": \"<document>\"})")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry::<String, Value>()? {
                    fields.push(field);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

const APOLLO_FORMAT: &str = "apollo-persisted-query-manifest";

/// Parses, validates and measures one document, as a request with its
/// text would be, with its variables' defaults.
fn prepare(
    text: String,
    schema: &SessionGraphSchema,
    limits: &RequestLimits,
) -> Result<TrustedDocument, String> {
    if text.len() > limits.max_query_bytes {
        return Err(format!(
            "the document is {} bytes, above the limit of {} bytes (--max-query-bytes)",
            text.len(),
            limits.max_query_bytes
        ));
    }
    if text.contains('\0') {
        return Err("the document holds a NUL character".to_owned());
    }
    let nesting = screening::bracket_nesting(&text, screening::MAX_NESTING);
    if nesting > screening::MAX_NESTING {
        return Err(format!(
            "the document nests brackets at least {nesting} deep, above the limit of {}",
            screening::MAX_NESTING
        ));
    }
    let parsed = async_graphql::parser::parse_query(&text)
        .map_err(|error| format!("the document does not parse: {error}"))?;
    let document = Arc::new(PreparedDocument::new(Arc::from(text), parsed));
    if let Some(cycle) = &document.fragment_cycle {
        return Err(format!("fragments must not spread themselves: {cycle}"));
    }
    schema
        .validate_document(document.document(), document.validation())
        .map_err(|errors| {
            let reasons: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            format!("the document is not valid: {}", reasons.join("; "))
        })?;
    let names: Vec<Option<&str>> = match &document.document().operations {
        DocumentOperations::Single(_) => vec![None],
        DocumentOperations::Multiple(operations) => {
            let mut names: Vec<Option<&str>> =
                operations.keys().map(|name| Some(name.as_str())).collect();
            if operations.len() == 1 {
                names.push(None);
            }
            names
        }
    };
    let mut operations = Vec::with_capacity(names.len());
    for name in names {
        let operation = PreparedOperation::new(document.clone(), name, &limits.query);
        operation
            .measure(&Variables::default())
            .map_err(|exceeded| exceeded.to_string())?;
        operations.push(Arc::new(operation));
    }
    Ok(TrustedDocument {
        document,
        operations,
    })
}

/// The lowercase hash an id claims to be: 64 hex digits, bare or after
/// `sha256:`.
fn sha256_shaped(id: &str) -> Option<String> {
    let hex = id.strip_prefix(SHA256_PREFIX).unwrap_or(id);
    is_sha256_hex(hex).then(|| hex.to_ascii_lowercase())
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Apollo's `extensions.persistedQuery.sha256Hash`, when well formed.
fn apollo_hash(request: &async_graphql::Request) -> Option<String> {
    let async_graphql::Value::Object(fields) = request.extensions.get("persistedQuery")? else {
        return None;
    };
    match fields.get("sha256Hash") {
        Some(async_graphql::Value::String(hash)) if is_sha256_hex(hash) => {
            Some(hash.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// The SHA-256 of a text, as `sha256:<hex>` ids name it.
pub fn document_id(text: &str) -> String {
    format!("{SHA256_PREFIX}{}", sha256_hex(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> SessionGraphSchema {
        crate::graphql::build_schema(None, None, true)
    }

    fn load(manifest: &Value) -> anyhow::Result<TrustedDocuments> {
        let file = tempfile::NamedTempFile::new()?;
        std::fs::write(file.path(), manifest.to_string())?;
        TrustedDocuments::load(
            &[file.path().to_owned()],
            &schema(),
            &RequestLimits::default(),
        )
    }

    const TEXT: &str = "query Q { __typename }";

    fn request_by_id(id: &str) -> async_graphql::Request {
        let mut request = async_graphql::Request::new("");
        request.document_id = Some(async_graphql::Value::String(id.to_owned()));
        request
    }

    #[test]
    fn the_three_formats_load_and_answer_by_every_id() {
        let hash = sha256_hex(TEXT);
        let apollo = serde_json::json!({
            "format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{ "id": hash, "name": "Q", "type": "query", "body": TEXT }],
        });
        let relay = serde_json::json!({ "abc123": TEXT });
        let codegen = serde_json::json!({ format!("sha256:{hash}"): TEXT });
        for manifest in [apollo, relay, codegen] {
            let documents = match load(&manifest) {
                Ok(documents) => documents,
                Err(error) => panic!("{manifest}: {error:#}"),
            };
            let by_hash = documents.named(&request_by_id(&document_id(TEXT)));
            assert!(matches!(by_hash, Ok(Some(_))), "{manifest}");
            let by_bare_hash = documents.named(&request_by_id(&hash));
            assert!(matches!(by_bare_hash, Ok(Some(_))), "{manifest}");
        }
    }

    #[test]
    fn ids_of_the_wrong_shape_are_told_apart_from_unknown_ones() {
        let Ok(documents) = load(&serde_json::json!({ "abc": TEXT })) else {
            panic!("loads");
        };
        let named = |id: &str| documents.named(&request_by_id(id)).map(|d| d.is_some());
        assert_eq!(named("abc"), Ok(true));
        assert!(matches!(named("nope"), Err(IdError::NotFound(_))));
        assert_eq!(named("sha256:12"), Err(IdError::BadHash));
        assert_eq!(named("md5:12"), Err(IdError::UnknownPrefix("md5".into())));
        assert_eq!(named(&"a".repeat(257)), Err(IdError::TooLong(257)));
        let mut number = async_graphql::Request::new("");
        number.document_id = Some(async_graphql::Value::from(12));
        assert_eq!(
            documents.named(&number).map(|d| d.is_some()),
            Err(IdError::NotAString)
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let failure = |manifest: Value| match load(&manifest) {
            Ok(_) => panic!("{manifest} loaded"),
            Err(error) => error.to_string(),
        };
        let invalid = failure(serde_json::json!({ "bad": "{ noSuchField }" }));
        assert!(invalid.contains("entry `bad`"), "{invalid}");
        let wrong_hash = failure(serde_json::json!({ sha256_hex("{ other }"): TEXT }));
        assert!(wrong_hash.contains("SHA-256"), "{wrong_hash}");
        let apollo = serde_json::json!({
            "format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [
                { "id": "one", "body": TEXT },
                { "id": "one", "body": "{ __typename }" },
            ],
        });
        let collision = failure(apollo);
        assert!(collision.contains("different text"), "{collision}");
        let huge = failure(
            serde_json::json!({ "huge": format!("{{ {} }}", "__typename ".repeat(1_000_000)) }),
        );
        assert!(huge.contains("--max-query-bytes"), "{huge}");
    }
}
