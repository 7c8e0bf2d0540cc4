//! Which columns a request's statements select. A column that only feeds
//! fields the document never asks for is left out of the select list, so
//! the database neither reads nor sends it and the driver does not split
//! it out of each row; [`ByPosition`] finds a selected column by counting
//! the selected ones before it, and reads a left-out one as its type's
//! default. (A nested query that asks for `user { email }` and
//! `application { name }` otherwise decodes every user's and application's
//! columns, the applications' JSON included.)
//!
//! The decision is by field name over the whole document, every operation
//! and fragment included, whatever type the field is on: asking for
//! `createdAt` anywhere loads `created_at` in every table. That errs only
//! towards loading too much, and needs no knowledge of which type a
//! selection lands on.
//!
//! [`ByPosition`]: super::decode::ByPosition

use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use rustc_hash::FxHashMap;

/// A column, in model order, and the fields that read it. Columns read by
/// no field listed here are always selected: keys, and what resolvers,
/// cursors and page grouping use behind the scenes.
struct Column {
    name: &'static str,
    /// The select expression when it is not the bare column: the text
    /// before and after the column's name.
    expression: Option<(&'static str, &'static str)>,
    read_by: &'static [&'static str],
}

const fn always(name: &'static str) -> Column {
    Column {
        name,
        expression: None,
        read_by: &[],
    }
}

const fn read_by(name: &'static str, fields: &'static [&'static str]) -> Column {
    Column {
        name,
        expression: None,
        read_by: fields,
    }
}

const USERS: &[Column] = &[
    always("zone_id"),
    always("id"),
    read_by("organization_id", &["organizationId"]),
    read_by("created_at", &["createdAt"]),
    read_by("updated_at", &["updatedAt"]),
    read_by("email", &["email"]),
    read_by("email_verified", &["emailVerified"]),
    read_by("authenticated_at", &["authenticatedAt"]),
    read_by("issuer", &["issuer"]),
    read_by("provider_id", &["providerId"]),
    read_by("subject", &["subject"]),
];

const APPLICATIONS: &[Column] = &[
    always("zone_id"),
    always("id"),
    read_by("organization_id", &["organizationId"]),
    read_by("created_at", &["createdAt"]),
    read_by("updated_at", &["updatedAt"]),
    read_by("dependencies_count", &["dependenciesCount"]),
    read_by("identifier", &["identifier"]),
    read_by("name", &["name"]),
    read_by("owner_type", &["ownerType"]),
    read_by("slug", &["slug"]),
    read_by("description", &["description"]),
    read_by("metadata", &["metadata"]),
    read_by("protocols", &["protocols"]),
];

const USER_AGENTS: &[Column] = &[
    always("zone_id"),
    always("id"),
    read_by("organization_id", &["organizationId"]),
    read_by("created_at", &["createdAt"]),
    read_by("updated_at", &["updatedAt"]),
    read_by("identifier", &["identifier"]),
    read_by("name", &["name"]),
    read_by("slug", &["slug"]),
];

/// Sessions keep every column that identifies, orders or judges a row
/// (effective status needs `expires_at`; cursors need the order keys) and
/// `parent_id`, which the tree's fields and joins follow. The columns of
/// the other relations are read by their fields; a page of one owner's
/// sessions selects its owner's column as well, to group its rows by
/// (`store::session_lists`).
const SESSIONS: &[Column] = &[
    always("zone_id"),
    always("id"),
    always("session_type"),
    always("status"),
    read_by("organization_id", &["organizationId"]),
    read_by("application_id", &["applicationId", "application"]),
    read_by("user_id", &["userId", "user"]),
    read_by("user_agent_id", &["userAgentId", "userAgent"]),
    always("parent_id"),
    read_by("root_id", &["root"]),
    read_by("depth", &["depth"]),
    always("authenticated_at"),
    always("created_at"),
    read_by("updated_at", &["updatedAt"]),
    always("expires_at"),
    read_by("issuer", &["issuer"]),
    read_by("subject", &["subject"]),
    read_by("provider_id", &["providerId"]),
    read_by("metadata_name", &["metadata"]),
    // The claims travel as text; see `SessionRow`.
    Column {
        name: "session_data",
        expression: Some(("CAST(", " AS TEXT)")),
        read_by: &["sessionData"],
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Users,
    Applications,
    UserAgents,
    Sessions,
}

impl Table {
    fn columns(self) -> &'static [Column] {
        match self {
            Table::Users => USERS,
            Table::Applications => APPLICATIONS,
            Table::UserAgents => USER_AGENTS,
            Table::Sessions => SESSIONS,
        }
    }

    fn slot(self) -> usize {
        self as usize
    }

    /// The GraphQL fields that read one of the table's columns (checked
    /// against the schema by `graphql::schema_facts`).
    pub fn fields_read(self) -> impl Iterator<Item = &'static str> {
        self.columns()
            .iter()
            .flat_map(|column| column.read_by.iter().copied())
    }
}

/// Select lists by table and mask, then by alias.
type KeptLists = FxHashMap<(Table, u32), Vec<(Box<str>, Arc<str>)>>;

/// Per table, a bit per column (in model order): selected or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Projection([u32; 4]);

impl Projection {
    /// Every column of every table: for reads that return whole records.
    pub const ALL: Projection = Projection([u32::MAX; 4]);

    /// The columns that the fields named by `reads` need (every field name
    /// of the document, whatever type it is on).
    pub fn for_fields(reads: impl Fn(&str) -> bool) -> Self {
        let mut masks = [0; 4];
        for table in [
            Table::Users,
            Table::Applications,
            Table::UserAgents,
            Table::Sessions,
        ] {
            for (bit, column) in table.columns().iter().enumerate() {
                if column.read_by.is_empty() || column.read_by.iter().any(|field| reads(field)) {
                    masks[table.slot()] |= 1 << bit;
                }
            }
        }
        Projection(masks)
    }

    /// This projection with `column` of `table` selected as well.
    pub fn including(mut self, table: Table, column: &str) -> Self {
        if let Some(bit) = table.columns().iter().position(|c| c.name == column) {
            self.0[table.slot()] |= 1 << bit;
        }
        self
    }

    /// A bit per column of `table`, in model order: selected or not.
    pub fn mask(&self, table: Table) -> u32 {
        self.0[table.slot()]
    }

    /// How many columns the select list of `table` has: where the columns
    /// that follow it in a row start.
    pub fn width(&self, table: Table) -> usize {
        let columns = table.columns().len();
        (self.mask(table) & (u32::MAX >> (32 - columns))).count_ones() as usize
    }

    /// The select list for `table`: its selected columns in model order.
    pub fn select_list(&self, table: Table) -> Arc<str> {
        self.qualified_select_list(table, "")
    }

    /// [`Self::select_list`] of the table's alias `alias` in a join.
    ///
    /// Lists are kept once built: a request's statements need the same
    /// few, and building one column by column was 3% of a point lookup's
    /// instructions. A request picks its projection from its fields, so
    /// the kept lists are bounded, and past the bound a list is built
    /// for each use.
    pub fn qualified_select_list(&self, table: Table, alias: &str) -> Arc<str> {
        const KEPT_LISTS: usize = 512;
        static KEPT: LazyLock<Mutex<KeptLists>> = LazyLock::new(Mutex::default);
        let mask = self.mask(table);
        let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(lists) = kept.get(&(table, mask))
            && let Some((_, list)) = lists.iter().find(|(kept_alias, _)| **kept_alias == *alias)
        {
            return list.clone();
        }
        let list: Arc<str> = self.select_list_of(table, alias).into();
        if kept.len() < KEPT_LISTS {
            kept.entry((table, mask))
                .or_default()
                .push((alias.into(), list.clone()));
        }
        list
    }

    /// `alias`: the table's alias in the statement, `""` for none.
    fn select_list_of(&self, table: Table, alias: &str) -> String {
        let mask = self.mask(table);
        let mut list = String::with_capacity(256);
        for (bit, column) in table.columns().iter().enumerate() {
            if mask & (1 << bit) == 0 {
                continue;
            }
            if !list.is_empty() {
                list.push_str(", ");
            }
            let (before, after) = column.expression.unwrap_or(("", ""));
            list.push_str(before);
            if !alias.is_empty() {
                list.push_str(alias);
                list.push('.');
            }
            list.push_str(column.name);
            list.push_str(after);
            if column.expression.is_some() {
                list.push_str(" AS ");
                list.push_str(column.name);
            }
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::{application, session, user, user_agent};
    use crate::store::decode::columns;
    use sea_orm::EntityTrait;

    fn names(table: Table) -> String {
        table
            .columns()
            .iter()
            .map(|column| column.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Rows are decoded by position, so the lists must follow the models.
    #[test]
    fn columns_follow_model_order() {
        fn model<E: EntityTrait>() -> String {
            columns::<E>()
        }
        assert_eq!(names(Table::Users), model::<user::Entity>());
        assert_eq!(names(Table::Applications), model::<application::Entity>());
        assert_eq!(names(Table::UserAgents), model::<user_agent::Entity>());
        assert_eq!(names(Table::Sessions), model::<session::Entity>());
    }

    #[test]
    fn a_mask_has_a_bit_per_selected_column() {
        let p = Projection::for_fields(|field| field == "email");
        // zone_id and id always; email is the sixth column.
        assert_eq!(p.mask(Table::Users), 0b10_0011);
        assert_eq!(
            p.including(Table::Users, "created_at").mask(Table::Users),
            0b10_1011
        );
        assert_eq!(Projection::ALL.mask(Table::Sessions), u32::MAX);
    }

    #[test]
    fn a_width_counts_the_selected_columns_of_the_table() {
        let p = Projection::for_fields(|field| field == "email");
        assert_eq!(p.width(Table::Users), 3);
        assert_eq!(
            p.including(Table::Users, "created_at").width(Table::Users),
            4
        );
        for table in [
            Table::Users,
            Table::Applications,
            Table::UserAgents,
            Table::Sessions,
        ] {
            assert_eq!(Projection::ALL.width(table), table.columns().len());
        }
    }
}
