//! Reading rows by column position. The gateway's statements select each
//! table's columns in model order ([`columns`]), so a row is decoded by index,
//! straight from sqlx's row. SeaORM's `FromQueryResult` looks every value up
//! by name, building a column-name string per value first (16% of a nested
//! query's CPU), and its by-index path still formats a string per NULL.

use sea_orm::sqlx::error::BoxDynError;
use sea_orm::sqlx::{self, Database, Decode, Row, Type};
use sea_orm::{DbErr, EntityTrait, Iterable, QueryResult};

use super::enums::{OwnerType, SessionType, StoredStatus};
use super::{application, user, user_agent};

/// A model that can be read from the row's first columns, in model order.
pub trait ByPosition: Sized {
    /// How many columns the model takes; a statement's extra columns follow.
    const COLUMNS: usize;

    fn from_pg(row: &sqlx::postgres::PgRow) -> Result<Self, DbErr>;

    fn from_sqlite(row: &sqlx::sqlite::SqliteRow) -> Result<Self, DbErr>;

    fn from_row(result: &QueryResult) -> Result<Self, DbErr> {
        if let Some(row) = result.try_as_pg_row() {
            Self::from_pg(row)
        } else if let Some(row) = result.try_as_sqlite_row() {
            Self::from_sqlite(row)
        } else {
            Err(DbErr::Type(
                "rows come from PostgreSQL or SQLite only".into(),
            ))
        }
    }
}

/// The value at `index`. The statement fixes each column's type, so sqlx's
/// per-value type check is skipped; a mismatch still fails to decode.
///
/// `NULL` reads as the type's default: it is how a statement leaves out a
/// column the request never reads (see `graphql::projection`). Columns
/// that are `NOT NULL` in the schema are never `NULL` otherwise.
pub fn cell<'r, R, T>(row: &'r R, index: usize) -> Result<T, DbErr>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    T: Decode<'r, R::Database> + Default,
{
    row.try_get_unchecked::<Option<T>, _>(index)
        .map(Option::unwrap_or_default)
        .map_err(|error| DbErr::Type(format!("column {index}: {error}")))
}

/// The string-valued enums decode from their stored text.
macro_rules! text_enum {
    ($ty:ty { $($text:literal => $variant:ident),* $(,)? }) => {
        impl<DB: Database> Type<DB> for $ty
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $ty
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                match <&str as Decode<DB>>::decode(value)? {
                    $($text => Ok(<$ty>::$variant),)*
                    other => Err(format!("{other:?} is not a {}", stringify!($ty)).into()),
                }
            }
        }
    };
}

text_enum!(SessionType { "user" => User, "application" => Application });
text_enum!(StoredStatus { "active" => Active, "expired" => Expired, "revoked" => Revoked });
text_enum!(OwnerType { "platform" => Platform, "customer" => Customer });

/// `zone_id, id, ...`: an entity's columns in model order, for statements
/// written by hand that [`ByPosition`] decodes.
pub fn columns<E: EntityTrait>() -> String {
    use sea_orm::IdenStatic;
    E::Column::iter()
        .map(|column| column.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Implements [`ByPosition`] for a struct whose fields are listed in
/// column order.
#[macro_export]
macro_rules! by_position {
    ($model:path { $($field:ident),* $(,)? }) => {
        impl $crate::entities::by_position::ByPosition for $model {
            const COLUMNS: usize = [$(stringify!($field)),*].len();

            fn from_pg(
                row: &sea_orm::sqlx::postgres::PgRow,
            ) -> Result<Self, sea_orm::DbErr> {
                let mut index = 0..;
                Ok(Self {
                    $($field: $crate::entities::by_position::cell(
                        row,
                        index.next().unwrap_or_default(),
                    )?,)*
                })
            }

            fn from_sqlite(
                row: &sea_orm::sqlx::sqlite::SqliteRow,
            ) -> Result<Self, sea_orm::DbErr> {
                let mut index = 0..;
                Ok(Self {
                    $($field: $crate::entities::by_position::cell(
                        row,
                        index.next().unwrap_or_default(),
                    )?,)*
                })
            }
        }

        #[cfg(test)]
        impl $model {
            pub fn field_order() -> Vec<&'static str> {
                vec![$(stringify!($field)),*]
            }
        }
    };
}

by_position!(user::Model {
    zone_id,
    id,
    organization_id,
    created_at,
    updated_at,
    email,
    email_verified,
    authenticated_at,
    issuer,
    provider_id,
    subject,
});

by_position!(application::Model {
    zone_id,
    id,
    organization_id,
    created_at,
    updated_at,
    dependencies_count,
    identifier,
    name,
    owner_type,
    slug,
    description,
    metadata,
    protocols,
});

by_position!(user_agent::Model {
    zone_id,
    id,
    organization_id,
    created_at,
    updated_at,
    identifier,
    name,
    slug,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::session;
    use crate::graphql::session_row::SessionRow;

    /// The decoders read fields in the order `Entity::find()` and
    /// [`columns`] select them.
    #[test]
    fn field_order_is_column_order() {
        fn column_names<E: EntityTrait>() -> Vec<String> {
            columns::<E>().split(", ").map(str::to_owned).collect()
        }
        assert_eq!(SessionRow::field_order(), column_names::<session::Entity>());
        assert_eq!(user::Model::field_order(), column_names::<user::Entity>());
        assert_eq!(
            application::Model::field_order(),
            column_names::<application::Entity>()
        );
        assert_eq!(
            user_agent::Model::field_order(),
            column_names::<user_agent::Entity>()
        );
    }
}
