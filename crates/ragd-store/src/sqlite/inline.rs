//! Reads answered on the calling thread, for the hottest lookups of the SQLite backend (polling an
//! operation). sqlx's SQLite driver runs every statement on a worker thread of its connection and
//! hands rows back through channels: the two thread hops cost more than the read itself (a
//! profile of `GET …/operations/{id}` under wrk spent ~40 % of its CPU in those hand-offs). These
//! reads use rusqlite connections to the same file instead. A primary-key read in WAL mode takes
//! microseconds and never waits for a writer, so it runs inline; if SQLite answers busy anyway,
//! the caller falls back to its sqlx path. The row decoders are the ones both backends share
//! (`sql/rows.rs`).

use crate::db::{Columns, blob_vector};
use crate::sql::rows;
use ragd_core::domain::*;
use ragd_core::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use uuid::Uuid;

fn db(e: rusqlite::Error) -> Error {
    Error::internal(e)
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, col: &str) -> Result<String> {
        self.get(col).map_err(db)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.get(col).map_err(db)
    }
    fn int(&self, col: &str) -> Result<i64> {
        self.get(col).map_err(db)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.get(col).map_err(db)
    }
    fn flag(&self, col: &str) -> Result<bool> {
        self.get(col).map_err(db)
    }
    fn bytes(&self, col: &str) -> Result<Vec<u8>> {
        self.get(col).map_err(db)
    }
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>> {
        self.get(col).map_err(db)
    }
    fn vector(&self, col: &str) -> Result<Vec<f32>> {
        Ok(blob_vector(&self.bytes(col)?))
    }
}

/// Idle connections to the database file; one is opened whenever none is idle, so there are
/// at most as many as threads reading at once.
pub(crate) struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl InlineReads {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        // Only reads, and never a wait: a busy database sends the caller to its sqlx path.
        conn.pragma_update(None, "query_only", true)?;
        conn.busy_timeout(std::time::Duration::ZERO)?;
        Ok(conn)
    }

    /// The operation `id` of the tenant's asset, or `None` when SQLite was busy (read it the
    /// usual way then). `sql` selects one operation row by `$1` tenant, `$2` asset, `$3` id
    /// (in this order of appearance: rusqlite binds by position).
    pub(crate) fn operation(
        &self,
        sql: &str,
        tenant: &TenantId,
        asset_id: Uuid,
        id: Uuid,
    ) -> Option<Result<Option<Operation>>> {
        let conn = self.idle.lock().ok()?.pop();
        let conn = match conn {
            Some(c) => c,
            None => self.connect().ok()?,
        };
        let read = (|| {
            let mut stmt = conn.prepare_cached(sql)?;
            let mut rows = stmt.query((tenant.as_str(), asset_id.to_string(), id.to_string()))?;
            match rows.next()? {
                Some(row) => Ok(Some(rows::operation(row))),
                None => Ok(None),
            }
        })();
        let out = match read {
            Ok(op) => Some(op.transpose()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                None
            }
            Err(e) => Some(Err(db(e))),
        };
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        out
    }
}
