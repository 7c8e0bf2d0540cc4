//! A small SQL text builder that numbers placeholders for the backend, for
//! the statements SeaORM's query builder cannot express (keyset pages over
//! nullable keys, per-parent windows, recursive cascades).

use sea_orm::{DbBackend, Statement, Value};

/// Ids per `IN (...)` list: well inside both databases' parameter limits.
pub const LOOKUP_CHUNK: usize = 1_000;

pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Sql {
            backend,
            text: String::with_capacity(512),
            values: Vec::new(),
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.values.len().to_string());
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// Appends `(?, ?, ...)` bound to `values`; `(NULL)` when empty, which
    /// matches nothing.
    pub fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.push("(");
        let mut any = false;
        for value in values {
            if any {
                self.push(", ");
            }
            self.bind(value);
            any = true;
        }
        if !any {
            self.push("NULL");
        }
        self.push(")")
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}
