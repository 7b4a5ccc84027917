//! The `Store` contract: claims are exclusive under concurrency, a lost lease fences every write,
//! finished operations feed the usage ledger. The backend-neutral tests run on SQLite and on
//! PostgreSQL (a throwaway server, see `ragd_store::postgres::throwaway_database`).

use ragd_core::domain::*;
use ragd_core::ports::store::{DocumentStore, OperationStore, SearchStore, Store};
use ragd_core::time::{day_and_month_start, now_ms};
use ragd_store::SqliteStore;
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

/// Defines `$name::sqlite` and `$name::postgres`, each running `$body(store)` on a fresh database.
macro_rules! on_both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                $body(Arc::new(
                    SqliteStore::open(&dir.path().join("t.db")).await.unwrap(),
                ))
                .await;
            }

            #[tokio::test]
            async fn postgres() {
                let url = ragd_store::postgres::throwaway_database().await.unwrap();
                $body(Arc::new(ragd_store::PgStore::open(&url, 10).await.unwrap())).await;
            }
        }
    };
}

on_both_backends!(
    concurrent_claimers_never_share_an_operation,
    claimers_never_share
);
on_both_backends!(
    an_expired_lease_is_reclaimed_and_the_old_holder_is_fenced,
    expired_leases
);
on_both_backends!(
    finished_operations_feed_usage_and_counts_stay_exact,
    usage_and_counts
);
on_both_backends!(
    uploads_are_per_tenant_and_only_temporary_old_ones_expire,
    uploads
);
on_both_backends!(
    llm_configs_are_per_tenant_updated_in_place_and_kept_while_named,
    llm_configs
);
on_both_backends!(
    claims_go_first_to_the_tenants_with_the_least_running,
    fair_claims
);
on_both_backends!(
    queueing_while_the_active_operation_ends_is_a_429_or_a_new_operation,
    queue_races_finish
);
on_both_backends!(
    a_search_among_documents_returns_their_true_neighbours_however_many_they_hold,
    search_among_documents
);

fn asset(tenant: &TenantId) -> Asset {
    let now = now_ms();
    let id = Uuid::now_v7();
    let spec = EmbeddingSpec {
        provider: "local".into(),
        model: "all-MiniLM-L6-v2".into(),
        chunk_size: 200,
        chunk_overlap: 40,
    };
    Asset {
        id,
        tenant: tenant.clone(),
        display_name: "a".into(),
        source_type: SourceType::Text,
        parameters: Default::default(),
        auth_method: None,
        vectorized: true,
        ocr: true,
        integration_id: None,
        serving: Generation::first(id, spec.clone()),
        building: None,
        previous: None,
        embedding: spec,
        budget: BudgetLimits::default(),
        auto_update: None,
        embedding_llm_config_id: None,
        created_by: "t".into(),
        created_at: now,
        modified_at: now,
        last_polled_at: None,
        next_poll_at: None,
        auth_sealed: None,
        auth_error: None,
    }
}

async fn create(s: &dyn Store, tenant: &TenantId) -> (Asset, Operation) {
    let a = asset(tenant);
    let op = s
        .asset_create(
            &a,
            &NewOperation::new(a.id, OperationType::Ingest, "t", now_ms()),
        )
        .await
        .unwrap();
    (a, op)
}

fn windows() -> UsageWindows {
    let (day_start, month_start) = day_and_month_start(now_ms());
    UsageWindows {
        day_start,
        month_start,
    }
}

async fn claimers_never_share(s: Arc<dyn Store>) {
    let tenant = TenantId::parse("t").unwrap();
    let mut created = HashSet::new();
    for _ in 0..40 {
        created.insert(create(&*s, &tenant).await.1.id);
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

async fn expired_leases(s: Arc<dyn Store>) {
    let tenant = TenantId::parse("t").unwrap();
    let (a, op) = create(&*s, &tenant).await;
    let t0 = now_ms();
    let old = s.operation_claim(t0, 1_000).await.unwrap().unwrap();
    assert!(
        s.operation_claim(t0 + 500, 1_000).await.unwrap().is_none(),
        "the lease is still valid"
    );
    let new = s
        .operation_claim(t0 + 2_000, 1_000)
        .await
        .unwrap()
        .expect("expired lease is claimable");
    assert_eq!((new.operation.id, new.operation.attempts), (op.id, 2));

    let doc = Document {
        created_at: t0,
        modified_at: t0,
        source_meta: serde_json::json!({"etag": "\"v1\"", "links": ["https://a.example/x"]}),
        metadata: serde_json::json!({"path": "k", "team": "a"})
            .as_object()
            .unwrap()
            .clone(),
        ..doc(a.id, op.id, "k")
    };
    assert!(
        !s.document_replace(&old.lease, &doc, &[], None)
            .await
            .unwrap(),
        "old holder cannot write documents"
    );
    assert!(!s.document_delete(&old.lease, &[doc.id]).await.unwrap());
    assert_eq!(
        s.operation_heartbeat(&old.lease, &Counters::default(), t0, 1_000)
            .await
            .unwrap(),
        LeaseState::Lost
    );
    assert!(
        !s.operation_finish(
            &old.lease,
            &Outcome::Completed {
                error_message: None
            },
            &Counters::default(),
            t0
        )
        .await
        .unwrap()
    );
    assert!(
        s.document_replace(&new.lease, &doc, &[], None)
            .await
            .unwrap(),
        "the new holder can"
    );
    // A filter sees every change of the documents' metadata as soon as it commits (the embedded
    // backend keeps parsed metadata between searches).
    let team = |t: &str| {
        MetadataFilter::parse(
            &serde_json::json!({"type": "eq", "key": "team", "value": t}),
            "f",
        )
        .unwrap()
    };
    let matching = |t: &'static str| {
        let (s, tenant) = (s.clone(), tenant.clone());
        async move {
            s.documents_matching(&tenant, &[a.id], &team(t))
                .await
                .unwrap()
        }
    };
    assert_eq!(matching("a").await, [doc.id]);
    // A PATCH's metadata overlays what ingestion wrote, and the next ingestion keeps it.
    let patch = serde_json::json!({"team": "b", "path": null});
    let patched = s
        .document_patch_metadata(&tenant, a.id, doc.id, patch.as_object().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(matching("a").await.is_empty(), "the PATCH is seen at once");
    assert_eq!(matching("b").await, [doc.id]);
    assert_eq!(
        serde_json::Value::Object(patched.effective_metadata()),
        serde_json::json!({"team": "b"})
    );
    assert!(
        s.document_replace(&new.lease, &doc, &[], None)
            .await
            .unwrap()
    );
    let again = s
        .document_get(&tenant, a.id, doc.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.metadata, doc.metadata);
    assert_eq!(again.effective_metadata(), patched.effective_metadata());
    assert_eq!(matching("b").await, [doc.id]);
    assert!(s.document_delete(&new.lease, &[doc.id]).await.unwrap());
    assert!(
        matching("b").await.is_empty(),
        "a deleted document is gone at once"
    );
    assert!(
        s.document_replace(&new.lease, &doc, &[], None)
            .await
            .unwrap()
    );
    assert_eq!(
        matching("a").await,
        [doc.id],
        "a new document is seen at once"
    );
    let other = TenantId::parse("other").unwrap();
    let foreign = s.document_patch_metadata(&other, a.id, doc.id, patch.as_object().unwrap());
    assert!(
        foreign.await.unwrap().is_none(),
        "another tenant's document is absent"
    );
    assert!(
        s.operation_finish(
            &new.lease,
            &Outcome::Completed {
                error_message: None
            },
            &Counters::default(),
            t0
        )
        .await
        .unwrap()
    );
    let done = s
        .operation_get(&tenant, a.id, op.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, OperationStatus::Completed);
}

async fn usage_and_counts(s: Arc<dyn Store>) {
    let tenant = TenantId::parse("t").unwrap();
    let (a, _) = create(&*s, &tenant).await;
    for tokens in [1_000, 234] {
        let c = s.operation_claim(now_ms(), 60_000).await.unwrap().unwrap();
        let counters = Counters {
            token_count: tokens,
            ..Default::default()
        };
        assert!(
            s.operation_finish(
                &c.lease,
                &Outcome::Completed {
                    error_message: None
                },
                &counters,
                now_ms()
            )
            .await
            .unwrap()
        );
        s.operation_create(
            &tenant,
            &NewOperation::new(a.id, OperationType::Refresh, "t", now_ms()),
        )
        .await
        .unwrap();
    }
    let view = s
        .asset_get(&tenant, a.id, windows())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            view.stats.total_tokens,
            view.stats.monthly_tokens,
            view.stats.daily_tokens
        ),
        (1_234, 1_234, 1_234)
    );
    assert_eq!(view.stats.operation_count, 3);
    let page = s
        .operation_list(&tenant, a.id, &ragd_core::page::PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (3, 3));
    // A second active operation is refused by the database itself.
    let err = s
        .operation_create(
            &tenant,
            &NewOperation::new(a.id, OperationType::Refresh, "t", now_ms()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ragd_core::Error::OperationActive { .. }),
        "{err:?}"
    );
    // Another tenant sees nothing of it.
    let other = TenantId::parse("u").unwrap();
    assert!(
        s.asset_get(&other, a.id, windows())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.operation_list(&other, a.id, &ragd_core::page::PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn uploads(s: Arc<dyn Store>) {
    let (acme, other) = (
        TenantId::parse("acme").unwrap(),
        TenantId::parse("other").unwrap(),
    );
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
        metadata: Default::default(),
    };
    let (old_temp, old_kept, new_temp) = (
        file(&acme, true, t0 - 100_000),
        file(&acme, false, t0 - 100_000),
        file(&acme, true, t0),
    );
    for f in [&old_temp, &old_kept, &new_temp] {
        s.file_create(f).await.unwrap();
    }
    assert_eq!(
        s.file_get(&acme, old_temp.id).await.unwrap().as_ref(),
        Some(&old_temp)
    );
    assert!(
        s.file_get(&other, old_temp.id).await.unwrap().is_none(),
        "another tenant cannot see it"
    );
    assert!(!s.file_retain(&other, old_temp.id, None).await.unwrap());
    let expired: Vec<Uuid> = s
        .files_expired(t0 - 1_000, 10)
        .await
        .unwrap()
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(expired, [old_temp.id]);
    assert!(s.file_retain(&acme, old_temp.id, None).await.unwrap());
    assert!(
        s.files_expired(t0 - 1_000, 10).await.unwrap().is_empty(),
        "an imported upload is kept"
    );
    assert!(!s.file_delete(&other, new_temp.id).await.unwrap());
    assert!(s.file_delete(&acme, new_temp.id).await.unwrap());
    assert!(s.file_get(&acme, new_temp.id).await.unwrap().is_none());
}

/// Unit vectors around a few cluster centres (as real embeddings cluster by topic), deterministic.
fn clustered(n: usize, dims: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..20)
        .map(|_| (0..dims).map(|_| next()).collect())
        .collect();
    (0..n)
        .map(|i| {
            let c = &centres[i % centres.len()];
            let v: Vec<f32> = c.iter().map(|x| x + 0.35 * next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn doc(asset: Uuid, operation: Uuid, key: &str) -> Document {
    Document {
        id: Document::id_for(asset, key),
        asset_id: asset,
        source_key: key.into(),
        file_name: key.into(),
        content_type: "text/plain".into(),
        source_url: None,
        file_size: 1,
        content_hash: "h".into(),
        chunk_count: 0,
        token_count: 0,
        status: DocumentStatus::Indexed,
        error_message: None,
        operation_id: operation,
        created_at: 0,
        modified_at: 0,
        processed_at: None,
        source_meta: serde_json::json!({}),
        metadata: Default::default(),
        metadata_patch: Default::default(),
    }
}

fn chunk(doc: Uuid, i: usize, embedding: Vec<f32>) -> Chunk {
    Chunk {
        ocr: false,
        id: Chunk::id_for(doc, &format!("h{i}"), i as i64),
        document_id: doc,
        chunk_index: i as i64,
        content: format!("chunk {i}"),
        context_text: "d".into(),
        heading_path: String::new(),
        page_number: None,
        start_char: 0,
        end_char: 1,
        start_line: 1,
        end_line: 1,
        token_count: 1,
        text_hash: format!("h{i}"),
        embedding,
    }
}

#[tokio::test]
async fn vector_search_sees_every_commit_finds_true_neighbours_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let s = SqliteStore::open(&path).await.unwrap();
    let acme = TenantId::parse("acme").unwrap();
    let (a, _) = create(&s, &acme).await;
    let claim = s.operation_claim(now_ms(), 60_000).await.unwrap().unwrap();
    let vectors = clustered(3_000, 384, 7);
    let (d1, d2) = (
        doc(a.id, claim.operation.id, "one"),
        doc(a.id, claim.operation.id, "two"),
    );
    let chunks1: Vec<Chunk> = vectors[..2_000]
        .iter()
        .enumerate()
        .map(|(i, v)| chunk(d1.id, i, v.clone()))
        .collect();
    let chunks2: Vec<Chunk> = vectors[2_000..]
        .iter()
        .enumerate()
        .map(|(i, v)| chunk(d2.id, i, v.clone()))
        .collect();
    assert!(
        s.document_replace(&claim.lease, &d1, &chunks1, None)
            .await
            .unwrap()
    );
    let scope = SearchScope {
        tenant: acme.clone(),
        asset_ids: vec![a.id],
        document_ids: vec![],
        content_types: vec![],
        source_url_prefix: None,
    };
    let narrowed = |doc: Uuid| SearchScope {
        document_ids: vec![doc],
        ..scope.clone()
    };

    // Recall@10 of the graph against exact search (the filtered path is exact).
    let queries = clustered(50, 384, 99);
    let mut found = 0;
    for q in &queries {
        let approx: HashSet<i64> = s
            .search_vectors(&scope, q, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let exact: Vec<(i64, f64)> = s.search_vectors(&narrowed(d1.id), q, 10).await.unwrap();
        found += exact.iter().filter(|(k, _)| approx.contains(k)).count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    assert!(recall >= 0.95, "recall@10 = {recall}");

    // A second document is searchable as soon as it commits; a deleted one never again.
    assert!(
        s.document_replace(&claim.lease, &d2, &chunks2, None)
            .await
            .unwrap()
    );
    let top = s.search_vectors(&scope, &vectors[2_500], 1).await.unwrap();
    let hits = s.search_hits(&acme, &[top[0].0]).await.unwrap();
    assert_eq!(
        (hits[0].chunk.document_id, hits[0].chunk.chunk_index),
        (d2.id, 500)
    );
    assert!(
        (top[0].1 - 1.0).abs() < 1e-4,
        "cosine of a vector with itself: {}",
        top[0].1
    );
    assert!(s.document_remove(&acme, a.id, d1.id).await.unwrap());
    for q in queries.iter().take(10) {
        let keys: Vec<i64> = s
            .search_vectors(&scope, q, 20)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let docs: HashSet<Uuid> = s
            .search_hits(&acme, &keys)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.chunk.document_id)
            .collect();
        assert!(
            !docs.contains(&d1.id),
            "a deleted document's chunks were found"
        );
    }
    let before: Vec<i64> = s
        .search_vectors(&scope, &queries[0], 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    drop(s);

    // Another process (or a restart) sees the same index: loaded from disk or rebuilt, then
    // brought up to date from the log.
    let s = SqliteStore::open(&path).await.unwrap();
    let after: Vec<i64> = s
        .search_vectors(&scope, &queries[0], 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(before, after);
    let other = TenantId::parse("other").unwrap();
    assert!(
        s.search_hits(&other, &after).await.unwrap().is_empty(),
        "hits are read within the tenant"
    );
}

/// An asset of `docs` documents of `per_doc` clustered vectors each (`dims` wide), written under
/// one claim: the documents and every vector by (document index, chunk index).
async fn vector_documents(
    s: &dyn Store,
    tenant: &TenantId,
    docs: usize,
    per_doc: usize,
    dims: usize,
) -> (Asset, Vec<Document>, Vec<Vec<f32>>) {
    let (a, _) = create(s, tenant).await;
    let claim = s.operation_claim(now_ms(), 60_000).await.unwrap().unwrap();
    let vectors = clustered(docs * per_doc, dims, 11);
    let mut written = Vec::new();
    for d in 0..docs {
        let document = doc(a.id, claim.operation.id, &format!("doc{d}"));
        let chunks: Vec<Chunk> = (0..per_doc)
            .map(|i| chunk(document.id, i, vectors[d * per_doc + i].clone()))
            .collect();
        assert!(
            s.document_replace(&claim.lease, &document, &chunks, None)
                .await
                .unwrap()
        );
        written.push(document);
    }
    (a, written, vectors)
}

/// Searches `scope` (some of `docs`) and checks the results against exact search over the
/// vectors of those documents: always `k` of them, only theirs; returns how many of the true
/// `k` nearest were found.
async fn among(
    s: &dyn Store,
    scope: &SearchScope,
    docs: &[Document],
    vectors: &[Vec<f32>],
    per_doc: usize,
    q: &[f32],
) -> usize {
    let k = 10;
    let found = s.search_vectors(scope, q, k as u32).await.unwrap();
    assert_eq!(found.len(), k, "a search among documents fills k");
    let keys: Vec<i64> = found.iter().map(|(k, _)| *k).collect();
    let hits = s.search_hits(&scope.tenant, &keys).await.unwrap();
    let index = |d: Uuid| docs.iter().position(|x| x.id == d).unwrap();
    let mut exact: Vec<(usize, f32)> = scope
        .document_ids
        .iter()
        .flat_map(|d| (0..per_doc).map(move |i| index(*d) * per_doc + i))
        .map(|i| (i, vectors[i].iter().zip(q).map(|(a, b)| a * b).sum()))
        .collect();
    exact.sort_by(|a, b| b.1.total_cmp(&a.1));
    let exact: HashSet<usize> = exact.iter().take(k).map(|(i, _)| *i).collect();
    hits.iter()
        .map(|h| {
            assert!(
                scope.document_ids.contains(&h.chunk.document_id),
                "a result outside the documents searched"
            );
            index(h.chunk.document_id) * per_doc + h.chunk.chunk_index as usize
        })
        .filter(|i| exact.contains(i))
        .count()
}

/// A search among documents finds their nearest chunks whether they hold a few of the asset's
/// vectors (the embedded backend compares them all) or most of them (it walks its graph with
/// the documents as a predicate), and never another document's.
async fn search_among_documents(s: Arc<dyn Store>) {
    let acme = TenantId::parse("acme").unwrap();
    let per_doc = 1_000;
    let (a, docs, vectors) = vector_documents(s.as_ref(), &acme, 12, per_doc, 32).await;
    let queries = clustered(30, 32, 5);
    for kept in [1, 3, 10] {
        let scope = SearchScope {
            tenant: acme.clone(),
            asset_ids: vec![a.id],
            document_ids: docs.iter().take(kept).map(|d| d.id).collect(),
            content_types: vec![],
            source_url_prefix: None,
        };
        let mut found = 0;
        for q in &queries {
            found += among(s.as_ref(), &scope, &docs, &vectors, per_doc, q).await;
        }
        let recall = found as f64 / (queries.len() * 10) as f64;
        assert!(
            recall >= 0.95,
            "recall@10 among {kept} documents = {recall}"
        );
    }
}

#[tokio::test]
async fn a_search_among_documents_after_a_restart_still_knows_each_vectors_document() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let s = SqliteStore::open(&path).await.unwrap();
    let acme = TenantId::parse("acme").unwrap();
    let per_doc = 1_000;
    let (a, docs, vectors) = vector_documents(&s, &acme, 10, per_doc, 16).await;
    let whole = SearchScope {
        tenant: acme.clone(),
        asset_ids: vec![a.id],
        document_ids: vec![],
        content_types: vec![],
        source_url_prefix: None,
    };
    // The first search builds the graph and saves it in the background.
    s.search_vectors(&whole, &vectors[0], 10).await.unwrap();
    let saved = dir.path().join("indexes").join(format!("{}.usearch", a.id));
    for _ in 0..600 {
        if saved.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(saved.exists(), "the graph was saved");
    drop(s);

    let s = SqliteStore::open(&path).await.unwrap();
    let scope = SearchScope {
        document_ids: docs.iter().skip(1).map(|d| d.id).collect(),
        ..whole
    };
    let queries = clustered(20, 16, 3);
    let mut found = 0;
    for q in &queries {
        found += among(&s, &scope, &docs, &vectors, per_doc, q).await;
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    assert!(recall >= 0.95, "recall@10 after a restart = {recall}");
}

/// Chunks of `doc` with these texts (no embeddings: full text only).
fn texts(doc: Uuid, texts: &[String]) -> Vec<Chunk> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Chunk {
            ocr: false,
            content: t.clone(),
            context_text: String::new(),
            ..chunk(doc, i, Vec::new())
        })
        .collect()
}

#[tokio::test]
async fn full_text_search_is_scoped_sees_every_commit_and_agrees_with_fts5() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let s = SqliteStore::open(&path).await.unwrap();
    let acme = TenantId::parse("acme").unwrap();
    let (a, _) = create(&s, &acme).await;
    let claim_a = s.operation_claim(now_ms(), 60_000).await.unwrap().unwrap();
    let (b, _) = create(&s, &acme).await;
    let claim_b = s.operation_claim(now_ms(), 60_000).await.unwrap().unwrap();
    let words = [
        "ownership",
        "borrowing",
        "lifetimes",
        "traits",
        "closures",
        "iterators",
        "macros",
        "modules",
    ];
    // 600 chunks in A: every one says "rust", each says two topic words and one unique marker.
    let corpus: Vec<String> = (0..600)
        .map(|i| format!("rust {} and {} marker{i}", words[i % 8], words[(i / 8) % 8]))
        .collect();
    let d1 = doc(a.id, claim_a.operation.id, "one");
    assert!(
        s.document_replace(&claim_a.lease, &d1, &texts(d1.id, &corpus), None)
            .await
            .unwrap()
    );
    let db = doc(b.id, claim_b.operation.id, "b");
    assert!(
        s.document_replace(
            &claim_b.lease,
            &db,
            &texts(db.id, &["rust only in b: zeppelin".into()]),
            None
        )
        .await
        .unwrap()
    );
    let scope = |assets: Vec<Uuid>| SearchScope {
        tenant: acme.clone(),
        asset_ids: assets,
        document_ids: vec![],
        content_types: vec![],
        source_url_prefix: None,
    };
    let filtered = |assets: Vec<Uuid>, doc: Uuid| SearchScope {
        document_ids: vec![doc],
        ..scope(assets)
    };
    let terms = |q: &str| ragd_core::search::query_terms(q);

    // The unique marker wins in the index (Tantivy) and in FTS5 (the filtered path) alike, and a
    // stemmed form finds its word.
    for i in [0usize, 77, 599] {
        let q = terms(&format!("rust marker{i} {}", words[i % 8]));
        let fast = s.search_text(&scope(vec![a.id]), &q, 5).await.unwrap();
        let fts5 = s
            .search_text(&filtered(vec![a.id], d1.id), &q, 5)
            .await
            .unwrap();
        assert_eq!(index_of(&s, fast.clone()).await[0], (d1.id, i as i64));
        assert_eq!(
            fast[0].0, fts5[0].0,
            "Tantivy and FTS5 disagree on the best match"
        );
    }
    assert!(
        dir.path().join("indexes/text/meta.json").exists(),
        "the Tantivy index served these"
    );
    let borrowed = s
        .search_text(&scope(vec![a.id]), &terms("borrowed"), 100)
        .await
        .unwrap();
    assert_eq!(borrowed.len(), 100, "stems match: borrowed ~ borrowing");

    // Scoping is in the query: A never yields B's chunk, both together do.
    assert!(
        s.search_text(&scope(vec![a.id]), &terms("zeppelin"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        index_of(
            &s,
            s.search_text(&scope(vec![a.id, b.id]), &terms("zeppelin"), 10)
                .await
                .unwrap()
        )
        .await,
        [(db.id, 0)]
    );

    // A replaced document is searched in its new version at once; a removed one never again.
    let d1_new = vec!["rust quasar".to_string()];
    assert!(
        s.document_replace(&claim_a.lease, &d1, &texts(d1.id, &d1_new), None)
            .await
            .unwrap()
    );
    assert!(
        s.search_text(&scope(vec![a.id]), &terms("marker5"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.search_text(&scope(vec![a.id]), &terms("quasar"), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(s.document_remove(&acme, a.id, d1.id).await.unwrap());
    assert!(
        s.search_text(&scope(vec![a.id]), &terms("quasar rust"), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A second process on the same data directory cannot hold the index and searches with FTS5;
    // after a restart the index resumes from its committed position.
    let second = SqliteStore::open(&path).await.unwrap();
    let seen = second
        .search_text(&scope(vec![a.id, b.id]), &terms("zeppelin"), 10)
        .await
        .unwrap();
    assert_eq!(index_of(&second, seen).await, [(db.id, 0)]);
    drop(second);
    drop(s);
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        index_of(
            &s,
            s.search_text(&scope(vec![a.id, b.id]), &terms("rust"), 10)
                .await
                .unwrap()
        )
        .await,
        [(db.id, 0)]
    );
}

/// `(document, chunk index)` of ranked keys, in rank order.
async fn index_of(s: &SqliteStore, ranked: Vec<(i64, f64)>) -> Vec<(Uuid, i64)> {
    let keys: Vec<i64> = ranked.into_iter().map(|(k, _)| k).collect();
    let mut hits = s
        .search_hits(&TenantId::parse("acme").unwrap(), &keys)
        .await
        .unwrap();
    hits.sort_by_key(|h| keys.iter().position(|k| *k == h.key));
    hits.into_iter()
        .map(|h| (h.chunk.document_id, h.chunk.chunk_index))
        .collect()
}

#[tokio::test]
async fn postgres_search_uses_its_indexes_sees_every_commit_and_stays_in_scope() {
    let url = ragd_store::postgres::throwaway_database().await.unwrap();
    let s = ragd_store::PgStore::open(&url, 10).await.unwrap();
    let acme = TenantId::parse("acme").unwrap();
    let (a, _) = create(&s, &acme).await;
    let claim = s.operation_claim(now_ms(), 60_000).await.unwrap().unwrap();
    let vectors = clustered(2_000, 384, 7);
    let (d1, d2) = (
        doc(a.id, claim.operation.id, "one"),
        doc(a.id, claim.operation.id, "two"),
    );
    let chunks1: Vec<Chunk> = vectors[..1_500]
        .iter()
        .enumerate()
        .map(|(i, v)| Chunk {
            ocr: false,
            content: format!("rust ownership marker{i}"),
            ..chunk(d1.id, i, v.clone())
        })
        .collect();
    assert!(
        s.document_replace(&claim.lease, &d1, &chunks1, None)
            .await
            .unwrap()
    );
    let scope = SearchScope {
        tenant: acme.clone(),
        asset_ids: vec![a.id],
        document_ids: vec![],
        content_types: vec![],
        source_url_prefix: None,
    };

    // Recall@10 of pgvector's HNSW against exact search computed here.
    let queries = clustered(30, 384, 99);
    let mut found = 0;
    for q in &queries {
        let approx: Vec<i64> = s
            .search_vectors(&scope, q, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let hits = s.search_hits(&acme, &approx).await.unwrap();
        let mut exact: Vec<(usize, f32)> = vectors[..1_500]
            .iter()
            .enumerate()
            .map(|(i, v)| (i, v.iter().zip(q).map(|(x, y)| x * y).sum()))
            .collect();
        exact.sort_by(|x, y| y.1.total_cmp(&x.1));
        let exact: HashSet<i64> = exact[..10].iter().map(|(i, _)| *i as i64).collect();
        found += hits
            .iter()
            .filter(|h| exact.contains(&h.chunk.chunk_index))
            .count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    assert!(recall >= 0.95, "recall@10 = {recall}");

    // Full text: the unique marker ranks first; another asset's words are out of scope.
    let top = s
        .search_text(
            &scope,
            &ragd_core::search::query_terms("marker77 ownership"),
            5,
        )
        .await
        .unwrap();
    assert_eq!(
        s.search_hits(&acme, &[top[0].0]).await.unwrap()[0]
            .chunk
            .chunk_index,
        77
    );
    // Once ANALYZE knows that "rust" and "ownership" are in every chunk, only the rare marker
    // selects candidates (the ranking still sees the whole query); a query of common words only
    // falls back to its rarest one, so it still finds chunks.
    sqlx::query("ANALYZE chunks")
        .execute(s.pool())
        .await
        .unwrap();
    let analyzed = ragd_store::PgStore::open(&url, 2).await.unwrap();
    let top = analyzed
        .search_text(
            &scope,
            &ragd_core::search::query_terms("marker77 ownership rust"),
            5,
        )
        .await
        .unwrap();
    assert_eq!(
        top.len(),
        1,
        "only the chunk with the rare word is a candidate"
    );
    assert_eq!(
        s.search_hits(&acme, &[top[0].0]).await.unwrap()[0]
            .chunk
            .chunk_index,
        77
    );
    assert_eq!(
        analyzed
            .search_text(&scope, &ragd_core::search::query_terms("rust ownership"), 5)
            .await
            .unwrap()
            .len(),
        5
    );
    let (b, _) = create(&s, &acme).await;
    let claim_b = s.operation_claim(now_ms(), 60_000).await.unwrap().unwrap();
    let db = doc(b.id, claim_b.operation.id, "b");
    let zeppelin = Chunk {
        ocr: false,
        content: "zeppelin".into(),
        ..chunk(db.id, 0, vectors[1_999].clone())
    };
    assert!(
        s.document_replace(&claim_b.lease, &db, &[zeppelin], None)
            .await
            .unwrap()
    );
    assert!(
        s.search_text(&scope, &["zeppelin".into()], 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.search_vectors(&scope, &vectors[1_999], 1).await.unwrap()[0].1 < 0.9999,
        "B's vector is not in A's scope"
    );

    // A new document is found at once (cosine 1 with itself); a removed one never again; hits are
    // read within the tenant only.
    let chunks2: Vec<Chunk> = vectors[1_500..1_600]
        .iter()
        .enumerate()
        .map(|(i, v)| chunk(d2.id, i, v.clone()))
        .collect();
    assert!(
        s.document_replace(&claim.lease, &d2, &chunks2, None)
            .await
            .unwrap()
    );
    let top = s.search_vectors(&scope, &vectors[1_550], 1).await.unwrap();
    assert!((top[0].1 - 1.0).abs() < 1e-4);
    assert_eq!(
        s.search_hits(&acme, &[top[0].0]).await.unwrap()[0]
            .chunk
            .document_id,
        d2.id
    );
    assert!(s.document_remove(&acme, a.id, d2.id).await.unwrap());
    let top = s.search_vectors(&scope, &vectors[1_550], 5).await.unwrap();
    let docs: HashSet<Uuid> = s
        .search_hits(&acme, &top.iter().map(|(k, _)| *k).collect::<Vec<_>>())
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.chunk.document_id)
        .collect();
    assert!(!docs.contains(&d2.id));
    assert!(
        s.search_hits(&TenantId::parse("other").unwrap(), &[top[0].0])
            .await
            .unwrap()
            .is_empty()
    );

    // The queries use the HNSW and GIN indexes, not scans of every chunk.
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT seq FROM chunks WHERE vector_dims(embedding) = 384 ORDER BY embedding::vector(384) <=> (SELECT embedding FROM chunks LIMIT 1)::vector(384) LIMIT 10",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    assert!(
        plan.iter().any(|l| l.contains("chunks_embedding_384")),
        "{plan:#?}"
    );
}

async fn llm_configs(s: Arc<dyn Store>) {
    let (acme, other) = (
        TenantId::parse("acme").unwrap(),
        TenantId::parse("other").unwrap(),
    );
    let config = |tenant: &TenantId, created_at: i64| LlmConfig {
        id: Uuid::now_v7(),
        tenant: tenant.clone(),
        display_name: "team".into(),
        provider: "openai".into(),
        base_url: Some("https://llm.example/v1".into()),
        api_key_sealed: Some(vec![1, 2, 3]),
        requests_per_minute: Some(600),
        tokens_per_minute: None,
        max_concurrency: Some(2),
        created_by: "t".into(),
        created_at,
        modified_at: created_at,
    };
    let t0 = now_ms();
    let (older, newer, foreign) = (config(&acme, t0), config(&acme, t0 + 1), config(&other, t0));
    for c in [&older, &newer, &foreign] {
        s.llm_config_put(c).await.unwrap();
    }
    let listed: Vec<Uuid> = s
        .llm_config_list(&acme)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(
        listed,
        vec![newer.id, older.id],
        "the tenant's own, newest first"
    );
    assert!(
        s.llm_config_get(&acme, foreign.id).await.unwrap().is_none(),
        "another tenant's config is not found"
    );

    // A put of an existing id updates it (a rotated key, a cleared limit); the creator and creation stay.
    let mut rotated = older.clone();
    (
        rotated.api_key_sealed,
        rotated.requests_per_minute,
        rotated.modified_at,
        rotated.created_by,
    ) = (Some(vec![9]), None, t0 + 5, "x".into());
    s.llm_config_put(&rotated).await.unwrap();
    let read = s.llm_config_get(&acme, older.id).await.unwrap().unwrap();
    assert_eq!(
        (
            read.api_key_sealed,
            read.requests_per_minute,
            read.modified_at
        ),
        (Some(vec![9]), None, t0 + 5)
    );
    assert_eq!(
        (
            read.created_by.as_str(),
            read.created_at,
            read.max_concurrency
        ),
        ("t", t0, Some(2))
    );

    // Named by a live asset: kept; once the asset is deleted: deletable.
    let mut a = asset(&acme);
    a.embedding_llm_config_id = Some(older.id.to_string());
    s.asset_create(
        &a,
        &NewOperation::new(a.id, OperationType::Ingest, "t", now_ms()),
    )
    .await
    .unwrap();
    assert!(!s.llm_config_delete(&acme, older.id).await.unwrap());
    assert!(
        !s.llm_config_delete(&other, newer.id).await.unwrap(),
        "not another tenant's"
    );
    assert!(s.llm_config_delete(&acme, newer.id).await.unwrap());
    s.asset_delete(&acme, a.id, now_ms()).await.unwrap();
    assert!(s.llm_config_delete(&acme, older.id).await.unwrap());
    assert!(s.llm_config_list(&acme).await.unwrap().is_empty());
}

async fn fair_claims(s: Arc<dyn Store>) {
    let (busy, quiet) = (
        TenantId::parse("busy").unwrap(),
        TenantId::parse("quiet").unwrap(),
    );
    // The busy tenant queued three operations before the quiet one queued its one.
    let mut busy_ops = Vec::new();
    for _ in 0..3 {
        busy_ops.push(create(&*s, &busy).await.1.id);
    }
    let quiet_op = create(&*s, &quiet).await.1.id;
    let next = || async {
        s.operation_claim(now_ms(), 60_000)
            .await
            .unwrap()
            .unwrap()
            .operation
            .id
    };
    assert_eq!(
        next().await,
        busy_ops[0],
        "nothing runs yet: the oldest goes first"
    );
    assert_eq!(
        next().await,
        quiet_op,
        "then the tenant with nothing running, although its operation is newer"
    );
    assert_eq!(next().await, busy_ops[1]);
    // Expired leases do not count as running (busy would have two, quiet one, and quiet's would
    // go first): once all have expired, the oldest goes first again.
    let claimed = s
        .operation_claim(now_ms() + 120_000, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.operation.id, busy_ops[0]);
}

/// Found by schemathesis on PostgreSQL: a refresh queued just as the asset's active operation
/// ended was a 500 (the conflict was seen, the active operation then was not). Every attempt
/// made while workers finish operations is now either queued or `OperationActive` with its id.
async fn queue_races_finish(s: Arc<dyn Store>) {
    let tenant = TenantId::parse("t").unwrap();
    let (a, _) = create(&*s, &tenant).await;
    let finisher = {
        let s = s.clone();
        tokio::spawn(async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            while std::time::Instant::now() < deadline {
                if let Some(c) = s.operation_claim(now_ms(), 60_000).await.unwrap() {
                    s.operation_finish(
                        &c.lease,
                        &Outcome::Completed {
                            error_message: None,
                        },
                        &Counters::default(),
                        now_ms(),
                    )
                    .await
                    .unwrap();
                }
            }
        })
    };
    let (mut queued, mut active) = (0, 0);
    while !finisher.is_finished() {
        match s
            .operation_create(
                &tenant,
                &NewOperation::new(a.id, OperationType::Refresh, "t", now_ms()),
            )
            .await
        {
            Ok(_) => queued += 1,
            Err(ragd_core::Error::OperationActive { operation_id, .. }) => {
                assert!(!operation_id.is_nil());
                active += 1;
            }
            Err(e) => panic!("queueing failed after {queued} queued and {active} refused: {e:?}"),
        }
    }
    finisher.await.unwrap();
    assert!(
        queued > 0 && active > 0,
        "both outcomes were seen: {queued} queued, {active} refused"
    );
}
