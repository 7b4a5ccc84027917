//! Keyset pagination as the domain sees it. Cursors are encoded and signed by the HTTP layer.

use crate::error::{Error, Result};
use crate::time::Millis;
use uuid::Uuid;

/// The position of an item in a newest-first list: `(created_at, id)` descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub created_at: Millis,
    pub id: Uuid,
}

/// A page size within 1..=1000: default 50, larger values clamped, zero or negative rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    pub const DEFAULT: u32 = 50;
    pub const MAX: u32 = 1000;

    pub fn parse(requested: Option<i64>) -> Result<Self> {
        match requested {
            None => Ok(Self(Self::DEFAULT)),
            Some(n) if n <= 0 => Err(Error::invalid("PageSize", "must be a positive integer")),
            Some(n) => Ok(Self(n.min(Self::MAX as i64) as u32)),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub size: PageSize,
    /// Return items strictly after this key (keyset cursor).
    pub after: Option<SortKey>,
    /// Offset for clients that page by `PageToken.Skip`; applied after `after`.
    pub skip: u32,
}

impl PageRequest {
    pub fn first(size: u32) -> Self {
        Self {
            size: PageSize(size.clamp(1, PageSize::MAX)),
            after: None,
            skip: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Exact count of all items the list has (ignoring the cursor).
    pub total: i64,
    /// Key of the last item when more items follow.
    pub next: Option<SortKey>,
}

impl<T> Page<T> {
    /// Builds a page from up to `size + 1` rows fetched in order: the extra row only says "more".
    pub fn from_rows(
        mut rows: Vec<T>,
        size: PageSize,
        total: i64,
        key: impl Fn(&T) -> SortKey,
    ) -> Self {
        let more = rows.len() > size.get() as usize;
        rows.truncate(size.get() as usize);
        let next = if more { rows.last().map(&key) } else { None };
        Self {
            items: rows,
            total,
            next,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            next: self.next,
        }
    }
}
