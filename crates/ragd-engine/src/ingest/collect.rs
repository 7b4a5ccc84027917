//! Collect: the source lists the asset's documents (a crawl fetches and parses as it goes); a
//! targeted update keeps only its targets, and what the traversal left out is recorded.

use super::plan::Plan;
use crate::sources::{Context, Source, SourceDoc};
use crate::worker::JobError;
use ragd_core::domain::Document;

/// The documents to process, in the listing's order, and whether the whole source was seen.
pub(super) async fn collect(
    cx: &Context<'_>,
    source: &dyn Source,
    plan: &Plan,
) -> Result<(Vec<SourceDoc>, bool), JobError> {
    let (job, asset, lease) = (cx.job, &cx.job.claim.asset, &cx.job.claim.lease);
    let collected = source.collect(cx).await?;
    let docs: Vec<SourceDoc> = collected
        .docs
        .into_iter()
        .filter(|d| {
            plan.target_ids
                .as_ref()
                .is_none_or(|t| t.contains(&Document::id_for(asset.id, &d.key)))
        })
        .collect();
    job.update(|c| {
        c.items_total = docs.len() as i64;
        c.items_excluded = collected.excluded.len() as i64;
    });
    if !collected.excluded.is_empty()
        && !job
            .store
            .operation_exclusions(lease, &collected.excluded)
            .await?
    {
        return Err(JobError::LeaseLost);
    }
    job.checkpoint().await?;
    Ok((docs, collected.complete))
}
