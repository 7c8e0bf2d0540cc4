//! Import errors: one line each, naming array, index, id and field.

use std::fmt;

/// How many errors an import prints before summarising the rest.
pub const REPORTED_ERRORS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// `applications`, `users`, `user_agents`, `sessions`, or `document`.
    pub array: &'static str,
    pub index: Option<usize>,
    pub id: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl ImportError {
    pub fn document(message: impl Into<String>) -> Self {
        ImportError {
            array: "document",
            index: None,
            id: None,
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.array)?;
        if let Some(index) = self.index {
            write!(f, "[{index}]")?;
        }
        if self.index.is_some() {
            match &self.id {
                Some(id) => write!(f, " id={id}")?,
                None => f.write_str(" id=?")?,
            }
        }
        if let Some(field) = &self.field {
            write!(f, " field={field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every error found in a document, in document order.
#[derive(Debug, Default)]
pub struct ImportErrors(pub Vec<ImportError>);

impl ImportErrors {
    pub fn push(&mut self, error: ImportError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in self.0.iter().take(REPORTED_ERRORS) {
            writeln!(f, "{error}")?;
        }
        if self.0.len() > REPORTED_ERRORS {
            writeln!(f, "... and {} more errors", self.0.len() - REPORTED_ERRORS)?;
        }
        write!(
            f,
            "{} error{} found; nothing was written",
            self.0.len(),
            if self.0.len() == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for ImportErrors {}
