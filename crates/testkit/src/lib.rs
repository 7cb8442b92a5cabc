//! Test infrastructure shared by every test binary.
//!
//! `scripts/test` starts private Postgres, NATS (JetStream), Redis and S3 (s3s-fs) servers and
//! exports their addresses; tests never touch a developer's own servers unless told to. Each test gets its own
//! database, so tests run in parallel without seeing each other's rows.
#![forbid(unsafe_code)]

use sqlx::{Connection, PgConnection};

pub mod rtmp;
pub mod servers;

/// A port nothing listens on now (the OS picked it), and never handed out before by this process:
/// two servers of one test must not be given the same port (the OS may pick a port again once
/// its probe socket is closed).
pub(crate) fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests with scripts/test, which starts the test servers and sets it")
    })
}

/// Admin URL of the test Postgres server.
pub fn postgres_admin_url() -> String {
    env("STAGECAST_TEST_DATABASE_URL")
}

pub fn nats_url() -> String {
    env("STAGECAST_TEST_NATS_URL")
}

pub fn redis_url() -> String {
    env("STAGECAST_TEST_REDIS_URL")
}

/// The test S3-compatible server (s3s-fs) and its credentials. Tests that write to it use a
/// bucket or key prefix of their own.
#[derive(Debug, Clone)]
pub struct S3 {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

pub fn s3() -> S3 {
    S3 {
        endpoint: env("STAGECAST_TEST_S3_ENDPOINT"),
        access_key: env("STAGECAST_TEST_S3_ACCESS_KEY"),
        secret_key: env("STAGECAST_TEST_S3_SECRET_KEY"),
    }
}

/// Creates an empty database with a unique name and returns its URL.
pub async fn fresh_database() -> String {
    let admin = postgres_admin_url();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin).await.expect("connect to the test Postgres server");
    // The name is ours (a UUID), never input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create test database");
    conn.close().await.ok();
    with_database(&admin, &name)
}

fn with_database(url: &str, name: &str) -> String {
    // postgres://user@host:port/db?params -> replace the path.
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_replaces_the_path_and_keeps_parameters() {
        assert_eq!(
            super::with_database("postgres://u@h:1/postgres?sslmode=disable", "t_1"),
            "postgres://u@h:1/t_1?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://u@h:1", "t_1"), "postgres://u@h:1/t_1");
    }
}
