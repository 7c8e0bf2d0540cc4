//! The arguments of session lists: filters, order, and the Relay window,
//! validated into the store's [`ListArgs`].

use async_graphql::{ID, InputObject, InputType, SelectionField, Value};

use super::enums::{OrderDirection, SessionOrderField, SessionStatus, SessionType};
use super::errors::ApiError;
use crate::store::keyset::{Ordering, Window};
use crate::store::session_lists::{Criteria, ListArgs};
use crate::store::status::EffectiveStatus;

/// Filters for a list of sessions. All given conditions must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct SessionFilter {
    /// Only sessions of this kind.
    #[graphql(name = "type")]
    pub session_type: Option<SessionType>,
    /// Only sessions whose effective status is any of these; an empty list matches nothing.
    pub status: Option<Vec<SessionStatus>>,
    /// Only sessions of this user.
    pub user_id: Option<ID>,
    /// Only sessions of this application.
    pub application_id: Option<ID>,
    /// Only sessions from this user agent.
    pub user_agent_id: Option<ID>,
    /// Whether to list sessions at every depth. By default only entry
    /// sessions are listed: top-level sessions and their direct children
    /// (depth 0 or 1). `children` ignores this.
    #[graphql(default_with = "Some(false)")]
    pub include_nested: Option<bool>,
}

/// How to order a list of sessions.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct SessionOrder {
    /// The timestamp to order by.
    pub field: SessionOrderField,
    /// The direction to order in.
    pub direction: OrderDirection,
}

/// The arguments every session connection field takes, as given.
#[derive(Debug, Default)]
pub struct SessionListArguments {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    pub filter: Option<SessionFilter>,
    pub order_by: Option<SessionOrder>,
}

impl SessionListArguments {
    /// The arguments a session connection field of the document gives,
    /// read ahead of its resolver (variables substituted) and parsed as
    /// the resolver's parameters parse them; `None` when one does not
    /// parse, for the resolver itself to report.
    pub fn of_field(field: &SelectionField<'_>) -> Option<Self> {
        fn parse<T: InputType>(value: Value) -> Option<T> {
            T::parse(Some(value)).ok()
        }
        let mut arguments = SessionListArguments::default();
        for (name, value) in field.arguments().ok()? {
            match name.as_str() {
                "first" => arguments.first = parse(value)?,
                "after" => arguments.after = parse(value)?,
                "last" => arguments.last = parse(value)?,
                "before" => arguments.before = parse(value)?,
                "filter" => arguments.filter = parse(value)?,
                "orderBy" => arguments.order_by = parse(value)?,
                _ => return None,
            }
        }
        Some(arguments)
    }

    /// The validated list arguments, refusing bad counts and cursors.
    pub fn validate(self) -> Result<ListArgs, ApiError> {
        let order = self
            .order_by
            .map(|o| Ordering {
                key: o.field.into(),
                descending: o.direction == OrderDirection::Desc,
            })
            .unwrap_or_default();
        let window = Window::parse(
            self.first,
            self.after.as_deref(),
            self.last,
            self.before.as_deref(),
            order,
        )?;
        Ok(ListArgs {
            criteria: criteria(self.filter),
            order,
            window,
        })
    }
}

/// Which sessions a filter keeps.
pub fn criteria(filter: Option<SessionFilter>) -> Criteria {
    let filter = filter.unwrap_or_default();
    let statuses = filter.status.map(|statuses| {
        let mut statuses: Vec<EffectiveStatus> = statuses.into_iter().map(Into::into).collect();
        statuses.sort();
        statuses.dedup();
        statuses
    });
    Criteria {
        session_type: filter.session_type.map(Into::into),
        statuses,
        user_id: filter.user_id.map(|id| id.0),
        application_id: filter.application_id.map(|id| id.0),
        user_agent_id: filter.user_agent_id.map(|id| id.0),
        include_nested: filter.include_nested.unwrap_or(false),
        max_depth: None,
    }
}
