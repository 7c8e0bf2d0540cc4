//! Field-level rules: a JSON document becomes a [`Dataset`], or a list of
//! errors that each name the record and field at fault.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::error::{ImportError, ImportErrors};
use super::records::*;
use crate::entities::enums::{OwnerType, SessionType, StoredStatus};
use crate::timestamp;

/// Longest id accepted; ids are keys and cursors, not free text.
const MAX_ID_LEN: usize = 255;

struct RawDocument<'a> {
    applications: Option<Vec<&'a RawValue>>,
    users: Option<Vec<&'a RawValue>>,
    user_agents: Option<Vec<&'a RawValue>>,
    sessions: Option<Vec<&'a RawValue>>,
}

/// Parses a whole document. Records are decoded one at a time from the raw
/// text, so a large export is never held as a tree of JSON values.
pub fn parse_document(text: &str) -> Result<Dataset, ImportErrors> {
    let mut errors = ImportErrors::default();
    // A map first, so that a top-level array or scalar is refused (serde
    // would read a struct from an array) and each member is typed alone.
    // Owned keys: a key written with escapes cannot be borrowed from the text.
    let top: HashMap<String, &RawValue> = match serde_json::from_str(text) {
        Ok(top) => top,
        Err(error) => {
            errors.push(ImportError::document(format!(
                "not a JSON object with applications, users, user_agents and sessions arrays: {error}"
            )));
            return Err(errors);
        }
    };
    let mut array = |name: &'static str| -> Option<Vec<&RawValue>> {
        let raw = top.get(name)?;
        match serde_json::from_str::<Option<Vec<&RawValue>>>(raw.get()) {
            Ok(records) => records,
            Err(_) => {
                let found = serde_json::from_str::<Value>(raw.get())
                    .map(|v| kind_of(&v))
                    .unwrap_or("invalid JSON");
                errors.push(ImportError {
                    field: Some(name.to_owned()),
                    ..ImportError::document(format!("expected an array of records, found {found}"))
                });
                None
            }
        }
    };
    let raw = RawDocument {
        applications: array("applications"),
        users: array("users"),
        user_agents: array("user_agents"),
        sessions: array("sessions"),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut dataset = Dataset::default();
    for_each_record(&raw.applications, "applications", &mut errors, |r| {
        if let Some(a) = application(r) {
            dataset.applications.push(a);
        }
    });
    for_each_record(&raw.users, "users", &mut errors, |r| {
        if let Some(u) = user(r) {
            dataset.users.push(u);
        }
    });
    for_each_record(&raw.user_agents, "user_agents", &mut errors, |r| {
        if let Some(u) = user_agent(r) {
            dataset.user_agents.push(u);
        }
    });
    for_each_record(&raw.sessions, "sessions", &mut errors, |r| {
        if let Some(s) = session(r) {
            dataset.sessions.push(s);
        }
    });
    if errors.is_empty() {
        Ok(dataset)
    } else {
        Err(errors)
    }
}

fn for_each_record(
    records: &Option<Vec<&RawValue>>,
    array: &'static str,
    errors: &mut ImportErrors,
    mut each: impl FnMut(&mut Record),
) {
    for (index, raw) in records.iter().flatten().enumerate() {
        let map = match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Object(map)) => map,
            Ok(other) => {
                errors.push(ImportError {
                    array,
                    index: Some(index),
                    id: None,
                    field: None,
                    message: format!("expected an object, found {}", kind_of(&other)),
                });
                continue;
            }
            Err(error) => {
                errors.push(ImportError {
                    array,
                    index: Some(index),
                    id: None,
                    field: None,
                    message: format!("invalid JSON: {error}"),
                });
                continue;
            }
        };
        let id = map.get("id").and_then(Value::as_str).map(str::to_owned);
        let mut record = Record {
            array,
            index,
            id,
            map,
            errors: Vec::new(),
        };
        each(&mut record);
        for error in record.errors {
            errors.push(error);
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One record being decoded: reads typed fields and notes what is wrong.
/// Each reader returns `None` after noting an error, so a record with
/// errors is dropped while its other fields are still checked.
pub(crate) struct Record {
    array: &'static str,
    index: usize,
    id: Option<String>,
    map: Map<String, Value>,
    errors: Vec<ImportError>,
}

impl Record {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(ImportError {
            array: self.array,
            index: Some(self.index),
            id: self.id.clone(),
            field: Some(field.to_owned()),
            message: message.into(),
        });
    }

    fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The value at `key`, or `None` when absent or null.
    fn present(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn required(&mut self, key: &str) -> Option<Value> {
        match self.map.get(key) {
            None => {
                self.fail(key, "missing required key");
                None
            }
            Some(Value::Null) => {
                self.fail(key, "must not be null");
                None
            }
            Some(value) => Some(value.clone()),
        }
    }

    fn string_value(&mut self, key: &str, value: Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s),
            other => {
                self.fail(key, format!("expected a string, found {}", kind_of(&other)));
                None
            }
        }
    }

    fn req_string(&mut self, key: &str) -> Option<String> {
        let value = self.required(key)?;
        self.string_value(key, value)
    }

    fn opt_string(&mut self, key: &str) -> Option<String> {
        let value = self.present(key)?.clone();
        self.string_value(key, value)
    }

    fn check_id(&mut self, key: &str, id: String) -> Option<String> {
        if id.is_empty() {
            self.fail(key, "must not be empty");
            None
        } else if id.len() > MAX_ID_LEN {
            self.fail(key, format!("is longer than {MAX_ID_LEN} bytes"));
            None
        } else if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.fail(key, "must not contain whitespace or control characters");
            None
        } else {
            Some(id)
        }
    }

    fn req_id(&mut self, key: &str) -> Option<String> {
        let id = self.req_string(key)?;
        self.check_id(key, id)
    }

    fn opt_id(&mut self, key: &str) -> Option<String> {
        let id = self.opt_string(key)?;
        self.check_id(key, id)
    }

    fn timestamp_value(&mut self, key: &str, value: Value) -> Option<DateTime<Utc>> {
        let text = self.string_value(key, value)?;
        match timestamp::parse(&text) {
            Ok(at) => Some(at),
            Err(message) => {
                self.fail(key, message);
                None
            }
        }
    }

    fn req_timestamp(&mut self, key: &str) -> Option<DateTime<Utc>> {
        let value = self.required(key)?;
        self.timestamp_value(key, value)
    }

    fn opt_timestamp(&mut self, key: &str) -> Option<DateTime<Utc>> {
        let value = self.present(key)?.clone();
        self.timestamp_value(key, value)
    }

    fn req_bool(&mut self, key: &str) -> Option<bool> {
        match self.required(key)? {
            Value::Bool(b) => Some(b),
            other => {
                self.fail(
                    key,
                    format!("expected a boolean, found {}", kind_of(&other)),
                );
                None
            }
        }
    }

    fn req_count(&mut self, key: &str) -> Option<i32> {
        let value = self.required(key)?;
        match value.as_i64() {
            Some(n) if (0..=i64::from(i32::MAX)).contains(&n) => Some(n as i32),
            Some(n) => {
                self.fail(key, format!("{n} is out of range (0 to {})", i32::MAX));
                None
            }
            None => {
                self.fail(
                    key,
                    format!("expected an integer >= 0, found {}", json_preview(&value)),
                );
                None
            }
        }
    }

    fn slug(&mut self, key: &str) -> Option<String> {
        let slug = self.req_string(key)?;
        let valid = !slug.is_empty()
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Some(slug)
        } else {
            self.fail(
                key,
                format!("{slug:?} is not a slug (lowercase letters, digits and hyphens)"),
            );
            None
        }
    }

    fn enumeration<T: Copy>(
        &mut self,
        key: &str,
        value: Value,
        options: &[(&str, T)],
    ) -> Option<T> {
        let text = self.string_value(key, value)?;
        match options.iter().find(|(name, _)| *name == text) {
            Some((_, variant)) => Some(*variant),
            None => {
                let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
                self.fail(key, format!("{text:?} is not one of {}", names.join(", ")));
                None
            }
        }
    }

    fn object(&mut self, key: &str) -> Option<Map<String, Value>> {
        match self.present(key)?.clone() {
            Value::Object(map) => Some(map),
            other => {
                self.fail(
                    key,
                    format!("expected an object, found {}", kind_of(&other)),
                );
                None
            }
        }
    }

    /// A nested value decoded by serde; unknown keys are ignored like at the top.
    fn nested<T: for<'de> Deserialize<'de>>(&mut self, key: &str, what: &str) -> Option<T> {
        let value = self.present(key)?.clone();
        match serde_json::from_value(value) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                self.fail(key, format!("expected {what}: {error}"));
                None
            }
        }
    }

    fn forbid(&mut self, key: &str, why: &str) {
        if self.present(key).is_some() {
            self.fail(key, why.to_owned());
        }
    }
}

fn json_preview(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 40 {
        format!("{}…", &text[..text.floor_char_boundary(40)])
    } else {
        text
    }
}

const OWNER_TYPES: &[(&str, OwnerType)] = &[
    ("platform", OwnerType::Platform),
    ("customer", OwnerType::Customer),
];
const SESSION_TYPES: &[(&str, SessionType)] = &[
    ("user", SessionType::User),
    ("application", SessionType::Application),
];
const STATUSES: &[(&str, StoredStatus)] = &[
    ("active", StoredStatus::Active),
    ("expired", StoredStatus::Expired),
    ("revoked", StoredStatus::Revoked),
];

pub(crate) fn application(r: &mut Record) -> Option<Application> {
    let id = r.req_id("id");
    let zone_id = r.req_id("zone_id");
    let organization_id = r.req_id("organization_id");
    let created_at = r.req_timestamp("created_at");
    let updated_at = r.req_timestamp("updated_at");
    let dependencies_count = r.req_count("dependencies_count");
    let identifier = r.req_string("identifier");
    let name = r.req_string("name");
    let owner_type = r
        .required("owner_type")
        .and_then(|v| r.enumeration("owner_type", v, OWNER_TYPES));
    let slug = r.slug("slug");
    let description = r.opt_string("description");
    let metadata = r.nested::<ApplicationMetadata>("metadata", "{ \"docs_url\": string? }");
    let protocols = r.nested::<ApplicationProtocols>(
        "protocols",
        "{ \"oauth2\": { \"redirect_uris\": [string]?, \"post_logout_redirect_uris\": [string]? }? }",
    );
    if !r.ok() {
        return None;
    }
    Some(Application {
        id: id?,
        zone_id: zone_id?,
        organization_id: organization_id?,
        created_at: created_at?,
        updated_at: updated_at?,
        dependencies_count: dependencies_count?,
        identifier: identifier?,
        name: name?,
        owner_type: owner_type?,
        slug: slug?,
        description,
        metadata,
        protocols,
    })
}

pub(crate) fn user(r: &mut Record) -> Option<User> {
    let id = r.req_id("id");
    let zone_id = r.req_id("zone_id");
    let organization_id = r.req_id("organization_id");
    let created_at = r.req_timestamp("created_at");
    let updated_at = r.req_timestamp("updated_at");
    let email = r.req_string("email");
    let email_verified = r.req_bool("email_verified");
    let authenticated_at = r.opt_timestamp("authenticated_at");
    let issuer = r.opt_string("issuer");
    let provider_id = r.opt_id("provider_id");
    let subject = r.opt_string("subject");
    if !r.ok() {
        return None;
    }
    Some(User {
        id: id?,
        zone_id: zone_id?,
        organization_id: organization_id?,
        created_at: created_at?,
        updated_at: updated_at?,
        email: email?,
        email_verified: email_verified?,
        authenticated_at,
        issuer,
        provider_id,
        subject,
    })
}

fn is_user_agent_identifier(identifier: &str) -> bool {
    identifier.strip_prefix("ua:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

pub(crate) fn user_agent(r: &mut Record) -> Option<UserAgent> {
    let id = r.req_id("id");
    let zone_id = r.req_id("zone_id");
    let organization_id = r.req_id("organization_id");
    let created_at = r.req_timestamp("created_at");
    let updated_at = r.req_timestamp("updated_at");
    let identifier = r.req_string("identifier");
    if let Some(identifier) = &identifier
        && !is_user_agent_identifier(identifier)
    {
        let message = format!(
            "{identifier:?} is not \"ua:\" followed by 64 lowercase hex digits (a SHA-256)"
        );
        r.fail("identifier", message);
    }
    let name = r.req_string("name");
    let slug = r.slug("slug");
    if !r.ok() {
        return None;
    }
    Some(UserAgent {
        id: id?,
        zone_id: zone_id?,
        organization_id: organization_id?,
        created_at: created_at?,
        updated_at: updated_at?,
        identifier: identifier?,
        name: name?,
        slug: slug?,
    })
}

pub(crate) fn session(r: &mut Record) -> Option<Session> {
    let session_type = r
        .required("session_type")
        .and_then(|v| r.enumeration("session_type", v, SESSION_TYPES));
    let id = r.req_id("id");
    let zone_id = r.req_id("zone_id");
    let status = match r.present("status").cloned() {
        None => Some(StoredStatus::Active),
        Some(v) => r.enumeration("status", v, STATUSES),
    };
    if let Some(active) = r.present("active")
        && !active.is_boolean()
    {
        let message = format!("expected a boolean, found {}", kind_of(active));
        r.fail("active", message);
    }
    let organization_id = r.opt_id("organization_id");
    let authenticated_at = r.opt_timestamp("authenticated_at");
    let created_at = r.opt_timestamp("created_at");
    let updated_at = r.opt_timestamp("updated_at");
    let expires_at = r.opt_timestamp("expires_at");
    let issuer = r.opt_string("issuer");
    let subject = r.opt_string("subject");
    let provider_id = r.opt_id("provider_id");
    let metadata = r.nested::<SessionMetadata>("metadata", "{ \"name\": string }");
    let session_data = r.object("session_data");

    let (application_id, user_id, user_agent_id, parent_id) = match session_type {
        Some(SessionType::Application) => {
            let why = "must be absent on an application session";
            r.forbid("user_id", why);
            r.forbid("user_agent_id", why);
            r.forbid("parent_id", why);
            (r.req_id("application_id"), None, None, None)
        }
        Some(SessionType::User) => (
            r.opt_id("application_id"),
            r.req_id("user_id"),
            r.opt_id("user_agent_id"),
            r.opt_id("parent_id"),
        ),
        None => (None, None, None, None),
    };
    if let (Some(id), Some(parent)) = (&id, &parent_id)
        && id == parent
    {
        r.fail("parent_id", "a session cannot be its own parent");
    }
    if !r.ok() {
        return None;
    }
    Some(Session {
        session_type: session_type?,
        id: id?,
        zone_id: zone_id?,
        status: status?,
        organization_id,
        application_id,
        user_id,
        user_agent_id,
        parent_id,
        authenticated_at,
        created_at,
        updated_at,
        expires_at,
        issuer,
        subject,
        provider_id,
        metadata,
        session_data,
    })
}
