//! The re-ranking seam (ragd): a cross-encoder that scores how well each candidate answers the
//! query, through a provider's `/rerank` API or in process.

use super::embed::ProviderEndpoint;

/// The re-rankers this process can call.
#[async_trait::async_trait]
pub trait Rerankers: Send + Sync + 'static {
    /// The relevance of each document to the query by `model`, in the documents' order (higher
    /// is better) — through a tenant's endpoint (an LLM config of a re-ranking provider) when one
    /// is given, else the server's — or why it could not be had.
    async fn rerank(
        &self,
        endpoint: Option<&ProviderEndpoint>,
        provider: Option<&str>,
        model: &str,
        query: &str,
        documents: &[String],
    ) -> std::result::Result<Vec<f64>, String>;
}
