//! The `Store` contract, checked on the SQLite backend: claims are exclusive under concurrency,
//! a lost lease fences every write, and finished operations feed the usage ledger.

use ragd_core::model::*;
use ragd_core::store::Store;
use ragd_core::time::{day_and_month_start, now_ms};
use ragd_store::SqliteStore;
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

async fn store() -> (Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap()), dir)
}

fn asset(tenant: &TenantId) -> Asset {
    let now = now_ms();
    Asset {
        id: Uuid::now_v7(),
        tenant: tenant.clone(),
        display_name: "a".into(),
        source_type: SourceType::Text,
        parameters: Default::default(),
        auth_method: None,
        vectorized: true,
        integration_id: None,
        embedding: EmbeddingSpec { provider: "local".into(), model: "all-MiniLM-L6-v2".into(), chunk_size: 200, chunk_overlap: 40 },
        budget: BudgetLimits::default(),
        auto_update: None,
        embedding_llm_config_id: None,
        created_by: "t".into(),
        created_at: now,
        modified_at: now,
        last_polled_at: None,
    }
}

async fn create(s: &SqliteStore, tenant: &TenantId) -> (Asset, Operation) {
    let a = asset(tenant);
    let op = s.asset_create(&a, &NewOperation::new(a.id, OperationType::Ingest, "t", now_ms())).await.unwrap();
    (a, op)
}

fn windows() -> UsageWindows {
    let (day_start, month_start) = day_and_month_start(now_ms());
    UsageWindows { day_start, month_start }
}

#[tokio::test]
async fn concurrent_claimers_never_share_an_operation() {
    let (s, _dir) = store().await;
    let tenant = TenantId::parse("t").unwrap();
    let mut created = HashSet::new();
    for _ in 0..40 {
        created.insert(create(&s, &tenant).await.1.id);
    }
    let claimers: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(c) = s.operation_claim(now_ms(), 60_000).await.unwrap() {
                    mine.push(c.operation.id);
                }
                mine
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for c in claimers {
        claimed.extend(c.await.unwrap());
    }
    assert_eq!(claimed.len(), 40, "each operation claimed exactly once");
    assert_eq!(claimed.into_iter().collect::<HashSet<_>>(), created);
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_the_old_holder_is_fenced() {
    let (s, _dir) = store().await;
    let tenant = TenantId::parse("t").unwrap();
    let (a, op) = create(&s, &tenant).await;
    let t0 = now_ms();
    let old = s.operation_claim(t0, 1_000).await.unwrap().unwrap();
    assert!(s.operation_claim(t0 + 500, 1_000).await.unwrap().is_none(), "the lease is still valid");
    let new = s.operation_claim(t0 + 2_000, 1_000).await.unwrap().expect("expired lease is claimable");
    assert_eq!((new.operation.id, new.operation.attempts), (op.id, 2));

    let doc = Document {
        id: Document::id_for(a.id, "k"),
        asset_id: a.id,
        source_key: "k".into(),
        file_name: "k".into(),
        content_type: "text/plain".into(),
        source_url: None,
        file_size: 1,
        content_hash: "h".into(),
        chunk_count: 0,
        token_count: 0,
        status: DocumentStatus::Indexed,
        error_message: None,
        operation_id: op.id,
        created_at: t0,
        modified_at: t0,
        processed_at: None,
        source_meta: serde_json::json!({"etag": "\"v1\"", "links": ["https://a.example/x"]}),
    };
    assert!(!s.document_replace(&old.lease, &doc, &[]).await.unwrap(), "old holder cannot write documents");
    assert!(!s.document_delete(&old.lease, &[doc.id]).await.unwrap());
    assert_eq!(s.operation_heartbeat(&old.lease, &Counters::default(), t0, 1_000).await.unwrap(), LeaseState::Lost);
    assert!(!s.operation_finish(&old.lease, &Outcome::Completed { error_message: None }, &Counters::default(), t0).await.unwrap());
    assert!(s.document_replace(&new.lease, &doc, &[]).await.unwrap(), "the new holder can");
    assert!(s.operation_finish(&new.lease, &Outcome::Completed { error_message: None }, &Counters::default(), t0).await.unwrap());
    let done = s.operation_get(&tenant, a.id, op.id).await.unwrap().unwrap();
    assert_eq!(done.status, OperationStatus::Completed);
}

#[tokio::test]
async fn finished_operations_feed_usage_and_counts_stay_exact() {
    let (s, _dir) = store().await;
    let tenant = TenantId::parse("t").unwrap();
    let (a, _) = create(&s, &tenant).await;
    for tokens in [1_000, 234] {
        let c = s.operation_claim(now_ms(), 60_000).await.unwrap().unwrap();
        let counters = Counters { token_count: tokens, ..Default::default() };
        assert!(s.operation_finish(&c.lease, &Outcome::Completed { error_message: None }, &counters, now_ms()).await.unwrap());
        s.operation_create(&tenant, &NewOperation::new(a.id, OperationType::Refresh, "t", now_ms())).await.unwrap();
    }
    let view = s.asset_get(&tenant, a.id, windows()).await.unwrap().unwrap();
    assert_eq!((view.stats.total_tokens, view.stats.monthly_tokens, view.stats.daily_tokens), (1_234, 1_234, 1_234));
    assert_eq!(view.stats.operation_count, 3);
    let page = s.operation_list(&tenant, a.id, &ragd_core::page::PageRequest::first(10)).await.unwrap();
    assert_eq!((page.total, page.items.len()), (3, 3));
    // A second active operation is refused by the database itself.
    let err = s.operation_create(&tenant, &NewOperation::new(a.id, OperationType::Refresh, "t", now_ms())).await.unwrap_err();
    assert!(matches!(err, ragd_core::Error::OperationActive { .. }), "{err:?}");
    // Another tenant sees nothing of it.
    let other = TenantId::parse("u").unwrap();
    assert!(s.asset_get(&other, a.id, windows()).await.unwrap().is_none());
    assert!(s.operation_list(&other, a.id, &ragd_core::page::PageRequest::first(10)).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn uploads_are_per_tenant_and_only_temporary_old_ones_expire() {
    let (s, _dir) = store().await;
    let (acme, other) = (TenantId::parse("acme").unwrap(), TenantId::parse("other").unwrap());
    let t0 = now_ms();
    let file = |tenant: &TenantId, temporary: bool, created_at: i64| StoredFile {
        id: Uuid::now_v7(),
        tenant: tenant.clone(),
        file_name: "a.pdf".into(),
        content_type: "application/pdf".into(),
        size: 3,
        sha256: "abc".into(),
        temporary,
        created_at,
    };
    let (old_temp, old_kept, new_temp) = (file(&acme, true, t0 - 100_000), file(&acme, false, t0 - 100_000), file(&acme, true, t0));
    for f in [&old_temp, &old_kept, &new_temp] {
        s.file_create(f).await.unwrap();
    }
    assert_eq!(s.file_get(&acme, old_temp.id).await.unwrap().as_ref(), Some(&old_temp));
    assert!(s.file_get(&other, old_temp.id).await.unwrap().is_none(), "another tenant cannot see it");
    assert!(!s.file_retain(&other, old_temp.id).await.unwrap());
    let expired: Vec<Uuid> = s.files_expired(t0 - 1_000, 10).await.unwrap().iter().map(|f| f.id).collect();
    assert_eq!(expired, [old_temp.id]);
    assert!(s.file_retain(&acme, old_temp.id).await.unwrap());
    assert!(s.files_expired(t0 - 1_000, 10).await.unwrap().is_empty(), "an imported upload is kept");
    assert!(!s.file_delete(&other, new_temp.id).await.unwrap());
    assert!(s.file_delete(&acme, new_temp.id).await.unwrap());
    assert!(s.file_get(&acme, new_temp.id).await.unwrap().is_none());
}
