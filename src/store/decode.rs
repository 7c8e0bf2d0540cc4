//! Reading rows by column position. The store's statements select each
//! table's columns in model order ([`columns`]), so a row is decoded by index,
//! straight from sqlx's row. SeaORM's `FromQueryResult` looks every value up
//! by name, building a column-name string per value first (16% of a nested
//! query's CPU), and its by-index path still formats a string per NULL.

use chrono::{DateTime, Utc};
use sea_orm::sqlx::error::BoxDynError;
use sea_orm::sqlx::{self, Database, Decode, Row, Type, ValueRef};
use sea_orm::{DbErr, QueryResult};

use crate::entities::enums::{OwnerType, SessionType, StoredStatus};
use crate::entities::{application, user, user_agent};

/// A model that can be read from a row's columns, in model order, from the
/// first column or (for rows joined into another's statement) from an
/// offset. The model's columns in a row are the selected ones
/// ([`super::Projection::width`] of them); a statement's extra columns
/// follow.
pub trait ByPosition: Sized {
    /// `selected` has a bit per column (see [`super::Projection::mask`]):
    /// columns without one were left out of the statement and read as
    /// their type's default, which no field of the request reads.
    fn from_pg(row: &sqlx::postgres::PgRow, selected: u32, offset: usize) -> Result<Self, DbErr>;

    fn from_sqlite(
        row: &sqlx::sqlite::SqliteRow,
        selected: u32,
        offset: usize,
    ) -> Result<Self, DbErr>;

    fn from_row(result: &QueryResult, selected: u32) -> Result<Self, DbErr> {
        Self::from_row_at(result, selected, 0)
    }

    /// The model whose first column is the row's column `offset`.
    fn from_row_at(result: &QueryResult, selected: u32, offset: usize) -> Result<Self, DbErr> {
        if let Some(row) = result.try_as_pg_row() {
            Self::from_pg(row, selected, offset)
        } else if let Some(row) = result.try_as_sqlite_row() {
            Self::from_sqlite(row, selected, offset)
        } else {
            Err(not_pg_or_sqlite())
        }
    }
}

fn not_pg_or_sqlite() -> DbErr {
    DbErr::Type("rows come from PostgreSQL or SQLite only".into())
}

/// Whether the row's column `index` is SQL `NULL`: a left join that found
/// nothing.
pub fn is_null(result: &QueryResult, index: usize) -> Result<bool, DbErr> {
    fn raw_is_null<R: Row>(row: &R, index: usize) -> Result<bool, DbErr>
    where
        usize: sqlx::ColumnIndex<R>,
    {
        row.try_get_raw(index)
            .map(|value| value.is_null())
            .map_err(|error| DbErr::Type(format!("column {index}: {error}")))
    }
    if let Some(row) = result.try_as_pg_row() {
        raw_is_null(row, index)
    } else if let Some(row) = result.try_as_sqlite_row() {
        raw_is_null(row, index)
    } else {
        Err(not_pg_or_sqlite())
    }
}

/// How a selected column's SQL `NULL` reads: as `None` for an `Option`
/// field; for every other field the schema says `NOT NULL`, so a `NULL` is
/// a damaged row or a wrong statement and fails the read rather than
/// showing a made-up value (1970-01-01, `""`, `false`).
pub trait FromNull: Sized {
    fn from_null(index: usize) -> Result<Self, DbErr>;
}

impl<T> FromNull for Option<T> {
    fn from_null(_: usize) -> Result<Self, DbErr> {
        Ok(None)
    }
}

macro_rules! not_null {
    ($($ty:ty),* $(,)?) => {
        $(impl FromNull for $ty {
            fn from_null(index: usize) -> Result<Self, DbErr> {
                Err(DbErr::Type(format!(
                    "column {index} is NULL, but the schema declares it NOT NULL"
                )))
            }
        })*
    };
}

not_null!(
    String,
    i32,
    bool,
    DateTime<Utc>,
    SessionType,
    StoredStatus,
    OwnerType
);

/// The value of the model's column `bit`, at the row's column `*next`
/// (which then moves on), or the type's default when the statement left
/// the column out (its bit in `selected` is clear; `*next` stays). The
/// statement fixes each column's type, so sqlx's per-value type check is
/// skipped; a mismatch still fails to decode.
pub fn cell<'r, R, T>(row: &'r R, next: &mut usize, bit: usize, selected: u32) -> Result<T, DbErr>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    T: Decode<'r, R::Database> + Default + FromNull,
{
    if selected & (1 << bit) == 0 {
        return Ok(T::default());
    }
    let index = *next;
    *next += 1;
    let value = row
        .try_get_raw(index)
        .map_err(|error| DbErr::Type(format!("column {index}: {error}")))?;
    if value.is_null() {
        return T::from_null(index);
    }
    T::decode(value).map_err(|error| DbErr::Type(format!("column {index}: {error}")))
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

/// `zone_id, id, ...`: an entity's columns in model order, which the
/// statements' select lists follow.
#[cfg(test)]
pub fn columns<E: sea_orm::EntityTrait>() -> String {
    use sea_orm::{IdenStatic, Iterable};
    E::Column::iter()
        .map(|column| column.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Implements [`ByPosition`] for a struct whose fields are listed in
/// column order.
macro_rules! by_position {
    ($model:path { $($field:ident),* $(,)? }) => {
        impl $crate::store::decode::ByPosition for $model {
            fn from_pg(
                row: &sea_orm::sqlx::postgres::PgRow,
                selected: u32,
                offset: usize,
            ) -> Result<Self, sea_orm::DbErr> {
                let mut bits = 0..;
                let mut next = offset;
                Ok(Self {
                    $($field: {
                        let bit = bits.next().unwrap_or_default();
                        $crate::store::decode::cell(row, &mut next, bit, selected)?
                    },)*
                })
            }

            fn from_sqlite(
                row: &sea_orm::sqlx::sqlite::SqliteRow,
                selected: u32,
                offset: usize,
            ) -> Result<Self, sea_orm::DbErr> {
                let mut bits = 0..;
                let mut next = offset;
                Ok(Self {
                    $($field: {
                        let bit = bits.next().unwrap_or_default();
                        $crate::store::decode::cell(row, &mut next, bit, selected)?
                    },)*
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

pub(crate) use by_position;

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
    use crate::store::SessionRow;

    /// The decoders read fields in the order `Entity::find()` and
    /// [`columns`] select them.
    #[test]
    fn field_order_is_column_order() {
        fn column_names<E: sea_orm::EntityTrait>() -> Vec<String> {
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
