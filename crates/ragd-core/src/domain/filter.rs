//! Filters on document metadata, in the shape of OpenAI's vector-store search filters: parsed
//! with every problem named by its path, and evaluated against a document's metadata.

use super::*;
use crate::error::Violations;
use serde_json::Value;

/// Deepest nesting of compound filters.
pub const MAX_FILTER_DEPTH: usize = 8;
/// Most comparisons and compounds in one filter.
pub const MAX_FILTER_NODES: usize = 64;
/// Most values of an `in` or `nin` list.
pub const MAX_FILTER_VALUES: usize = 256;

/// A comparison's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Nin,
}

/// A filter on a document's metadata.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataFilter {
    /// `{"type": "eq", "key": K, "value": V}`. A missing key never matches, except `ne` and
    /// `nin`, which it satisfies. Against a string-list value, `eq` means "holds V", `in` "holds
    /// one of them" (and `ne`, `nin` their negations).
    Compare {
        op: CompareOp,
        key: String,
        value: Value,
    },
    /// `{"type": "and", "filters": [...]}`.
    And(Vec<MetadataFilter>),
    /// `{"type": "or", "filters": [...]}`.
    Or(Vec<MetadataFilter>),
    /// `{"type": "not", "filter": F}` (ragd).
    Not(Box<MetadataFilter>),
}

impl MetadataFilter {
    /// Parses a filter, naming every problem by its path under `at` (for example
    /// `filter.metadata.filters[1].type`).
    pub fn parse(v: &Value, at: &str) -> crate::Result<Self> {
        let mut problems = Violations::default();
        let mut nodes = 0;
        let filter = parse_node(v, at, 1, &mut nodes, &mut problems);
        if nodes > MAX_FILTER_NODES {
            problems.add(
                at,
                format!("holds more than {MAX_FILTER_NODES} comparisons and compounds"),
            );
        }
        problems.into_result()?;
        Ok(filter.expect("a filter without problems parsed"))
    }

    /// Whether a document with this metadata passes.
    pub fn matches(&self, m: &Metadata) -> bool {
        match self {
            Self::And(all) => all.iter().all(|f| f.matches(m)),
            Self::Or(any) => any.iter().any(|f| f.matches(m)),
            Self::Not(f) => !f.matches(m),
            Self::Compare { op, key, value } => compare(*op, m.get(key), value),
        }
    }
}

fn parse_node(
    v: &Value,
    at: &str,
    depth: usize,
    nodes: &mut usize,
    problems: &mut Violations,
) -> Option<MetadataFilter> {
    *nodes += 1;
    let Some(obj) = v.as_object() else {
        problems.add(at, "must be an object with a type");
        return None;
    };
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    let allowed: &[&str] = match kind {
        "and" | "or" => &["type", "filters"],
        "not" => &["type", "filter"],
        _ => &["type", "key", "value"],
    };
    for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
        problems.add(format!("{at}.{key}"), "is not a member of this filter");
    }
    if matches!(kind, "and" | "or" | "not") && depth >= MAX_FILTER_DEPTH {
        problems.add(at, format!("nests more than {MAX_FILTER_DEPTH} levels"));
        return None;
    }
    match kind {
        "and" | "or" => {
            let Some(list) = obj.get("filters").and_then(Value::as_array) else {
                problems.add(format!("{at}.filters"), "must be a list of filters");
                return None;
            };
            if list.is_empty() {
                problems.add(format!("{at}.filters"), "must hold at least one filter");
            }
            let parsed: Vec<_> = list
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    parse_node(f, &format!("{at}.filters[{i}]"), depth + 1, nodes, problems)
                })
                .collect();
            let parsed: Option<Vec<_>> = parsed.into_iter().collect();
            parsed.map(|p| {
                if kind == "and" {
                    MetadataFilter::And(p)
                } else {
                    MetadataFilter::Or(p)
                }
            })
        }
        "not" => match obj.get("filter") {
            Some(f) => parse_node(f, &format!("{at}.filter"), depth + 1, nodes, problems)
                .map(|f| MetadataFilter::Not(Box::new(f))),
            None => {
                problems.add(format!("{at}.filter"), "is required");
                None
            }
        },
        _ => parse_comparison(obj, kind, at, problems),
    }
}

fn parse_comparison(
    obj: &serde_json::Map<String, Value>,
    kind: &str,
    at: &str,
    problems: &mut Violations,
) -> Option<MetadataFilter> {
    let op = match kind {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "gt" => CompareOp::Gt,
        "gte" => CompareOp::Gte,
        "lt" => CompareOp::Lt,
        "lte" => CompareOp::Lte,
        "in" => CompareOp::In,
        "nin" => CompareOp::Nin,
        _ => {
            problems.add(
                format!("{at}.type"),
                "must be one of eq, ne, gt, gte, lt, lte, in, nin, and, or, not",
            );
            return None;
        }
    };
    let key = match obj.get("key").and_then(Value::as_str) {
        Some(k) if !k.is_empty() && k.chars().count() <= MAX_METADATA_KEY_BYTES => k.to_owned(),
        _ => {
            problems.add(
                format!("{at}.key"),
                "must be a metadata key (a non-empty string)",
            );
            return None;
        }
    };
    let value = obj.get("value").cloned().unwrap_or(Value::Null);
    let scalar = |v: &Value| v.is_string() || v.is_number() || v.is_boolean();
    let ok = match op {
        CompareOp::Eq | CompareOp::Ne => scalar(&value),
        CompareOp::Gt | CompareOp::Gte | CompareOp::Lt | CompareOp::Lte => {
            value.is_string() || value.is_number()
        }
        CompareOp::In | CompareOp::Nin => value
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.len() <= MAX_FILTER_VALUES && a.iter().all(scalar)),
    };
    if !ok {
        let expected = match op {
            CompareOp::Eq | CompareOp::Ne => "must be a string, number or boolean".to_owned(),
            CompareOp::In | CompareOp::Nin => {
                format!("must be a list of 1 to {MAX_FILTER_VALUES} strings, numbers or booleans")
            }
            _ => "must be a string or a number".to_owned(),
        };
        problems.add(format!("{at}.value"), expected);
        return None;
    }
    Some(MetadataFilter::Compare { op, key, value })
}

/// One comparison against a document's value (`None`: the key is missing).
fn compare(op: CompareOp, have: Option<&Value>, want: &Value) -> bool {
    let positive = match op {
        CompareOp::Ne => CompareOp::Eq,
        CompareOp::Nin => CompareOp::In,
        other => other,
    };
    let holds = match have {
        None | Some(Value::Null) => false,
        // A list value: the comparison holds for one of its items.
        Some(Value::Array(items)) => items.iter().any(|i| holds(positive, i, want)),
        Some(v) => holds(positive, v, want),
    };
    if matches!(op, CompareOp::Ne | CompareOp::Nin) {
        !holds
    } else {
        holds
    }
}

/// A positive comparison (`eq`, `in`, or an ordering) of one scalar.
fn holds(op: CompareOp, have: &Value, want: &Value) -> bool {
    use std::cmp::Ordering;
    let order = || match (have, want) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op {
        CompareOp::Eq => order().map_or(have == want, |o| o == Ordering::Equal),
        CompareOp::In => want
            .as_array()
            .is_some_and(|w| w.iter().any(|w| holds(CompareOp::Eq, have, w))),
        CompareOp::Gt => order() == Some(Ordering::Greater),
        CompareOp::Gte => matches!(order(), Some(Ordering::Greater | Ordering::Equal)),
        CompareOp::Lt => order() == Some(Ordering::Less),
        CompareOp::Lte => matches!(order(), Some(Ordering::Less | Ordering::Equal)),
        CompareOp::Ne | CompareOp::Nin => unreachable!("negations are taken apart by compare"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(v: Value) -> MetadataFilter {
        MetadataFilter::parse(&v, "filter.metadata").unwrap()
    }

    fn meta(v: Value) -> Metadata {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn every_operator_with_missing_keys_and_lists() {
        let m = meta(
            json!({"team": "coast", "year": 2024, "ok": true, "tags": ["sea", "moon"], "at": "2026-01-02T00:00:00Z"}),
        );
        let cases = [
            (json!({"type": "eq", "key": "team", "value": "coast"}), true),
            (json!({"type": "eq", "key": "year", "value": 2024.0}), true),
            (json!({"type": "eq", "key": "ok", "value": true}), true),
            (json!({"type": "eq", "key": "tags", "value": "moon"}), true),
            (json!({"type": "eq", "key": "year", "value": "2024"}), false),
            (
                json!({"type": "ne", "key": "team", "value": "coast"}),
                false,
            ),
            (json!({"type": "ne", "key": "tags", "value": "sun"}), true),
            (json!({"type": "ne", "key": "missing", "value": 1}), true),
            (json!({"type": "eq", "key": "missing", "value": 1}), false),
            (json!({"type": "gt", "key": "year", "value": 2023}), true),
            (json!({"type": "gte", "key": "year", "value": 2024}), true),
            (json!({"type": "lt", "key": "year", "value": 2024}), false),
            (json!({"type": "lte", "key": "year", "value": 2024}), true),
            (
                json!({"type": "gt", "key": "at", "value": "2026-01-01T00:00:00Z"}),
                true,
            ),
            (json!({"type": "gt", "key": "team", "value": 3}), false),
            (json!({"type": "lt", "key": "missing", "value": 3}), false),
            (
                json!({"type": "in", "key": "team", "value": ["coast", "harbour"]}),
                true,
            ),
            (
                json!({"type": "in", "key": "tags", "value": ["sun", "sea"]}),
                true,
            ),
            (
                json!({"type": "nin", "key": "team", "value": ["harbour"]}),
                true,
            ),
            (
                json!({"type": "nin", "key": "tags", "value": ["sea"]}),
                false,
            ),
            (
                json!({"type": "nin", "key": "missing", "value": ["x"]}),
                true,
            ),
        ];
        for (f, want) in cases {
            assert_eq!(filter(f.clone()).matches(&m), want, "{f}");
        }
    }

    #[test]
    fn compounds_nest() {
        let m = meta(json!({"team": "coast", "year": 2024}));
        let f = filter(json!({"type": "and", "filters": [
            {"type": "or", "filters": [
                {"type": "eq", "key": "team", "value": "harbour"},
                {"type": "gte", "key": "year", "value": 2020},
            ]},
            {"type": "not", "filter": {"type": "eq", "key": "team", "value": "harbour"}},
        ]}));
        assert!(f.matches(&m));
        assert!(!f.matches(&meta(json!({"team": "harbour", "year": 2024}))));
        assert!(!f.matches(&Metadata::new()));
    }

    #[test]
    fn problems_are_named_by_their_path() {
        let bad = json!({"type": "and", "filters": [
            {"type": "eq", "key": "a", "value": 1},
            {"type": "between", "key": "a", "value": 1},
            {"type": "in", "key": "a", "value": []},
            {"type": "or", "filters": [{"type": "gt", "key": "", "value": 1, "extra": 2}]},
            "x",
        ]});
        let Err(crate::Error::Validation { errors, .. }) =
            MetadataFilter::parse(&bad, "filter.metadata")
        else {
            panic!("a 400")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "filter.metadata.filters[1].type",
                "filter.metadata.filters[2].value",
                "filter.metadata.filters[3].filters[0].extra",
                "filter.metadata.filters[3].filters[0].key",
                "filter.metadata.filters[4]",
            ]
        );
        let mut deep = json!({"type": "eq", "key": "a", "value": 1});
        for _ in 0..MAX_FILTER_DEPTH {
            deep = json!({"type": "not", "filter": deep});
        }
        assert!(MetadataFilter::parse(&deep, "f").is_err());
    }
}
