//! The seam between the SQL, written once in `sql/`, and the two drivers: a statement with `$N`
//! placeholders (SQLite binds `$N` by number too) and its arguments, run on either backend's pool
//! or on a transaction of it, and rows read by column name through [`Columns`]. Both schemas use
//! the same names and encodings (text ids, epoch-millisecond BIGINTs, booleans, JSON as text),
//! so only what the engines spell differently is in [`Dialect`].

use ragd_core::{Error, Result};
use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqlitePool, SqliteRow};
use std::borrow::Cow;

pub(crate) fn db(e: sqlx::Error) -> Error {
    Error::internal(e)
}

pub(crate) fn corrupt(what: &str) -> Error {
    Error::internal(format!("unreadable {what} in the database"))
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain values always serialise")
}

/// A vector as the embedded backend and the embedding cache store it: little-endian `f32`s.
pub(crate) fn vector_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn blob_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// What the two engines spell differently in otherwise shared statements.
pub(crate) struct Dialect {
    /// Appended to a `SELECT` of one row that the transaction must hold until it ends
    /// (`BEGIN IMMEDIATE` already holds SQLite's whole database).
    pub lock: &'static str,
    /// Appended to the claim's choice of an operation, so that concurrent claims skip each other.
    pub skip_locked: &'static str,
    /// Case-insensitive `LIKE` (SQLite's `LIKE` already is, for ASCII).
    pub ilike: &'static str,
    /// `TRUE` as the partial indexes spell it.
    pub yes: &'static str,
    /// A chunk's embedding column left out of a read.
    pub no_embedding: &'static str,
    /// Prefix of `c.tenant_id` in a read by chunk keys: keeps SQLite's planner off the tenant
    /// index, which it picked for lists of ~10 keys and then walked all of a big asset's chunks.
    pub by_key: &'static str,
}

const SQLITE: Dialect = Dialect {
    lock: "",
    skip_locked: "",
    ilike: "LIKE",
    yes: "1",
    no_embedding: "x''",
    by_key: "+",
};
const POSTGRES: Dialect = Dialect {
    lock: " FOR UPDATE",
    skip_locked: " FOR UPDATE OF o SKIP LOCKED",
    ilike: "ILIKE",
    yes: "TRUE",
    no_embedding: "NULL::vector",
    by_key: "",
};

/// One argument of a statement.
pub(crate) enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(bool),
    Bytes(Option<Vec<u8>>),
    /// A chunk's embedding: a blob on SQLite, a pgvector (NULL when empty) on PostgreSQL.
    Vector(Vec<f32>),
}

macro_rules! arg_from {
    ($($t:ty => |$v:ident| $e:expr;)*) => {
        $(impl From<$t> for Arg {
            fn from($v: $t) -> Self {
                $e
            }
        })*
    };
}

arg_from! {
    &str => |v| Arg::Text(Some(v.to_owned()));
    String => |v| Arg::Text(Some(v));
    &String => |v| Arg::Text(Some(v.clone()));
    Option<&str> => |v| Arg::Text(v.map(str::to_owned));
    Option<String> => |v| Arg::Text(v);
    &Option<String> => |v| Arg::Text(v.clone());
    uuid::Uuid => |v| Arg::Text(Some(v.to_string()));
    &ragd_core::domain::TenantId => |v| Arg::Text(Some(v.as_str().to_owned()));
    i64 => |v| Arg::Int(Some(v));
    u32 => |v| Arg::Int(Some(v.into()));
    Option<i64> => |v| Arg::Int(v);
    bool => |v| Arg::Bool(v);
    Vec<u8> => |v| Arg::Bytes(Some(v));
    &Vec<u8> => |v| Arg::Bytes(Some(v.clone()));
    Option<&[u8]> => |v| Arg::Bytes(v.map(<[u8]>::to_vec));
    &Option<Vec<u8>> => |v| Arg::Bytes(v.clone());
}

/// A statement and its arguments, built like sqlx's `query(…).bind(…)`.
pub(crate) struct Sql {
    text: Cow<'static, str>,
    args: Vec<Arg>,
}

pub(crate) fn sql(text: impl Into<Cow<'static, str>>) -> Sql {
    Sql {
        text: text.into(),
        args: Vec::new(),
    }
}

impl Sql {
    pub(crate) fn bind(mut self, v: impl Into<Arg>) -> Self {
        self.args.push(v.into());
        self
    }

    /// Rows changed.
    pub(crate) async fn execute(self, on: impl Exec) -> Result<u64> {
        on.affected(self).await
    }

    pub(crate) async fn fetch_all(self, on: impl Exec) -> Result<Vec<Row>> {
        on.rows(self).await
    }

    pub(crate) async fn fetch_optional(self, on: impl Exec) -> Result<Option<Row>> {
        Ok(on.rows(self).await?.into_iter().next())
    }

    pub(crate) async fn fetch_one(self, on: impl Exec) -> Result<Row> {
        self.fetch_optional(on)
            .await?
            .ok_or_else(|| corrupt("missing row"))
    }

    fn sqlite(self) -> sqlx::query::Query<'static, Sqlite, <Sqlite as sqlx::Database>::Arguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text));
        for a in self.args {
            q = match a {
                Arg::Text(v) => q.bind(v),
                Arg::Int(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Bytes(v) => q.bind(v),
                Arg::Vector(v) => q.bind(vector_blob(&v)),
            };
        }
        q
    }

    fn postgres(
        self,
    ) -> sqlx::query::Query<'static, Postgres, <Postgres as sqlx::Database>::Arguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text));
        for a in self.args {
            q = match a {
                Arg::Text(v) => q.bind(v),
                Arg::Int(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Bytes(v) => q.bind(v),
                Arg::Vector(v) => q.bind((!v.is_empty()).then(|| pgvector::Vector::from(v))),
            };
        }
        q
    }
}

/// A backend's connection pool.
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A write transaction: `BEGIN IMMEDIATE` on SQLite, so that two writers queue on the database
/// lock instead of failing on a read-to-write upgrade.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Pool {
    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await.map_err(db)?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await.map_err(db)?),
        })
    }

    pub(crate) fn dialect(&self) -> &'static Dialect {
        match self {
            Pool::Sqlite(_) => &SQLITE,
            Pool::Postgres(_) => &POSTGRES,
        }
    }
}

impl Tx {
    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
        .map_err(db)
    }

    pub(crate) fn dialect(&self) -> &'static Dialect {
        match self {
            Tx::Sqlite(_) => &SQLITE,
            Tx::Postgres(_) => &POSTGRES,
        }
    }
}

/// Where a statement runs: a pool, or an open transaction.
#[async_trait::async_trait]
pub(crate) trait Exec: Send {
    async fn rows(self, sql: Sql) -> Result<Vec<Row>>;
    async fn affected(self, sql: Sql) -> Result<u64>;
}

#[async_trait::async_trait]
impl Exec for &Pool {
    async fn rows(self, sql: Sql) -> Result<Vec<Row>> {
        Ok(match self {
            Pool::Sqlite(p) => sql
                .sqlite()
                .fetch_all(p)
                .await
                .map_err(db)?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Pool::Postgres(p) => sql
                .postgres()
                .fetch_all(p)
                .await
                .map_err(db)?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    async fn affected(self, sql: Sql) -> Result<u64> {
        Ok(match self {
            Pool::Sqlite(p) => sql.sqlite().execute(p).await.map_err(db)?.rows_affected(),
            Pool::Postgres(p) => sql.postgres().execute(p).await.map_err(db)?.rows_affected(),
        })
    }
}

#[async_trait::async_trait]
impl Exec for &mut Tx {
    async fn rows(self, sql: Sql) -> Result<Vec<Row>> {
        Ok(match self {
            Tx::Sqlite(t) => sql
                .sqlite()
                .fetch_all(&mut **t)
                .await
                .map_err(db)?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Tx::Postgres(t) => sql
                .postgres()
                .fetch_all(&mut **t)
                .await
                .map_err(db)?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    async fn affected(self, sql: Sql) -> Result<u64> {
        Ok(match self {
            Tx::Sqlite(t) => sql
                .sqlite()
                .execute(&mut **t)
                .await
                .map_err(db)?
                .rows_affected(),
            Tx::Postgres(t) => sql
                .postgres()
                .execute(&mut **t)
                .await
                .map_err(db)?
                .rows_affected(),
        })
    }
}

/// A row of either backend.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

/// Typed reads of a row's columns by name, for the decoders in `rows.rs` (implemented for both
/// backends' rows and for the embedded backend's inline reads).
pub(crate) trait Columns {
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn flag(&self, col: &str) -> Result<bool>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>>;
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>>;
    /// A chunk's embedding (empty when the asset is not vectorized).
    fn vector(&self, col: &str) -> Result<Vec<f32>>;
}

impl Row {
    fn get<T>(&self, col: &str) -> Result<T>
    where
        T: for<'r> sqlx::Decode<'r, Sqlite>
            + sqlx::Type<Sqlite>
            + for<'r> sqlx::Decode<'r, Postgres>
            + sqlx::Type<Postgres>,
    {
        match self {
            Row::Sqlite(r) => r.try_get(col),
            Row::Postgres(r) => r.try_get(col),
        }
        .map_err(db)
    }
}

impl Columns for Row {
    fn text(&self, col: &str) -> Result<String> {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.get(col)
    }
    fn int(&self, col: &str) -> Result<i64> {
        self.get(col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.get(col)
    }
    fn flag(&self, col: &str) -> Result<bool> {
        self.get(col)
    }
    fn bytes(&self, col: &str) -> Result<Vec<u8>> {
        self.get(col)
    }
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>> {
        self.get(col)
    }
    fn vector(&self, col: &str) -> Result<Vec<f32>> {
        Ok(match self {
            Row::Sqlite(r) => blob_vector(&r.try_get::<Vec<u8>, _>(col).map_err(db)?),
            Row::Postgres(r) => r
                .try_get::<Option<pgvector::Vector>, _>(col)
                .map_err(db)?
                .map(|v| v.to_vec())
                .unwrap_or_default(),
        })
    }
}
