//! Finish: documents that vanished from the source are swept (only after a complete traversal),
//! the stage times reported, and the outcome summarised from the failures.

use super::plan::Plan;
use crate::sources::Stages;
use crate::worker::{Job, JobError};
use ragd_core::domain::Outcome;
use std::collections::HashSet;

/// Removes what vanished from the source (of the targeted documents, if targeted).
pub(super) async fn sweep_vanished(
    job: &Job,
    plan: &Plan,
    present: &HashSet<String>,
) -> Result<(), JobError> {
    let vanished: Vec<_> = plan
        .stored
        .values()
        .filter(|d| {
            !present.contains(&d.source_key)
                && plan.target_ids.as_ref().is_none_or(|t| t.contains(&d.id))
        })
        .map(|d| d.id)
        .collect();
    if !vanished.is_empty()
        && !job
            .store
            .document_delete(&job.claim.lease, &vanished)
            .await?
    {
        return Err(JobError::LeaseLost);
    }
    Ok(())
}

/// The run's time per stage, to the stage metrics and the log.
pub(super) fn report_stages(stages: &Stages) {
    let times = stages.snapshot();
    for (stage, d) in times {
        metrics::counter!("ragd_ingest_stage_microseconds_total", "stage" => stage)
            .increment(d.as_micros() as u64);
    }
    tracing::info!(stages = ?times, "ingestion stages");
}

/// The operation fails when every document failed; otherwise it completes and names the failures
/// `(document, reason)`: the first few, and when there are more, how many failed for each reason.
pub(super) fn summarise(total: i64, failures: &[(String, String)]) -> Outcome {
    if failures.is_empty() {
        return Outcome::Completed {
            error_message: None,
        };
    }
    const SHOWN: usize = 5;
    let listed: Vec<String> = failures
        .iter()
        .take(SHOWN)
        .map(|(name, reason)| format!("{name}: {reason}"))
        .collect();
    let mut message = format!(
        "{} of {} documents failed: {}",
        failures.len(),
        total,
        listed.join("; ")
    );
    if failures.len() > SHOWN {
        let mut by_reason: Vec<(&str, usize)> = Vec::new();
        for (_, reason) in failures {
            match by_reason.iter_mut().find(|(r, _)| r == reason) {
                Some(entry) => entry.1 += 1,
                None => by_reason.push((reason, 1)),
            }
        }
        by_reason.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        let counts: Vec<String> = by_reason
            .iter()
            .take(SHOWN)
            .map(|(r, n)| format!("{n} × {r}"))
            .collect();
        let others = by_reason.len().saturating_sub(SHOWN);
        message.push_str(&format!(
            "; and {} more. By reason: {}",
            failures.len() - SHOWN,
            counts.join("; ")
        ));
        if others > 0 {
            message.push_str(&format!("; {others} other reasons"));
        }
    }
    if failures.len() as i64 == total {
        Outcome::Failed {
            error_message: message,
        }
    } else {
        Outcome::Completed {
            error_message: Some(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_failures_are_counted_by_reason() {
        let mut failures: Vec<(String, String)> = (0..7)
            .map(|i| (format!("p{i}"), "HTTP 404".to_owned()))
            .collect();
        failures.extend((0..3).map(|i| (format!("q{i}"), "timed out".to_owned())));
        let Outcome::Completed {
            error_message: Some(m),
        } = summarise(20, &failures)
        else {
            panic!("completes")
        };
        assert!(
            m.starts_with("10 of 20 documents failed: p0: HTTP 404; "),
            "{m}"
        );
        assert!(
            m.ends_with("; and 5 more. By reason: 7 × HTTP 404; 3 × timed out"),
            "{m}"
        );
        let Outcome::Failed { error_message } = summarise(2, &failures[..2]) else {
            panic!("fails")
        };
        assert_eq!(
            error_message,
            "2 of 2 documents failed: p0: HTTP 404; p1: HTTP 404"
        );
    }
}
