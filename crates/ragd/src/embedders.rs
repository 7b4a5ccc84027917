//! The embedders this process has (the local model, an OpenAI-compatible endpoint, tenants' LLM
//! configs), its re-rankers (the server's `/rerank` endpoint, tenants' LLM configs) and `ragd model
//! fetch`, which installs the local model by running the setup scripts
//! compiled into the binary (`scripts/model/`), so an installed `ragd` needs no source checkout.

use anyhow::{Context, bail};
use std::path::Path;

const FETCH_SH: &str = include_str!("../../../scripts/model/fetch.sh");
const BUILD_ONNX_PY: &str = include_str!("../../../scripts/model/build_onnx.py");

/// Installs the model into `dest` unless it is already there. Progress goes to stderr.
pub fn fetch(dest: &Path) -> anyhow::Result<()> {
    if ragd_embed::ModelFiles::new(dest).check().is_ok() {
        return Ok(());
    }
    let work = tempfile::tempdir().context("creating a temporary directory")?;
    std::fs::write(work.path().join("fetch.sh"), FETCH_SH)?;
    std::fs::write(work.path().join("build_onnx.py"), BUILD_ONNX_PY)?;
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let status = std::process::Command::new("bash")
        .arg(work.path().join("fetch.sh"))
        .arg(dest)
        .status()
        .context("running bash to fetch the model")?;
    if !status.success() {
        bail!("fetching the local model failed ({status}); see the messages above");
    }
    ragd_embed::ModelFiles::new(dest).check()?;
    Ok(())
}

/// The server's OpenAI-compatible endpoint (OpenAI itself, or vLLM, TEI, Ollama, Azure, … speaking
/// its `/v1/embeddings`), which serves the catalog's `openai` models.
#[derive(Debug, Clone)]
pub struct OpenAiEndpoint {
    pub base_url: String,
    pub api_key: Option<String>,
    /// Requests in flight at once across this process.
    pub concurrency: usize,
}

/// The server's re-ranking endpoint (ragd): any service speaking Cohere's or Jina's `/rerank`.
#[derive(Debug, Clone)]
pub struct RerankEndpoint {
    pub base_url: String,
    pub api_key: Option<String>,
}

/// The models this process can embed with: the local model (shared with `/v1/embeddings`, loaded
/// on first use), the remote models of a configured OpenAI-compatible endpoint or of a tenant's
/// LLM config, and the tokenizers that chunking counts with.
pub struct Models {
    pub local: ragd_embed::LocalEmbedder,
    pub files: ragd_embed::ModelFiles,
    pub catalog: std::sync::Arc<ragd_core::embedding::ModelCatalog>,
    local_sizer: std::sync::OnceLock<Result<ragd_pipeline::Sizer, String>>,
    /// The catalog's `openai` models on the configured endpoint, by model name, built once (each
    /// holds its HTTP connection pool); empty when no endpoint is configured.
    remote:
        std::collections::HashMap<&'static str, std::sync::Arc<ragd_embed::remote::RemoteEmbedder>>,
    /// Clients of tenants' LLM configs by config id: the config's version, one rate limiter for
    /// its key, and an embedder per model. A changed config replaces its entry.
    tenant: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, TenantClients>>,
    /// Private hosts a tenant's `baseUrl` may name (`web_allow_hosts`).
    allow_hosts: Vec<String>,
    /// The server's re-ranking endpoint (ragd), when one is configured.
    reranker: Option<ragd_embed::rerank::RerankClient>,
}

struct TenantClients {
    version: i64,
    http: reqwest::Client,
    limiter: std::sync::Arc<ragd_embed::remote::Limiter>,
    embedders:
        std::collections::HashMap<&'static str, std::sync::Arc<ragd_embed::remote::RemoteEmbedder>>,
}

impl Models {
    pub fn new(
        local: ragd_embed::LocalEmbedder,
        files: ragd_embed::ModelFiles,
        catalog: std::sync::Arc<ragd_core::embedding::ModelCatalog>,
        openai: Option<OpenAiEndpoint>,
        rerank: Option<RerankEndpoint>,
        allow_hosts: Vec<String>,
    ) -> Self {
        let remote = match openai {
            None => Default::default(),
            Some(endpoint) => {
                // One limiter for the endpoint: its rate limits are per key, not per model.
                let limiter = std::sync::Arc::new(ragd_embed::remote::Limiter::new(
                    endpoint.concurrency,
                    None,
                    None,
                ));
                let config = |m: &ragd_core::embedding::EmbeddingModel| {
                    ragd_embed::remote::RemoteConfig::openai(
                        &endpoint.base_url,
                        endpoint.api_key.clone(),
                        m.model,
                        m.dimensions as usize,
                    )
                };
                catalog
                    .models()
                    .iter()
                    .filter(|m| m.provider == "openai")
                    .map(|m| {
                        (
                            m.model,
                            std::sync::Arc::new(ragd_embed::remote::RemoteEmbedder::new(
                                config(m),
                                limiter.clone(),
                            )),
                        )
                    })
                    .collect()
            }
        };
        Self {
            local,
            files,
            catalog,
            local_sizer: std::sync::OnceLock::new(),
            remote,
            tenant: Default::default(),
            allow_hosts,
            reranker: rerank.map(|r| ragd_embed::rerank::RerankClient {
                base_url: r.base_url,
                api_key: r.api_key,
                http: reqwest::Client::builder()
                    .timeout(ragd_embed::remote::REQUEST_TIMEOUT)
                    .build()
                    .expect("HTTP client"),
                limiter: std::sync::Arc::new(ragd_embed::remote::Limiter::new(16, None, None)),
            }),
        }
    }

    /// The embedder of `model` through a tenant's endpoint, built once per config version.
    fn tenant_embedder(
        &self,
        m: &ragd_core::embedding::EmbeddingModel,
        endpoint: &ragd_core::ports::embed::ProviderEndpoint,
    ) -> Result<std::sync::Arc<dyn ragd_core::ports::embed::Embedder>, String> {
        let base = endpoint
            .base_url
            .as_deref()
            .unwrap_or(ragd_embed::remote::OPENAI_BASE_URL);
        let config = ragd_embed::remote::RemoteConfig::openai(
            base,
            endpoint.api_key.clone(),
            m.model,
            m.dimensions as usize,
        );
        self.with_tenant(endpoint, base, |clients| {
            let embedder = clients.embedders.entry(m.model).or_insert_with(|| {
                std::sync::Arc::new(ragd_embed::remote::RemoteEmbedder::with_client(
                    config,
                    clients.limiter.clone(),
                    clients.http.clone(),
                ))
            });
            embedder.clone() as std::sync::Arc<dyn ragd_core::ports::embed::Embedder>
        })
    }

    /// `f` on the clients of a tenant's endpoint at `base` (its HTTP client guarded against
    /// private addresses, one limiter for its key), made anew when the config changed.
    fn with_tenant<R>(
        &self,
        endpoint: &ragd_core::ports::embed::ProviderEndpoint,
        base: &str,
        f: impl FnOnce(&mut TenantClients) -> R,
    ) -> Result<R, String> {
        let mut tenant = self.tenant.lock().unwrap_or_else(|p| p.into_inner());
        let clients = match tenant.get_mut(&endpoint.config_id) {
            Some(c) if c.version == endpoint.version => c,
            _ => {
                let url = url::Url::parse(base)
                    .map_err(|_| format!("the LLM config's baseUrl {base} is not a URL"))?;
                let http = ragd_engine::net::guarded_api_client(
                    &self.allow_hosts,
                    &url,
                    ragd_embed::remote::REQUEST_TIMEOUT,
                )?;
                let limiter = std::sync::Arc::new(ragd_embed::remote::Limiter::new(
                    endpoint.max_concurrency.unwrap_or(4),
                    endpoint.requests_per_minute,
                    endpoint.tokens_per_minute,
                ));
                let fresh = TenantClients {
                    version: endpoint.version,
                    http,
                    limiter,
                    embedders: Default::default(),
                };
                tenant.insert(endpoint.config_id, fresh);
                tenant.get_mut(&endpoint.config_id).expect("just inserted")
            }
        };
        Ok(f(clients))
    }
}

#[async_trait::async_trait]
impl ragd_core::ports::rerank::Rerankers for Models {
    async fn rerank(
        &self,
        endpoint: Option<&ragd_core::ports::embed::ProviderEndpoint>,
        provider: Option<&str>,
        model: &str,
        query: &str,
        documents: &[String],
    ) -> Result<Vec<f64>, String> {
        let client = match endpoint {
            Some(endpoint) => {
                let default = ragd_core::search::RERANK_PROVIDERS
                    .iter()
                    .find(|(p, _)| Some(*p) == provider)
                    .map(|(_, base)| *base)
                    .ok_or("the LLM config is not of a re-ranking provider")?;
                let base = endpoint.base_url.as_deref().unwrap_or(default);
                self.with_tenant(endpoint, base, |clients| ragd_embed::rerank::RerankClient {
                    base_url: base.to_owned(),
                    api_key: endpoint.api_key.clone(),
                    http: clients.http.clone(),
                    limiter: clients.limiter.clone(),
                })?
            }
            None => self.reranker.clone().ok_or(
                "no re-ranker is configured on this server (set RAGD_RERANK_BASE_URL, or name an LLM config of a re-ranking provider in rerank.llmConfigId)",
            )?,
        };
        client.rerank(model, query, documents).await
    }
}

impl ragd_core::ports::embed::EmbedderRegistry for Models {
    fn embedder(
        &self,
        spec: &ragd_core::domain::EmbeddingSpec,
        endpoint: Option<&ragd_core::ports::embed::ProviderEndpoint>,
    ) -> Result<std::sync::Arc<dyn ragd_core::ports::embed::Embedder>, String> {
        if let Some(endpoint) = endpoint {
            let m = self
                .catalog
                .models()
                .iter()
                .find(|m| m.provider == spec.provider && m.model == spec.model && !m.local);
            return self.tenant_embedder(
                m.ok_or_else(|| format!("unknown model {}/{}", spec.provider, spec.model))?,
                endpoint,
            );
        }
        match spec.provider.as_str() {
            ragd_core::embedding::LOCAL_PROVIDER => {
                self.files.check().map_err(|e| e.to_string())?;
                Ok(std::sync::Arc::new(self.local.clone()))
            }
            "openai" if !self.remote.is_empty() => match self.remote.get(spec.model.as_str()) {
                Some(embedder) => Ok(embedder.clone()),
                None => Err(format!("unknown model {}", spec.model)),
            },
            other => Err(format!(
                "the {other} embedding provider is not configured on this server (create an LLM config with your key and set the asset's embeddingLlmConfigId, or set RAGD_OPENAI_API_KEY / RAGD_OPENAI_BASE_URL on the server); use the local model"
            )),
        }
    }
}

impl ragd_engine::models::ModelRegistry for Models {
    fn sizer(
        &self,
        spec: &ragd_core::domain::EmbeddingSpec,
    ) -> Result<ragd_pipeline::Sizer, String> {
        match spec.provider.as_str() {
            ragd_core::embedding::LOCAL_PROVIDER => self
                .local_sizer
                .get_or_init(|| {
                    self.files.check().map_err(|e| e.to_string())?;
                    ragd_pipeline::Sizer::from_tokenizer_file(
                        &self.files.dir.join("tokenizer.json"),
                    )
                })
                .clone(),
            _ => Ok(ragd_pipeline::Sizer::Cl100k),
        }
    }

    fn price(&self, spec: &ragd_core::domain::EmbeddingSpec) -> f64 {
        self.catalog.price(&spec.provider, &spec.model)
    }
}
