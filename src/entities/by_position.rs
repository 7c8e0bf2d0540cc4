//! Reading rows by column position. The gateway's statements select each
//! table's columns in model order ([`columns`]), so a row is decoded by index.
//! SeaORM's `FromQueryResult` looks every value up by name, building a
//! column-name string per value first: 16% of a nested query's CPU.

use sea_orm::{DbErr, EntityTrait, Iterable, QueryResult};

use super::{application, user, user_agent};

/// A model that can be read from the row's first columns, in model order.
pub trait ByPosition: Sized {
    /// How many columns the model takes; a statement's extra columns follow.
    const COLUMNS: usize;

    fn from_row(row: &QueryResult) -> Result<Self, DbErr>;
}

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

            fn from_row(row: &sea_orm::QueryResult) -> Result<Self, sea_orm::DbErr> {
                let mut index = 0..;
                Ok(Self {
                    $($field: row.try_get_by_index(index.next().unwrap_or_default())?,)*
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
