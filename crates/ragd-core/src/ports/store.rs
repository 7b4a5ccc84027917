//! The storage seam. The domain and the engine see storage only through [`Store`], the sum of
//! one role trait per resource ([`AssetStore`], [`OperationStore`], [`DocumentStore`],
//! [`SearchStore`], [`FileStore`], [`ConnectedStore`], [`LlmConfigStore`]); `use
//! ragd_core::ports::store::*` brings their methods into scope.
//!
//! Contract for implementations (the embedded SQLite backend and PostgreSQL):
//! - every method that reads or writes tenant data takes the tenant and filters by it itself;
//! - no single-writer assumption: claims, leases and the one-active-operation-per-asset rule are
//!   enforced by the database, so any number of processes may share it;
//! - every write a worker makes is fenced by its lease token and does nothing once the lease is lost.

use crate::domain::{
    Asset, AssetView, Chunk, Claim, Counters, Delivery, Document, DocumentText, Due, Grant,
    GrantKind, Lease, LeaseState, LlmConfig, Metadata, MetadataFilter, NewOperation, Operation,
    Outcome, SearchHit, SearchScope, StoredFile, TenantId, UsageWindows, Webhook,
};
use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::time::Millis;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct AssetQuery {
    pub page: PageRequest,
    /// Case-insensitive substring of the display name.
    pub name_contains: Option<String>,
}

/// The whole store: every role, and a liveness check.
#[async_trait::async_trait]
pub trait Store:
    AssetStore
    + OperationStore
    + DocumentStore
    + SearchStore
    + FileStore
    + ConnectedStore
    + LlmConfigStore
    + GenerationStore
{
    /// Cheap liveness check of the database, for `/readyz`.
    async fn ping(&self) -> Result<()>;
}

/// Index generations (ragd): a `REINDEX` fills a building generation beside the serving one and
/// swaps it in at once.
#[async_trait::async_trait]
pub trait GenerationStore: Send + Sync + 'static {
    /// Replaces one document's chunks in the index `index` (the building generation's), leaving
    /// the document and its other generations as they are. False when the lease was lost.
    async fn index_put(
        &self,
        lease: &Lease,
        index: Uuid,
        document_id: Uuid,
        chunks: &[Chunk],
    ) -> Result<bool>;
    /// Makes the building generation serve, in one transaction with each document's
    /// `(id, chunks, tokens)` in it; the serving one is kept as the previous (an older previous
    /// is dropped with its chunks). False when the lease was lost or nothing was building.
    async fn generation_swap(
        &self,
        lease: &Lease,
        counts: &[(Uuid, i64, i64)],
        now: Millis,
    ) -> Result<bool>;
    /// Drops the building generation `index` and its chunks, if it is still the asset's building
    /// one; the asset's embedding settings are the serving generation's again.
    async fn generation_discard(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        index: Uuid,
    ) -> Result<()>;
    /// Makes the previous generation serve again and the serving one previous, with `refresh`
    /// (which brings it up to date) queued in the same transaction. `None`: no generation is
    /// kept to go back to.
    async fn generation_rollback(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        refresh: &NewOperation,
        now: Millis,
    ) -> Result<Option<Operation>>;
    /// Previous generations retired before `before`: `(tenant, asset, index)`.
    async fn generations_retired(
        &self,
        before: Millis,
        limit: u32,
    ) -> Result<Vec<(TenantId, Uuid, Uuid)>>;
    /// Drops the previous generation `index` and its chunks, if it is still the asset's previous.
    async fn generation_drop_previous(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        index: Uuid,
    ) -> Result<()>;
    /// How many of the asset's indexed documents have no stored text (indexed before texts were
    /// kept): a generation cannot be built from the texts without them.
    async fn documents_without_text(&self, tenant: &TenantId, asset_id: Uuid) -> Result<i64>;
}

/// Assets and what is kept on them.
#[async_trait::async_trait]
pub trait AssetStore: Send + Sync + 'static {
    /// Inserts the asset and its first operation in one transaction.
    async fn asset_create(&self, asset: &Asset, first: &NewOperation) -> Result<Operation>;
    async fn asset_get(
        &self,
        tenant: &TenantId,
        id: Uuid,
        w: UsageWindows,
    ) -> Result<Option<AssetView>>;
    async fn asset_list(
        &self,
        tenant: &TenantId,
        q: &AssetQuery,
        w: UsageWindows,
    ) -> Result<Page<AssetView>>;
    /// Writes the asset's mutable fields and, atomically, starts `op` if given.
    /// Fails with `OperationActive` (writing nothing) when `op` is given and one is active.
    /// With `auth_changed`, also replaces `auth_method` and `auth_sealed` and clears
    /// `auth_error`; otherwise those stay as stored (a token refresh may have renewed them).
    async fn asset_update(
        &self,
        asset: &Asset,
        op: Option<&NewOperation>,
        auth_changed: bool,
    ) -> Result<Option<Operation>>;
    /// The tenant's assets without aggregates (cheap, for searches and deletes): those of `ids`
    /// that exist, or all of them when `ids` is `None`.
    async fn assets(&self, tenant: &TenantId, ids: Option<&[Uuid]>) -> Result<Vec<Asset>>;
    /// Cheap existence check (no aggregates), for nested resources.
    async fn asset_exists(&self, tenant: &TenantId, id: Uuid) -> Result<bool>;
    /// Deletes the asset with its documents; its active operations end `FAILED`. False if absent.
    async fn asset_delete(&self, tenant: &TenantId, id: Uuid, now: Millis) -> Result<bool>;
    /// Tokens and chunks of the asset's current index.
    async fn asset_index_totals(&self, tenant: &TenantId, asset_id: Uuid) -> Result<(i64, i64)>;
    /// Replaces the asset's sealed credentials (after a refresh) and its `auth_error`.
    async fn asset_auth_set(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        sealed: Option<&[u8]>,
        error: Option<&str>,
    ) -> Result<()>;
    /// Whether any operation of the asset has completed (documents are listed only after one has).
    async fn asset_has_completed(&self, tenant: &TenantId, asset_id: Uuid) -> Result<bool>;
}

/// Operations: queued by the API, claimed and run under a lease by workers.
#[async_trait::async_trait]
pub trait OperationStore: Send + Sync + 'static {
    /// Queues an operation. `NotFound` without the asset; `OperationActive` while another is active.
    async fn operation_create(&self, tenant: &TenantId, op: &NewOperation) -> Result<Operation>;
    /// How many of the tenant's operations are `PENDING` or `RUNNING`.
    async fn operations_active(&self, tenant: &TenantId) -> Result<i64>;
    async fn operation_get(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Operation>>;
    async fn operation_list(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        page: &PageRequest,
    ) -> Result<Page<Operation>>;
    /// `PENDING` (or `RUNNING` with an expired lease) → `CANCELLED` now; `RUNNING` → cancel
    /// requested; terminal → unchanged. Returns the operation as it then stands.
    async fn operation_cancel(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        id: Uuid,
        now: Millis,
    ) -> Result<Option<Operation>>;

    /// Claims a claimable operation (`PENDING`, or `RUNNING` with an expired lease) with a fresh
    /// lease of `lease_ms`: the oldest of the tenants with the fewest operations running, so that
    /// one tenant's backlog does not hold the others' work behind it. Counters restart from zero
    /// for the new attempt.
    async fn operation_claim(&self, now: Millis, lease_ms: i64) -> Result<Option<Claim>>;
    /// Renews the lease and writes the counters; says whether a cancel was requested.
    async fn operation_heartbeat(
        &self,
        lease: &Lease,
        counters: &Counters,
        now: Millis,
        lease_ms: i64,
    ) -> Result<LeaseState>;
    /// Ends the attempt. False when the lease was already lost (nothing written).
    async fn operation_finish(
        &self,
        lease: &Lease,
        outcome: &Outcome,
        counters: &Counters,
        now: Millis,
    ) -> Result<bool>;
    /// Gives the lease up so that another worker may claim the operation at once (shutdown).
    async fn operation_release(&self, lease: &Lease) -> Result<()>;
    /// Records what this attempt's traversal left out on purpose (at most
    /// [`crate::domain::MAX_EXCLUDED`]; the count goes with the counters). False when the lease was lost.
    async fn operation_exclusions(
        &self,
        lease: &Lease,
        excluded: &[crate::domain::Excluded],
    ) -> Result<bool>;
}

/// Documents, their chunks, and the embedding cache their chunks are embedded through.
#[async_trait::async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    async fn document_list(&self, tenant: &TenantId, asset_id: Uuid) -> Result<Vec<Document>>;
    /// Deletes documents of the leased operation's asset. False when the lease was lost.
    async fn document_delete(&self, lease: &Lease, ids: &[Uuid]) -> Result<bool>;
    /// Writes a document and replaces all its chunks and its parsed text (none: removed) in one
    /// transaction, so readers see the old version or the new one, never a mix. False when the
    /// lease was lost (nothing written).
    async fn document_replace(
        &self,
        lease: &Lease,
        doc: &Document,
        chunks: &[Chunk],
        text: Option<&DocumentText>,
    ) -> Result<bool>;
    /// The parsed texts of an asset's documents, in document id order after `after`, at most
    /// `limit` of them.
    async fn document_texts(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Uuid, DocumentText)>>;
    async fn chunk_list(&self, tenant: &TenantId, document_id: Uuid) -> Result<Vec<Chunk>>;
    /// Chunks of a document in `chunkIndex` order after `after_index`, and how many it has.
    async fn chunk_page(
        &self,
        tenant: &TenantId,
        document_id: Uuid,
        after_index: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<Chunk>, i64)>;

    /// Documents newest first, optionally by a case-insensitive substring of the file name.
    async fn document_page(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        page: &PageRequest,
        name_contains: Option<&str>,
    ) -> Result<Page<Document>>;
    async fn document_get(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Document>>;
    /// Applies a PATCH's metadata to the document's `metadata_patch` as a JSON merge patch (a
    /// `null` is kept: it hides the key of what ingestion wrote). The document after, or `None`
    /// if absent.
    async fn document_patch_metadata(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        id: Uuid,
        patch: &Metadata,
    ) -> Result<Option<Document>>;
    /// Deletes a document and its chunks at once (an API call, not fenced by a lease). False if absent.
    async fn document_remove(&self, tenant: &TenantId, asset_id: Uuid, id: Uuid) -> Result<bool>;

    /// Cached embeddings by text hash: `(vector, tokens it cost)`.
    async fn embedding_cache_get(
        &self,
        tenant: &TenantId,
        model: &str,
        hashes: &[String],
    ) -> Result<std::collections::HashMap<String, (Vec<f32>, i64)>>;
    /// Which of `hashes` the cache holds for `model` (without their vectors).
    async fn embedding_cache_has(
        &self,
        tenant: &TenantId,
        model: &str,
        hashes: &[String],
    ) -> Result<std::collections::HashSet<String>>;
    async fn embedding_cache_put(
        &self,
        tenant: &TenantId,
        model: &str,
        entries: &[(String, Vec<f32>, i64)],
    ) -> Result<()>;
}

/// Retrieval over the chunks.
#[async_trait::async_trait]
pub trait SearchStore: Send + Sync + 'static {
    /// Chunks matching any of `terms` (lowercased words, see `search::query_terms`) within the
    /// scope, best BM25 first: `(key, score)` with higher scores better.
    async fn search_text(
        &self,
        scope: &SearchScope,
        terms: &[String],
        limit: u32,
    ) -> Result<Vec<(i64, f64)>>;
    /// Chunks nearest to `query` (cosine; vectors are unit length) within the scope: `(key, score)`.
    async fn search_vectors(
        &self,
        scope: &SearchScope,
        query: &[f32],
        limit: u32,
    ) -> Result<Vec<(i64, f64)>>;
    /// The documents of these assets of the tenant whose metadata (as clients see it) passes
    /// the filter.
    async fn documents_matching(
        &self,
        tenant: &TenantId,
        asset_ids: &[Uuid],
        filter: &MetadataFilter,
    ) -> Result<Vec<Uuid>>;
    /// The chunks with these keys (without embeddings), of the tenant only, in no particular order.
    async fn search_hits(&self, tenant: &TenantId, keys: &[i64]) -> Result<Vec<SearchHit>>;
}

/// Uploaded files' records (their bytes are in [`Blobs`]).
#[async_trait::async_trait]
pub trait FileStore: Send + Sync + 'static {
    async fn file_create(&self, file: &StoredFile) -> Result<()>;
    async fn file_get(&self, tenant: &TenantId, id: Uuid) -> Result<Option<StoredFile>>;
    /// Keeps an upload (an asset imported it), with the metadata its document is to have when
    /// given. False if absent.
    async fn file_retain(
        &self,
        tenant: &TenantId,
        id: Uuid,
        metadata: Option<&Metadata>,
    ) -> Result<bool>;
    async fn file_delete(&self, tenant: &TenantId, id: Uuid) -> Result<bool>;
    /// Temporary uploads created before `before`, oldest first: the sweeper's work.
    async fn files_expired(&self, before: Millis, limit: u32) -> Result<Vec<StoredFile>>;
}

/// Connected sources: webhooks and their backlog, poll schedules, OAuth grants.
#[async_trait::async_trait]
pub trait ConnectedStore: Send + Sync + 'static {
    /// Gives the asset this webhook (replacing its old one, whose URL stops working at once), or
    /// none.
    async fn webhook_set(
        &self,
        tenant: &TenantId,
        asset_id: Uuid,
        hook: Option<&Webhook>,
    ) -> Result<()>;
    /// The webhook with this id, of any tenant (the id is the capability in the URL).
    async fn webhook_get(&self, id: Uuid) -> Result<Option<Webhook>>;
    /// Applies a delivery in one transaction: joins the asset's pending `WEBHOOK_UPDATE` (merging
    /// `op.document_ids`, empty = everything), else queues `op`, else (another operation is
    /// active) adds it to the asset's backlog.
    async fn webhook_deliver(&self, tenant: &TenantId, op: &NewOperation) -> Result<Delivery>;
    /// Assets whose poll time is at or before `now`, and those with a webhook backlog and no
    /// active operation.
    async fn schedule_due(&self, now: Millis, limit: u32) -> Result<Vec<Due>>;
    /// Fires a poll schedule once: if the asset's `next_poll_at` still equals `expected` (no other
    /// process fired it), moves it to `next`, sets `last_polled_at = now` and queues `op` unless an
    /// operation is active (a run is skipped rather than overlapped). Returns the queued operation.
    async fn poll_fire(
        &self,
        tenant: &TenantId,
        expected: Millis,
        next: Option<Millis>,
        now: Millis,
        op: &NewOperation,
    ) -> Result<Option<Operation>>;
    /// Turns the asset's webhook backlog into `op` (its `document_ids` come from the backlog) if
    /// no operation is active, clearing the backlog.
    async fn backlog_start(
        &self,
        tenant: &TenantId,
        op: &NewOperation,
    ) -> Result<Option<Operation>>;

    /// Stores a grant, deleting every expired one on the way.
    async fn grant_put(&self, grant: &Grant, now: Millis) -> Result<()>;
    /// Removes and returns the grant of this kind and id, whether expired or not (the caller
    /// checks); a second take finds nothing.
    async fn grant_take(&self, kind: GrantKind, id: &str) -> Result<Option<Grant>>;
}

/// The tenant's LLM configs (endpoints and sealed keys of remote embedding providers).
#[async_trait::async_trait]
pub trait LlmConfigStore: Send + Sync + 'static {
    /// Inserts or replaces an LLM config of the tenant.
    async fn llm_config_put(&self, config: &LlmConfig) -> Result<()>;
    async fn llm_config_get(&self, tenant: &TenantId, id: Uuid) -> Result<Option<LlmConfig>>;
    /// All the tenant's LLM configs, newest first (a tenant has a handful).
    async fn llm_config_list(&self, tenant: &TenantId) -> Result<Vec<LlmConfig>>;
    /// Deletes the config unless a live asset names it; `false` when one does (or it is gone).
    async fn llm_config_delete(&self, tenant: &TenantId, id: Uuid) -> Result<bool>;
}

/// Where uploaded files' bytes live (a local directory by default). Keys are `tenant/id`.
#[async_trait::async_trait]
pub trait Blobs: Send + Sync + 'static {
    /// Streams `body` to `key`, failing with `PayloadTooLarge` (and keeping nothing) past `limit`
    /// bytes. Returns the size and the SHA-256 of what was written. Nothing is visible under `key`
    /// until the whole body is written.
    async fn put(&self, key: &str, body: BlobStream, limit: u64) -> Result<(u64, String)>;
    async fn get(&self, key: &str) -> Result<Option<bytes::Bytes>>;
    /// Deleting an absent key is not an error.
    async fn delete(&self, key: &str) -> Result<()>;
}

/// A body being uploaded: chunks of bytes, or the error that ended the upload.
pub type BlobStream = futures::stream::BoxStream<'static, Result<bytes::Bytes>>;
