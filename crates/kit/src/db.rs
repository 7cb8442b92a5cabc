//! Postgres access confined to one schema per service.
//!
//! Every connection of a service's pool has `search_path` set to the service's schema, so its
//! queries, its migrations and sqlx's own `_sqlx_migrations` table all live there. Two services can
//! share one database without seeing each other's tables or migration history.
use std::time::Duration;

use sqlx::{
    PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

/// How long a query waits for a connection. When the server is down sqlx keeps retrying the
/// connect until this passes, so it is how long a caller waits for its `database_unavailable`:
/// short, because the API promises an answer within a second during an outage. A local
/// connect takes milliseconds and queries hold connections for milliseconds, so a healthy but
/// busy pool stays far below it.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(800);

/// Answers whether the database can be reached now: a `SELECT 1` within a second.
pub async fn reachable(pool: &PgPool) -> bool {
    matches!(tokio::time::timeout(Duration::from_secs(1), sqlx::query("SELECT 1").execute(pool)).await, Ok(Ok(_)))
}

/// A schema name: lowercase ASCII letters, digits and `_`, starting with a letter. It is spliced
/// into DDL, so it must never come from user input; this check makes that impossible.
fn check_schema(schema: &str) -> Result<(), sqlx::Error> {
    let ok = schema.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok { Ok(()) } else { Err(sqlx::Error::Configuration(format!("invalid schema name {schema:?}").into())) }
}

/// Connects, creates the schema if needed, and runs the service's migrations inside it.
pub async fn connect(url: &str, schema: &str, migrator: &Migrator, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    check_schema(schema)?;
    let options: PgConnectOptions = url.parse()?;
    let options = options.options([("search_path", schema)]);
    // The schema must exist before the pool's connections use it as their search_path.
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect_with(&options).await?;
        // The name passed check_schema above, so splicing it is safe.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}"))).execute(&mut conn).await?;
        conn.close().await?;
    }
    let pool =
        PgPoolOptions::new().max_connections(max_connections).acquire_timeout(ACQUIRE_TIMEOUT).connect_with(options).await?;
    migrator.run(&pool).await?;
    Ok(pool)
}

/// True when `err` is a unique-constraint violation (SQLSTATE 23505), optionally on a named constraint.
pub fn is_unique_violation(err: &sqlx::Error, constraint: Option<&str>) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.code().as_deref() == Some("23505") && constraint.is_none_or(|c| db.constraint() == Some(c))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_that_could_inject_sql_are_refused() {
        assert!(check_schema("events").is_ok());
        assert!(check_schema("chat_moderation2").is_ok());
        for bad in ["", "Events", "1x", "a;drop", "a b", "a\"b"] {
            assert!(check_schema(bad).is_err(), "{bad}");
        }
    }
}
