//! Scale-out under faults, with real processes on one PostgreSQL database: an API process and three
//! worker processes of the `ragd` binary ingest 20 assets while the harness `kill -9`s a random
//! worker every few seconds and starts it again. Always runs on PostgreSQL (a throwaway server
//! when `RAGD_TEST_DATABASE_URL` is unset; no server fails the test, it never skips).
//!
//! Then every asset's chunking is changed, and the 20 `REINDEX`es build their new generations under
//! the same kills.
//!
//! Checks: every operation ends COMPLETED; each asset's chunks equal those of an undisturbed run
//! (same documents, chunk texts, offsets and token counts; vectors within float noise), after the
//! ingestion and after the re-index; while the re-indexes run, each asset serves either all of its
//! old generation or all of its new one, never a mix (a killed build resumes in another worker
//! without touching what serves); no two attempts at one operation overlap in time (from the
//! workers' own logs); idle workers are woken by NOTIFY, not by their poll; a cancel sent to the
//! API process stops a running operation in a worker process within 2 s.

#[path = "common/cluster.rs"]
mod cluster;

use cluster::{Api, Proc};
use ragd_store::postgres::throwaway_database;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

const ASSETS: usize = 20;
/// Short leases so that killed workers' operations come back quickly; workers poll rarely, so
/// prompt claims can only come from NOTIFY.
const ENV: &[(&str, &str)] = &[
    ("RAGD_LEASE_SECONDS", "3"),
    ("RAGD_HEARTBEAT_MS", "250"),
    ("RAGD_POLL_MS", "5000"),
    ("RAGD_MAX_ATTEMPTS", "50"),
];

/// Each asset's chunks in its serving generation, by asset name: (document, index, offsets, tokens, text) and the vector.
type ChunkSet = BTreeMap<String, Vec<((String, i64, i64, i64, i64, String), Vec<f32>)>>;

async fn chunk_set(url: &str) -> ChunkSet {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    type Row = (String, String, i64, i64, i64, i64, String, Vec<f32>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.display_name, d.source_key, c.chunk_index, c.start_char, c.end_char, c.token_count, c.content,
                c.embedding::real[]
         FROM chunks c JOIN documents d ON d.id = c.document_id JOIN assets a ON a.id = d.asset_id
         WHERE c.asset_id = COALESCE(a.serving_index, a.id)
         ORDER BY 1, 2, 3",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut set = ChunkSet::new();
    for (asset, doc, index, start, end, tokens, content, vector) in rows {
        set.entry(asset)
            .or_default()
            .push(((doc, index, start, end, tokens, content), vector));
    }
    set
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
        / (a.iter().map(|x| x * x).sum::<f32>().sqrt()
            * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

/// One attempt at an operation as a worker's log tells it: when it started and, if known, when
/// it ended.
#[derive(Debug)]
struct Attempt {
    log: PathBuf,
    start: SystemTime,
    end: Option<SystemTime>,
}

/// Adds the attempts of one worker log to `into`. An attempt lasts until its last event in the
/// log; one the log never closes (finished, lease lost, released) lasted until `killed_at`, the
/// kill of its process.
fn attempts(log: &Path, killed_at: Option<SystemTime>, into: &mut BTreeMap<String, Vec<Attempt>>) {
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(op) = v["span"]["operation_id"].as_str() else {
            continue;
        };
        let at =
            humantime::parse_rfc3339_weak(v["timestamp"].as_str().unwrap().trim_end_matches('Z'))
                .unwrap();
        let message = v["fields"]["message"].as_str().unwrap_or_default();
        let list = into.entry(op.to_owned()).or_default();
        if message == "operation started" {
            open.insert(op.to_owned(), list.len());
            list.push(Attempt {
                log: log.to_owned(),
                start: at,
                end: None,
            });
        } else if let Some(&i) = open.get(op) {
            list[i].end = Some(at);
            if message == "operation finished"
                || message.starts_with("lease lost")
                || message.contains("releas")
            {
                open.remove(op);
            }
        }
    }
    if let Some(k) = killed_at {
        for (op, i) in open {
            into.get_mut(&op).expect("listed")[i].end = Some(k);
        }
    }
}

/// The chunk keys of one asset's chunk set, without the vectors.
fn keys(
    set: &[((String, i64, i64, i64, i64, String), Vec<f32>)],
) -> Vec<&(String, i64, i64, i64, i64, String)> {
    set.iter().map(|(k, _)| k).collect()
}

/// Worker processes that a harness kills at random and starts again.
struct Workers<'a> {
    url: &'a str,
    dir: &'a Path,
    procs: Vec<Proc>,
    logs: Vec<PathBuf>,
    kill_times: BTreeMap<PathBuf, SystemTime>,
    killed: usize,
    rng: u64,
}

impl Workers<'_> {
    /// Waits until every operation of `ops` is done. With `kills`, a random worker is `kill -9`ed
    /// every `kills` (or after every 3 operations that end, if sooner) and started again; `each`
    /// is called between looks.
    async fn drive<F: std::future::Future<Output = ()>>(
        &mut self,
        api: &Api,
        ops: &[(String, String)],
        kills: Option<Duration>,
        mut each: impl FnMut() -> F,
    ) {
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut next_kill = kills.map(|k| Instant::now() + k);
        // Also kill after every 3 operations that end, so that a fast machine, which finishes
        // within a few kill periods, still sees several kills while work is running.
        let mut pending_at_kill = ops.len();
        loop {
            let mut pending = 0;
            for (a, op) in ops {
                if api.operation(a, op).await["done"] != true {
                    pending += 1;
                }
            }
            if pending == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{pending} operations still not done after 10 minutes"
            );
            if let (Some(at), Some(every)) = (next_kill, kills)
                && (Instant::now() >= at || pending + 3 <= pending_at_kill)
            {
                pending_at_kill = pending;
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                let i = (self.rng % 3) as usize;
                let t = self.procs[i].kill();
                self.kill_times.insert(self.procs[i].log.clone(), t);
                self.killed += 1;
                let name = format!("worker{i}-{}", self.killed);
                self.procs[i] = Proc::start(self.url, "worker", self.dir, &name, ENV);
                self.logs.push(self.procs[i].log.clone());
                next_kill = Some(Instant::now() + every);
            }
            each().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for (a, op) in ops {
            let done = api.operation(a, op).await;
            assert_eq!(done["status"], "COMPLETED", "{done}");
            assert_eq!(
                (
                    done["itemsProcessed"].as_i64(),
                    done["itemsFailed"].as_i64()
                ),
                (Some(4), Some(0)),
                "{done}"
            );
        }
    }
}

/// What one run left: the database, each asset's chunks after the ingestion and after the
/// re-index, the attempts by operation and the number of kills.
struct Run {
    url: String,
    ingested: ChunkSet,
    reindexed: ChunkSet,
    reindex_ops: Vec<String>,
    by_op: BTreeMap<String, Vec<Attempt>>,
    killed: usize,
}

/// Runs the 20 assets on a fresh database with three worker processes, then re-indexes them
/// with another chunking; with `kills`, workers are killed at random throughout (see
/// [`Workers::drive`]). With `calm` (an undisturbed run's chunk sets), every look during the
/// re-index checks that each asset serves one generation whole.
async fn ingest(dir: &Path, kills: Option<Duration>, calm: Option<&Run>) -> Run {
    std::fs::create_dir_all(dir).unwrap();
    let url = throwaway_database().await.expect("a PostgreSQL database");
    let api_proc = Proc::start(&url, "api", dir, "api", ENV);
    let api = Api::new(api_proc.address().await);
    let procs: Vec<Proc> = (0..3)
        .map(|i| Proc::start(&url, "worker", dir, &format!("worker{i}-0"), ENV))
        .collect();
    for w in &procs {
        w.address().await;
    }
    let logs = procs.iter().map(|w| w.log.clone()).collect();
    let rng = 0x9E37_79B9_7F4A_7C15u64
        ^ SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
    let mut workers = Workers {
        url: &url,
        dir,
        procs,
        logs,
        kill_times: BTreeMap::new(),
        killed: 0,
        rng,
    };

    let mut ops = Vec::new();
    for (i, docs) in cluster::corpus(ASSETS, 4).iter().enumerate() {
        ops.push(
            api.create(&format!("asset-{i:02}"), docs, Value::Null)
                .await,
        );
    }
    workers.drive(&api, &ops, kills, || async {}).await;
    let ingested = chunk_set(&url).await;

    let mut reindexes = Vec::new();
    for (a, _) in &ops {
        let change = json!({"embedding": {"chunkSize": 64, "chunkOverlap": 8}});
        let (status, body) = api
            .call(
                reqwest::Method::PATCH,
                &format!("/assets/{a}"),
                Some(change),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["operation"]["type"], "REINDEX", "{body}");
        reindexes.push((
            a.clone(),
            body["operation"]["id"].as_str().unwrap().to_owned(),
        ));
    }
    let url_ref = &url;
    workers
        .drive(&api, &reindexes, kills, || async move {
            let Some(calm) = calm else { return };
            for (asset, set) in chunk_set(url_ref).await {
                let whole = keys(&set) == keys(&calm.ingested[&asset])
                    || keys(&set) == keys(&calm.reindexed[&asset]);
                assert!(whole, "{asset} serves one generation whole, old or new");
            }
        })
        .await;
    let reindexed = chunk_set(&url).await;
    let reindex_ops: Vec<String> = reindexes.into_iter().map(|(_, op)| op).collect();
    let (logs, kill_times, killed) = (workers.logs, workers.kill_times, workers.killed);
    drop(workers.procs);
    let mut by_op = BTreeMap::new();
    for log in &logs {
        attempts(log, kill_times.get(log).copied(), &mut by_op);
    }
    Run {
        url,
        ingested,
        reindexed,
        reindex_ops,
        by_op,
        killed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_killed_at_random_lose_nothing_and_never_share_an_operation() {
    let dir = tempfile::tempdir().unwrap();
    let calm = ingest(&dir.path().join("calm"), None, None).await;
    let run = ingest(
        &dir.path().join("faults"),
        Some(Duration::from_secs(3)),
        Some(&calm),
    )
    .await;
    let (url, by_op, killed) = (run.url.clone(), &run.by_op, run.killed);
    assert!(
        killed >= 3,
        "the run was long enough to kill workers ({killed} kills)"
    );

    for (calm, faulty) in [
        (&calm.ingested, &run.ingested),
        (&calm.reindexed, &run.reindexed),
    ] {
        assert_eq!(calm.len(), ASSETS);
        assert_eq!(
            faulty.keys().collect::<Vec<_>>(),
            calm.keys().collect::<Vec<_>>()
        );
        for (asset, expected) in calm {
            let got = &faulty[asset];
            assert_eq!(
                keys(got),
                keys(expected),
                "{asset}: the same chunks, none missing, none duplicated"
            );
            for ((k, a), (_, b)) in got.iter().zip(expected) {
                assert!(cosine(a, b) > 0.9999, "{asset} {k:?}: the same vector");
            }
        }
    }
    for (asset, set) in &calm.reindexed {
        assert_ne!(
            keys(set),
            keys(&calm.ingested[asset]),
            "{asset}: chunked anew"
        );
    }

    // Attempts at one operation never overlap: each starts after the previous one ended.
    let mut retried = 0;
    for (op, list) in by_op {
        let mut list: Vec<&Attempt> = list.iter().collect();
        list.sort_by_key(|a| a.start);
        retried += usize::from(list.len() > 1);
        for pair in list.windows(2) {
            let end = pair[0].end.unwrap_or_else(|| {
                panic!("{op}: an attempt in {} never ended", pair[0].log.display())
            });
            assert!(
                end <= pair[1].start,
                "{op}: two attempts at once: {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
    }
    assert!(
        retried >= 1,
        "some operation was interrupted and taken over ({killed} kills)"
    );
    let rebuilt = run
        .reindex_ops
        .iter()
        .filter(|op| by_op.get(*op).is_some_and(|l| l.len() > 1))
        .count();
    assert!(
        rebuilt >= 1,
        "some re-index was killed mid-build and resumed ({killed} kills)"
    );
    eprintln!(
        "{killed} kills, {retried} operations taken over by another worker ({rebuilt} of them \
         re-indexes, which resumed their generation), chunk sets equal"
    );

    // Cross-process wake-up and cancel: idle workers are woken by NOTIFY (their poll is 5 s), and
    // a cancel sent to the API process stops the work in a worker process within 2 s.
    let dir = dir.path().join("cancel");
    std::fs::create_dir_all(&dir).unwrap();
    let api_proc = Proc::start(&url, "api", &dir, "api", ENV);
    let api = Api::new(api_proc.address().await);
    let worker = Proc::start(&url, "worker", &dir, "worker", ENV);
    worker.address().await;
    let long: Vec<(String, String)> = cluster::corpus(ASSETS, 4)
        .concat()
        .into_iter()
        .enumerate()
        .map(|(i, (_, t))| (format!("long-{i}"), t))
        .collect();
    let (a, op) = api.create("long", &long, Value::Null).await;
    let created = Instant::now();
    let running = loop {
        let now = api.operation(&a, &op).await;
        if now["itemsProcessed"].as_i64().unwrap() >= 1 {
            break now;
        }
        assert!(created.elapsed() < Duration::from_secs(60), "{now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let queued = Duration::from_millis(
        (running["startedAt"].as_i64().unwrap() - running["createdAt"].as_i64().unwrap()) as u64,
    );
    assert!(
        queued < Duration::from_millis(1000),
        "claimed {queued:?} after creation: NOTIFY woke the idle worker"
    );
    let asked = Instant::now();
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            &format!("/assets/{a}/operations/{op}:cancel"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let done = api.wait_done(&a, &op).await;
    let took = asked.elapsed();
    assert_eq!(done["status"], "CANCELLED", "{done}");
    assert!(
        took <= Duration::from_secs(2),
        "the cancel took {took:?} to stop the worker"
    );
    assert!(
        done["itemsProcessed"].as_i64().unwrap() < long.len() as i64,
        "{done}"
    );
    eprintln!("claimed {queued:?} after creation; cancel stopped the worker process in {took:?}");
}
