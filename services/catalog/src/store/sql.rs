//! What differs between SQLite and Postgres behind sqlx's `Any` driver, and how every query works
//! around it; the one place these rules live.
//!
//! - Identifiers are canonical UUID text and timestamps Unix microseconds (`BIGINT`) on both.
//! - A NULL is never bound: sqlx 0.8's `Any` driver sends a NULL `f64` to Postgres as `float4`,
//!   which then fixes the prepared statement's parameter type and breaks the next non-NULL
//!   `float8` on that connection. An optional value is bound as a value plus a flag
//!   ([`flag`], [`Change::bind_parts`]) and the SQL picks `NULL` by the flag.
//! - Booleans are read as `CAST(CASE WHEN … THEN 1 ELSE 0 END AS BIGINT)` ([`bool_column`]): the
//!   two engines decode booleans differently through `Any`.
//! - Ids are stored as text and read back into their types ([`id_column`]).
//! - Constraint violations are told apart by their codes on either engine
//!   ([`foreign_key_means`]).

/// The probe statuses as the `assets.probe_status` column holds them: the one spelling
/// (`ProbeStatus::name`), written into the queries that set or match a status.
pub(crate) const PENDING: &str = assetd_proto::catalog::v1::ProbeStatus::Pending.name();
pub(crate) const READY: &str = assetd_proto::catalog::v1::ProbeStatus::Ready.name();
pub(crate) const FAILED: &str = assetd_proto::catalog::v1::ProbeStatus::Failed.name();

/// `$first, …, $(first + n - 1)`: the bind parameters of an `IN (…)` list.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1` or `0`, the flag bound beside an optional value.
pub(crate) fn flag(set: bool) -> i64 {
    i64::from(set)
}

/// The id in text column `name`, read into its type (`AssetId`, ...).
pub(crate) fn id_column<T: std::str::FromStr>(
    row: &sqlx::any::AnyRow,
    name: &str,
) -> sqlx::Result<T> {
    use sqlx::Row as _;
    let text: String = row.try_get(name)?;
    text.parse().map_err(|_| sqlx::Error::ColumnDecode {
        index: name.to_owned(),
        source: format!("{text:?} is not a UUID").into(),
    })
}

/// A boolean column or expression read as a `BIGINT` 0/1 named `alias`.
pub(crate) fn bool_column(expr: &str, alias: &str) -> String {
    format!("CAST(CASE WHEN {expr} THEN 1 ELSE 0 END AS BIGINT) AS {alias}")
}

/// An update of a nullable column: leave it, set it, or clear it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Set(T),
    Clear,
}

impl<T: Default> Change<T> {
    /// The flag (`0` keep, `1` set, `2` clear) and the value to bind beside it, for SQL of the
    /// form `CASE WHEN $f = 1 THEN $v WHEN $f = 2 THEN NULL ELSE column END`.
    pub(crate) fn bind_parts(self) -> (i64, T) {
        match self {
            Change::Keep => (0, T::default()),
            Change::Set(value) => (1, value),
            Change::Clear => (2, T::default()),
        }
    }
}

/// `err` as `meaning` when it is a foreign-key violation (the row a statement points at is gone
/// or never was), else as the database error it is.
pub(crate) fn foreign_key_means(
    err: sqlx::Error,
    meaning: crate::error::Error,
) -> crate::error::Error {
    if is_foreign_key_violation(&err) {
        meaning
    } else {
        err.into()
    }
}

fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    match err {
        // Postgres 23503 foreign_key_violation; SQLite 787 SQLITE_CONSTRAINT_FOREIGNKEY.
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("23503") | Some("787")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_from_first() {
        assert_eq!(placeholders(1, 3), "$1, $2, $3");
        assert_eq!(placeholders(2, 2), "$2, $3");
    }

    /// The migrations' CHECK constraint allows exactly the statuses the queries write.
    #[test]
    fn the_status_column_allows_the_shared_spellings() {
        let allowed = format!("probe_status IN ('{PENDING}', '{READY}', '{FAILED}')");
        for migration in [
            include_str!("../../../../migrations/sqlite/0001_catalog.sql"),
            include_str!("../../../../migrations/postgres/0001_catalog.sql"),
        ] {
            assert!(
                migration.contains(&allowed),
                "{allowed} not in the migration"
            );
        }
    }
}
