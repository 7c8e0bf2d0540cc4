//! The import format of DATASET.md: typed records, how a document is parsed
//! and checked, and how it is written.
//!
//! `import` and `seed` share one path: [`parse`] turns a JSON document into a
//! [`Dataset`] (field-level rules), [`check`] applies the rules that need the
//! whole document and the database (references, uniqueness, cycles) and plans
//! each session's depth and root; `crate::store::import` stores it in one
//! transaction.

pub mod check;
pub mod error;
pub mod parse;
pub mod records;

pub use error::{ImportError, ImportErrors};
pub use records::{
    Application, ApplicationMetadata, ApplicationProtocols, Dataset, OAuth2Protocol, Session,
    SessionMetadata, User, UserAgent,
};
