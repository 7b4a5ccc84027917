//! The OAuth providers of the configuration (`[oauth.<SOURCE_TYPE>]`), speaking OAuth 2.0 with
//! the `oauth2` crate: authorization URLs with a CSRF state and a PKCE (S256) challenge, the
//! code exchange and token refreshes at the token endpoint (client secret by HTTP Basic).
//! Endpoints come from a preset (GitHub, Google, Notion), are given, or are discovered from an
//! OpenID Connect discovery document.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use ragd_core::domain::SourceType;
use ragd_core::ports::oauth::{AuthorizeStart, OAuthClients, OAuthTokens};
use ragd_core::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tokio::sync::OnceCell;

/// One provider, as configured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthProviderConfig {
    /// `github`, `google` or `notion`: their endpoints, scopes and extra parameters.
    pub preset: Option<String>,
    /// An OpenID Connect discovery document (`…/.well-known/openid-configuration`).
    pub discovery_url: Option<String>,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Scopes to ask for (default: the preset's).
    pub scopes: Vec<String>,
}

/// A preset's endpoints, default scopes and extra authorization parameters.
struct Preset {
    authorize: &'static str,
    token: &'static str,
    scopes: &'static [&'static str],
    extra: &'static [(&'static str, &'static str)],
}

fn preset(name: &str) -> Option<Preset> {
    Some(match name {
        "github" => Preset {
            authorize: "https://github.com/login/oauth/authorize",
            token: "https://github.com/login/oauth/access_token",
            scopes: &["repo"],
            extra: &[],
        },
        "google" => Preset {
            authorize: "https://accounts.google.com/o/oauth2/v2/auth",
            token: "https://oauth2.googleapis.com/token",
            scopes: &["https://www.googleapis.com/auth/drive.readonly"],
            // A refresh token is only issued for offline access, and again only with consent.
            extra: &[("access_type", "offline"), ("prompt", "consent")],
        },
        "notion" => Preset {
            authorize: "https://api.notion.com/v1/oauth/authorize",
            token: "https://api.notion.com/v1/oauth/token",
            scopes: &[],
            extra: &[("owner", "user")],
        },
        _ => return None,
    })
}

struct Provider {
    config: OAuthProviderConfig,
    /// (authorization URL, token URL), resolved on first use (discovery is a request).
    endpoints: OnceCell<(String, String)>,
}

pub struct OAuthProviders {
    providers: HashMap<SourceType, Provider>,
    http: reqwest::Client,
    callback: String,
}

impl OAuthProviders {
    /// Checks the configuration: known source types, known presets, endpoints given one way.
    pub fn new(
        config: &HashMap<String, OAuthProviderConfig>,
        callback: String,
    ) -> anyhow::Result<Self> {
        let mut providers = HashMap::new();
        for (name, c) in config {
            let t = SourceType::parse(name)
                .ok_or_else(|| anyhow::anyhow!("oauth.{name}: not a source type"))?;
            if let Some(p) = &c.preset
                && preset(p).is_none()
            {
                anyhow::bail!("oauth.{name}.preset: {p:?} is not github, google or notion");
            }
            let given = c.authorization_url.is_some() && c.token_url.is_some();
            if c.preset.is_none() && c.discovery_url.is_none() && !given {
                anyhow::bail!(
                    "oauth.{name}: give a preset, a discovery_url, or authorization_url and token_url"
                );
            }
            if c.client_id.is_empty() {
                anyhow::bail!("oauth.{name}.client_id is required");
            }
            providers.insert(
                t,
                Provider {
                    config: c.clone(),
                    endpoints: OnceCell::new(),
                },
            );
        }
        // The token endpoint's answer is what counts; a redirect there is not followed.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| anyhow::anyhow!("building the OAuth HTTP client: {e}"))?;
        Ok(Self {
            providers,
            http,
            callback,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    fn provider(&self, t: SourceType) -> Result<&Provider> {
        self.providers.get(&t).ok_or_else(|| {
            Error::invalid(
                "sourceType",
                format!("no OAuth provider is configured for {t}"),
            )
        })
    }

    async fn endpoints(&self, p: &Provider) -> Result<(String, String)> {
        let c = &p.config;
        p.endpoints
            .get_or_try_init(|| async {
                if let (Some(a), Some(t)) = (&c.authorization_url, &c.token_url) {
                    return Ok((a.clone(), t.clone()));
                }
                if let Some(url) = &c.discovery_url {
                    #[derive(Deserialize)]
                    struct Discovery {
                        authorization_endpoint: String,
                        token_endpoint: String,
                    }
                    let unreachable = |e: reqwest::Error| {
                        Error::Unavailable(format!(
                            "the OAuth discovery document {url} could not be read: {e}"
                        ))
                    };
                    let d: Discovery = self
                        .http
                        .get(url)
                        .send()
                        .await
                        .and_then(|r| r.error_for_status())
                        .map_err(unreachable)?
                        .json()
                        .await
                        .map_err(unreachable)?;
                    return Ok((d.authorization_endpoint, d.token_endpoint));
                }
                let p =
                    preset(c.preset.as_deref().unwrap_or_default()).expect("checked at start-up");
                Ok((p.authorize.to_owned(), p.token.to_owned()))
            })
            .await
            .cloned()
    }

    async fn client(
        &self,
        p: &Provider,
    ) -> Result<
        oauth2::Client<
            oauth2::basic::BasicErrorResponse,
            oauth2::basic::BasicTokenResponse,
            oauth2::basic::BasicTokenIntrospectionResponse,
            oauth2::StandardRevocableToken,
            oauth2::basic::BasicRevocationErrorResponse,
            oauth2::EndpointSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
    > {
        let (auth, token) = self.endpoints(p).await?;
        let bad = |what: &str, e: oauth2::url::ParseError| {
            Error::Unavailable(format!("the OAuth {what} URL is invalid: {e}"))
        };
        let mut client = BasicClient::new(ClientId::new(p.config.client_id.clone()))
            .set_auth_uri(AuthUrl::new(auth).map_err(|e| bad("authorization", e))?)
            .set_token_uri(TokenUrl::new(token).map_err(|e| bad("token", e))?)
            .set_redirect_uri(
                RedirectUrl::new(self.callback.clone()).map_err(|e| bad("callback", e))?,
            );
        if let Some(secret) = &p.config.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        Ok(client)
    }
}

/// Tokens as ragd keeps them.
fn tokens(t: &oauth2::basic::BasicTokenResponse) -> OAuthTokens {
    OAuthTokens {
        access_token: t.access_token().secret().clone(),
        refresh_token: t.refresh_token().map(|r| r.secret().clone()),
        token_type: "Bearer".to_owned(),
        expires_at: t
            .expires_in()
            .map(|d| ragd_core::time::now_ms() + d.as_millis() as i64),
    }
}

/// The provider's refusal (its `error` and description) as `Upstream`; transport trouble as
/// `Unavailable`. Neither carries a token or the client secret.
fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, oauth2::basic::BasicErrorResponse>,
) -> Error {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let mut reason = r.error().to_string();
            if let Some(d) = r.error_description() {
                reason.push_str(": ");
                reason.push_str(d);
            }
            Error::Upstream(reason)
        }
        RequestTokenError::Request(e) => {
            Error::Unavailable(format!("the OAuth provider could not be reached: {e}"))
        }
        RequestTokenError::Parse(e, _) => Error::Upstream(format!(
            "the OAuth provider's answer is not a token response: {e}"
        )),
        RequestTokenError::Other(e) => Error::Upstream(e),
    }
}

#[async_trait::async_trait]
impl OAuthClients for OAuthProviders {
    fn configured(&self, source_type: SourceType) -> bool {
        self.providers.contains_key(&source_type)
    }

    async fn authorize(&self, source_type: SourceType) -> Result<AuthorizeStart> {
        let p = self.provider(source_type)?;
        let client = self.client(p).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let defaults = p.config.preset.as_deref().and_then(preset);
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge);
        let scopes: Vec<String> = if p.config.scopes.is_empty() {
            defaults
                .as_ref()
                .map(|d| d.scopes.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default()
        } else {
            p.config.scopes.clone()
        };
        request = request.add_scopes(scopes.into_iter().map(Scope::new));
        for (k, v) in defaults.as_ref().map(|d| d.extra).unwrap_or_default() {
            request = request.add_extra_param(*k, *v);
        }
        let (url, state) = request.url();
        Ok(AuthorizeStart {
            url: url.to_string(),
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    async fn exchange(
        &self,
        source_type: SourceType,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<OAuthTokens> {
        let client = self.client(self.provider(source_type)?).await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok(tokens(&response))
    }

    async fn refresh(&self, source_type: SourceType, refresh_token: &str) -> Result<OAuthTokens> {
        let client = self.client(self.provider(source_type)?).await?;
        let response = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok(tokens(&response))
    }
}
