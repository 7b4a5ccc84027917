//! A client for OpenAI-compatible `/v1/embeddings` APIs (OpenAI, Azure OpenAI, Voyage, Mistral,
//! Ollama, vLLM, TEI, and ragd itself).
//!
//! - Inputs are split into requests by [`plan_batches`] so that no request exceeds the provider's
//!   limits on inputs or tokens, counting tokens with the model's own tokenizer.
//! - Requests to one (endpoint, key) share a [`Limiter`]: at most `concurrency` in flight, and
//!   the requests and tokens of the last minute within RPM and TPM.
//! - 429, 5xx, timeouts and connection errors are retried with exponential backoff and full
//!   jitter; a `Retry-After` from the provider is honoured as given. Any other 4xx cannot
//!   succeed by retrying and fails at once with the provider's reason (never the key).

use ragd_core::ports::embed::{Embedder, Embeddings};
use ragd_core::{Error, Result};
use serde::Deserialize;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How a model's tokens are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCounter {
    /// OpenAI's `cl100k_base`, used by text-embedding-3-* and ada-002.
    Cl100k,
    /// OpenAI's `o200k_base`.
    O200k,
}

impl TokenCounter {
    pub fn count(self, text: &str) -> usize {
        match self {
            TokenCounter::Cl100k => tiktoken_rs::cl100k_base_singleton()
                .encode_ordinary(text)
                .len(),
            TokenCounter::O200k => tiktoken_rs::o200k_base_singleton()
                .encode_ordinary(text)
                .len(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// Base URL up to and including `/v1` (the client appends `/embeddings`).
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    pub dimensions: usize,
    /// Sent as `dimensions` (models that can shorten their vectors).
    pub request_dimensions: Option<usize>,
    pub max_input_tokens: usize,
    pub counter: TokenCounter,
    pub max_inputs_per_request: usize,
    pub max_tokens_per_request: usize,
    /// Requests in flight at once, for a `Limiter` made for this config alone (tests).
    pub concurrency: usize,
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub timeout: Duration,
}

/// OpenAI's API, the default base URL of the `openai` provider.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Longest one request to a provider may take (embedding or re-ranking).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl RemoteConfig {
    /// OpenAI's documented limits for its embedding models (2,048 inputs and 300,000 tokens per
    /// request, 8,191 tokens per input).
    pub fn openai(base_url: &str, api_key: Option<String>, model: &str, dimensions: usize) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            model: model.to_owned(),
            dimensions,
            request_dimensions: None,
            max_input_tokens: 8191,
            counter: TokenCounter::Cl100k,
            max_inputs_per_request: 2048,
            max_tokens_per_request: 300_000,
            concurrency: 4,
            max_retries: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            timeout: REQUEST_TIMEOUT,
        }
    }
}

/// Splits inputs (given by their token counts, in order) into consecutive requests within both
/// limits. An input alone over `max_tokens` still gets a request of its own.
pub fn plan_batches(
    token_counts: &[usize],
    max_inputs: usize,
    max_tokens: usize,
) -> Vec<Range<usize>> {
    let mut batches = Vec::new();
    let (mut start, mut tokens) = (0, 0);
    for (i, &t) in token_counts.iter().enumerate() {
        if i > start && (i - start == max_inputs || tokens + t > max_tokens) {
            batches.push(start..i);
            (start, tokens) = (i, 0);
        }
        tokens += t;
    }
    if start < token_counts.len() {
        batches.push(start..token_counts.len());
    }
    batches
}

/// Concurrency, RPM and TPM for one (endpoint, key).
pub struct Limiter {
    slots: Semaphore,
    rpm: Option<u32>,
    tpm: Option<u64>,
    window: Mutex<VecDeque<(Instant, u64)>>,
}

impl Limiter {
    pub fn new(concurrency: usize, rpm: Option<u32>, tpm: Option<u64>) -> Self {
        Self {
            slots: Semaphore::new(concurrency.max(1)),
            rpm,
            tpm,
            window: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits for a slot and for room in the last minute's request and token budget.
    pub(crate) async fn acquire(&self, tokens: u64) -> tokio::sync::SemaphorePermit<'_> {
        let permit = self.slots.acquire().await.expect("never closed");
        loop {
            let wait = {
                let mut w = self.window.lock().expect("limiter lock");
                let now = Instant::now();
                while w
                    .front()
                    .is_some_and(|(t, _)| now.duration_since(*t) >= Duration::from_secs(60))
                {
                    w.pop_front();
                }
                let used: u64 = w.iter().map(|(_, n)| n).sum();
                let over_rpm = self.rpm.is_some_and(|r| w.len() as u32 >= r);
                // A request larger than the whole TPM budget goes alone once the window is empty.
                let over_tpm = self.tpm.is_some_and(|t| used + tokens > t && !w.is_empty());
                if !over_rpm && !over_tpm {
                    w.push_back((now, tokens));
                    None
                } else {
                    w.front().map(|(t, _)| {
                        Duration::from_secs(60).saturating_sub(now.duration_since(*t))
                            + Duration::from_millis(5)
                    })
                }
            };
            match wait {
                None => return permit,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }
}

#[derive(Deserialize)]
struct ApiResponse {
    data: Vec<ApiEmbedding>,
}

#[derive(Deserialize)]
struct ApiEmbedding {
    index: usize,
    embedding: Vec<f32>,
}

/// What one attempt at a request came to.
enum Attempt {
    Done(Vec<Vec<f32>>),
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    Fail(String),
}

pub struct RemoteEmbedder {
    config: RemoteConfig,
    http: reqwest::Client,
    limiter: Arc<Limiter>,
}

impl RemoteEmbedder {
    pub fn new(config: RemoteConfig, limiter: Arc<Limiter>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .expect("HTTP client");
        Self {
            config,
            http,
            limiter,
        }
    }

    /// As `new`, sending through the given client (one that guards a tenant's endpoint).
    pub fn with_client(config: RemoteConfig, limiter: Arc<Limiter>, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            limiter,
        }
    }

    fn reason(&self, status: reqwest::StatusCode, body: &str) -> String {
        provider_reason("embedding", status, body, self.config.api_key.as_deref())
    }

    async fn attempt(&self, inputs: &[String]) -> Attempt {
        let mut body = serde_json::json!({"model": self.config.model, "input": inputs, "encoding_format": "float"});
        if let Some(d) = self.config.request_dimensions {
            body["dimensions"] = d.into();
        }
        let mut req = self
            .http
            .post(format!("{}/embeddings", self.config.base_url))
            .json(&body);
        if let Some(k) = &self.config.api_key {
            req = req.bearer_auth(k);
        }
        let res = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    after: None,
                    reason: format!("embedding provider unreachable: {}", without_url(e)),
                };
            }
        };
        let status = res.status();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = match res.text().await {
            Ok(t) => t,
            Err(e) => {
                return Attempt::Retry {
                    after: None,
                    reason: format!("reading the provider's answer failed: {}", without_url(e)),
                };
            }
        };
        if status.is_success() {
            return match serde_json::from_str::<ApiResponse>(&text) {
                Ok(r) => self.vectors(r, inputs.len()),
                Err(e) => Attempt::Fail(format!(
                    "the embedding provider's answer is not an embeddings response: {e}"
                )),
            };
        }
        let reason = self.reason(status, &text);
        if status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error() {
            Attempt::Retry {
                after: retry_after,
                reason,
            }
        } else {
            Attempt::Fail(reason)
        }
    }

    fn vectors(&self, r: ApiResponse, n: usize) -> Attempt {
        if r.data.len() != n {
            return Attempt::Fail(format!(
                "the embedding provider returned {} vectors for {n} inputs",
                r.data.len()
            ));
        }
        let mut out = vec![Vec::new(); n];
        for e in r.data {
            if e.index >= n || e.embedding.len() != self.config.dimensions {
                return Attempt::Fail(format!(
                    "the embedding provider returned a vector of {} dimensions, not {}",
                    e.embedding.len(),
                    self.config.dimensions
                ));
            }
            out[e.index] = e.embedding;
        }
        Attempt::Done(out)
    }

    /// One request with its retries.
    async fn request(&self, inputs: &[String], tokens: u64) -> Result<Vec<Vec<f32>>> {
        let mut backoff = self.config.initial_backoff;
        let mut attempt = 0;
        loop {
            let outcome = {
                let _permit = self.limiter.acquire(tokens).await;
                self.attempt(inputs).await
            };
            match outcome {
                Attempt::Done(v) => return Ok(v),
                Attempt::Fail(reason) => return Err(Error::Upstream(reason)),
                Attempt::Retry { after, reason } => {
                    attempt += 1;
                    if attempt > self.config.max_retries {
                        return Err(Error::Upstream(format!(
                            "{reason} (gave up after {} retries)",
                            self.config.max_retries
                        )));
                    }
                    // The provider's Retry-After wins; otherwise exponential backoff, full jitter.
                    let delay =
                        after.unwrap_or_else(|| backoff.mul_f64(0.5 + rand::random::<f64>() * 0.5));
                    tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, %reason, "embedding request will be retried");
                    tokio::time::sleep(delay).await;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                }
            }
        }
    }
}

/// A provider's reason from an error body (`{"error": {"message"}}`, `{"message"}` or
/// `{"detail"}`), with anything that looks like the key removed.
pub(crate) fn provider_reason(
    what: &str,
    status: reqwest::StatusCode,
    body: &str,
    key: Option<&str>,
) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let msg = parsed
        .as_ref()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or(v["error"].as_str())
                .or(v["message"].as_str())
                .or(v["detail"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.chars().take(300).collect());
    let msg = match key {
        Some(k) if !k.is_empty() => msg.replace(k, "***"),
        _ => msg,
    };
    format!("{what} provider answered {status}: {msg}")
}

/// A transport error's text without its URL (which may carry credentials in a query string).
pub(crate) fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

/// `Retry-After` as seconds (the form embedding APIs use); HTTP dates are not honoured.
fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(300.0)))
}

#[async_trait::async_trait]
impl Embedder for RemoteEmbedder {
    fn model_name(&self) -> &str {
        &self.config.model
    }

    fn dimensions(&self) -> usize {
        self.config.dimensions
    }

    fn max_input_tokens(&self) -> usize {
        self.config.max_input_tokens
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Embeddings> {
        let counts: Vec<usize> = texts.iter().map(|t| self.config.counter.count(t)).collect();
        if let Some(i) = counts
            .iter()
            .position(|&c| c > self.config.max_input_tokens)
        {
            return Err(Error::invalid(
                format!("input[{i}]"),
                format!(
                    "has {} tokens; {} takes at most {}",
                    counts[i], self.config.model, self.config.max_input_tokens
                ),
            ));
        }
        let batches = plan_batches(
            &counts,
            self.config.max_inputs_per_request,
            self.config.max_tokens_per_request,
        );
        let results = futures::future::join_all(batches.iter().map(|r| {
            let tokens = counts[r.clone()].iter().sum::<usize>() as u64;
            self.request(&texts[r.clone()], tokens)
        }))
        .await;
        let mut vectors = Vec::with_capacity(texts.len());
        for r in results {
            vectors.extend(r?);
        }
        Ok(Embeddings {
            vectors,
            token_counts: counts,
        })
    }

    async fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self.config.counter.count(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_both_limits_and_keep_order() {
        assert_eq!(plan_batches(&[], 3, 10), Vec::<Range<usize>>::new());
        assert_eq!(
            plan_batches(&[1, 1, 1, 1, 1, 1, 1], 3, 100),
            vec![0..3, 3..6, 6..7]
        );
        assert_eq!(plan_batches(&[4, 4, 4, 4], 10, 8), vec![0..2, 2..4]);
        assert_eq!(
            plan_batches(&[20, 1, 1], 10, 8),
            vec![0..1, 1..3],
            "an oversized input goes alone"
        );
        // Exhaustive check on a pseudo-random sequence.
        let counts: Vec<usize> = (0..500).map(|i| (i * 7919) % 97 + 1).collect();
        let batches = plan_batches(&counts, 16, 400);
        assert_eq!(batches.iter().map(|r| r.len()).sum::<usize>(), 500);
        for w in batches.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
        for r in &batches {
            assert!(r.len() <= 16 && counts[r.clone()].iter().sum::<usize>() <= 400);
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn tiktoken_counts_openai_tokens() {
        assert_eq!(TokenCounter::Cl100k.count("hello world"), 2);
        assert_eq!(TokenCounter::O200k.count("hello world"), 2);
    }
}
