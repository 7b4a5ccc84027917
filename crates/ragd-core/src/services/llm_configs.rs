//! **(ragd)** LLM configs: a tenant's own endpoint and key for a remote embedding provider, named
//! by an asset's `embeddingLlmConfigId`, or for a re-ranking provider, named by a search's
//! `rerank.llmConfigId`. The key is sealed at rest and opened only to call the provider.

use super::Services;
use crate::domain::{Asset, Caller, LlmConfig};
use crate::error::{Error, Result, Violations};
use crate::page::{Page, PageRequest, SortKey};
use crate::ports::embed::ProviderEndpoint;
use crate::ports::store::Store;
use crate::secrets::SecretBox;
use crate::time::now_ms;
use uuid::Uuid;

/// A new config, or the changes to one (`None`: keep; `base_url` `Some(None)`: the provider's own).
#[derive(Debug, Clone, Default)]
pub struct LlmConfigRequest {
    pub display_name: Option<String>,
    pub provider: Option<String>,
    pub base_url: Option<Option<String>>,
    pub api_key: Option<String>,
    pub requests_per_minute: Option<Option<i64>>,
    pub tokens_per_minute: Option<Option<i64>>,
    pub max_concurrency: Option<Option<i64>>,
}

impl Services {
    pub async fn llm_config_create(
        &self,
        caller: &Caller,
        req: LlmConfigRequest,
    ) -> Result<LlmConfig> {
        let now = now_ms();
        let mut v = Violations::default();
        let provider = req.provider.clone().unwrap_or_default();
        let providers = crate::embedding::config_providers();
        if !providers.contains(&provider.as_str()) {
            v.add(
                "provider",
                format!(
                    "must be a remote embedding or re-ranking provider: one of {}",
                    providers.join(", ")
                ),
            );
        }
        let mut config = LlmConfig {
            id: Uuid::now_v7(),
            tenant: caller.tenant.clone(),
            display_name: provider.clone(),
            provider,
            base_url: None,
            api_key_sealed: None,
            requests_per_minute: None,
            tokens_per_minute: None,
            max_concurrency: None,
            created_by: caller.subject.clone(),
            created_at: now,
            modified_at: now,
        };
        self.apply(&mut config, req, &mut v);
        v.into_result()?;
        self.store.llm_config_put(&config).await?;
        Ok(config)
    }

    pub async fn llm_config_get(&self, caller: &Caller, id: Uuid) -> Result<LlmConfig> {
        self.store
            .llm_config_get(&caller.tenant, id)
            .await?
            .ok_or(Error::NotFound("LLM config"))
    }

    /// The tenant's configs, newest first.
    pub async fn llm_config_list(
        &self,
        caller: &Caller,
        page: PageRequest,
    ) -> Result<Page<LlmConfig>> {
        let all = self.store.llm_config_list(&caller.tenant).await?;
        let key = |c: &LlmConfig| SortKey {
            created_at: c.created_at,
            id: c.id,
        };
        let total = all.len() as i64;
        let rest: Vec<LlmConfig> = all
            .into_iter()
            .filter(|c| {
                page.after
                    .is_none_or(|a| (c.created_at, c.id) < (a.created_at, a.id))
            })
            .skip(page.skip as usize)
            .take(page.size.get() as usize + 1)
            .collect();
        Ok(Page::from_rows(rest, page.size, total, key))
    }

    pub async fn llm_config_patch(
        &self,
        caller: &Caller,
        id: Uuid,
        req: LlmConfigRequest,
    ) -> Result<LlmConfig> {
        let mut config = self.llm_config_get(caller, id).await?;
        let mut v = Violations::default();
        if req.provider.as_ref().is_some_and(|p| *p != config.provider) {
            v.add("provider", "cannot change; create another config");
        }
        self.apply(&mut config, req, &mut v);
        v.into_result()?;
        config.modified_at = now_ms().max(config.modified_at + 1);
        self.store.llm_config_put(&config).await?;
        Ok(config)
    }

    /// Deletes a config no asset names (400 naming the rule otherwise).
    pub async fn llm_config_delete(&self, caller: &Caller, id: Uuid) -> Result<()> {
        self.llm_config_get(caller, id).await?;
        if !self.store.llm_config_delete(&caller.tenant, id).await? {
            return Err(Error::bad_request(
                "the LLM config is named by assets (their embeddingLlmConfigId); change or delete them first",
            ));
        }
        Ok(())
    }

    /// Checks an asset's `embeddingLlmConfigId`: a config of the tenant for the asset's provider.
    pub(crate) async fn check_llm_config(
        &self,
        caller: &Caller,
        id: &str,
        provider: &str,
    ) -> Result<()> {
        let field = "embeddingLlmConfigId";
        let id = Uuid::parse_str(id)
            .map_err(|_| Error::invalid(field, "is not the id of an LLM config"))?;
        let config = self
            .store
            .llm_config_get(&caller.tenant, id)
            .await?
            .ok_or_else(|| Error::invalid(field, "no such LLM config"))?;
        if config.provider != provider {
            return Err(Error::invalid(
                field,
                format!(
                    "the LLM config is for {}, the asset embeds with {provider}",
                    config.provider
                ),
            ));
        }
        Ok(())
    }

    /// Validates and applies the given fields; the key is sealed under the config's id.
    fn apply(&self, c: &mut LlmConfig, req: LlmConfigRequest, v: &mut Violations) {
        if let Some(name) = req.display_name {
            match name.trim() {
                "" => v.add("displayName", "must not be empty"),
                n if n.chars().count() > 200 => {
                    v.add("displayName", "must be at most 200 characters")
                }
                n => c.display_name = n.to_owned(),
            }
        }
        if let Some(url) = req.base_url {
            match url.as_deref().map(url::Url::parse) {
                None => c.base_url = None,
                Some(Ok(u))
                    if matches!(u.scheme(), "http" | "https")
                        && u.host().is_some()
                        && u.username().is_empty() =>
                {
                    c.base_url = Some(u.as_str().trim_end_matches('/').to_owned())
                }
                Some(_) => v.add(
                    "baseUrl",
                    "must be an absolute http or https URL without credentials",
                ),
            }
        }
        if let Some(key) = req.api_key {
            if key.trim().is_empty() || key.len() > 4096 {
                v.add("apiKey", "must be a non-empty key of at most 4,096 bytes");
            } else {
                c.api_key_sealed = Some(self.secrets.seal(key.as_bytes(), c.id.as_bytes()));
            }
        }
        for (field, value, target) in [
            (
                "requestsPerMinute",
                req.requests_per_minute,
                &mut c.requests_per_minute,
            ),
            (
                "tokensPerMinute",
                req.tokens_per_minute,
                &mut c.tokens_per_minute,
            ),
            (
                "maxConcurrency",
                req.max_concurrency,
                &mut c.max_concurrency,
            ),
        ] {
            match value {
                Some(Some(n)) if n < 1 => v.add(field, "must be a positive integer"),
                Some(n) => *target = n,
                None => {}
            }
        }
        if c.max_concurrency.is_some_and(|n| n > 64) {
            v.add("maxConcurrency", "must be at most 64");
        }
    }
}

/// The endpoint an asset embeds through: its LLM config with the key opened, or `None` when it
/// names none (the server's own endpoint then serves it). The error is for the operation or the
/// client, never with the key.
pub async fn asset_endpoint(
    store: &dyn Store,
    secrets: &SecretBox,
    asset: &Asset,
) -> std::result::Result<Option<ProviderEndpoint>, String> {
    let Some(id) = asset.embedding_llm_config_id.as_deref() else {
        return Ok(None);
    };
    let gone = || {
        format!("the asset's LLM config {id} no longer exists; set another embeddingLlmConfigId")
    };
    let id = Uuid::parse_str(id).map_err(|_| gone())?;
    let config = store
        .llm_config_get(&asset.tenant, id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(gone)?;
    config_endpoint(secrets, config).map(Some)
}

/// A config as an endpoint, its key opened; the error never holds the key.
pub fn config_endpoint(
    secrets: &SecretBox,
    config: LlmConfig,
) -> std::result::Result<ProviderEndpoint, String> {
    let api_key = match &config.api_key_sealed {
        Some(sealed) => {
            let plain = secrets.open(sealed, config.id.as_bytes()).map_err(
                |_| "the LLM config's key cannot be opened with this server's secret key",
            )?;
            Some(String::from_utf8(plain).map_err(|_| "the LLM config's key is not text")?)
        }
        None => None,
    };
    Ok(ProviderEndpoint {
        config_id: config.id,
        version: config.modified_at,
        base_url: config.base_url,
        api_key,
        requests_per_minute: config
            .requests_per_minute
            .map(|n| n.clamp(1, u32::MAX as i64) as u32),
        tokens_per_minute: config.tokens_per_minute.map(|n| n.max(1) as u64),
        max_concurrency: config.max_concurrency.map(|n| n.clamp(1, 64) as usize),
    })
}
