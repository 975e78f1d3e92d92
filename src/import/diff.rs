//! Field-level differences between two versions of a record, for the plans that `rota import`
//! and `rota apply` print. Records are compared as JSON documents flattened into dotted paths
//! (`handler.headers.Authorization`); values under a path that looks secret are never shown,
//! and the rest are shown through [`crate::redact::json`].

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::redact::looks_secret;

/// One field that differs.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// Dotted path of the field (`schedule`, `handler.url`, `commands.limits.cpu_seconds`).
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl FieldChange {
    /// Whether the field holds a secret: its values are never printed.
    pub fn is_secret(&self) -> bool {
        self.path.split('.').any(looks_secret)
    }
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |value: &Option<Value>| match value {
            None => "(unset)".to_owned(),
            Some(_) if self.is_secret() => "(secret)".to_owned(),
            // URLs in values lose their passwords and secret query values.
            Some(value) => crate::redact::json(value.clone()).to_string(),
        };
        write!(f, "{}: {} → {}", self.path, show(&self.before), show(&self.after))
    }
}

/// The fields of `after` that differ from `before`, in path order.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let (mut old, mut new) = (BTreeMap::new(), BTreeMap::new());
    flatten("", before, &mut old);
    flatten("", after, &mut new);
    let paths: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    paths
        .into_iter()
        .filter_map(|path| {
            let (was, is) = (old.get(path), new.get(path));
            (was != is).then(|| FieldChange {
                path: path.clone(),
                before: was.cloned(),
                after: is.cloned(),
            })
        })
        .collect()
}

/// Objects become one entry per leaf; arrays, scalars and empty objects are leaves. `null`
/// counts as unset.
fn flatten(prefix: &str, value: &Value, into: &mut BTreeMap<String, Value>) {
    match value {
        Value::Null => {}
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&path, child, into);
            }
        }
        leaf => {
            into.insert(prefix.to_owned(), leaf.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_each_changed_leaf_and_hides_secrets() {
        let before = json!({"schedule": "0 * * * *", "handler": {"type": "http",
            "headers": {"Authorization": "Bearer old"}}, "gone": 1});
        let after = json!({"schedule": "5 * * * *", "handler": {"type": "http",
            "headers": {"Authorization": "Bearer new"}}, "new": [1, 2]});
        let changes: Vec<String> = diff(&before, &after).iter().map(ToString::to_string).collect();
        assert_eq!(
            changes,
            [
                "gone: 1 → (unset)",
                "handler.headers.Authorization: (secret) → (secret)",
                "new: (unset) → [1,2]",
                "schedule: \"0 * * * *\" → \"5 * * * *\"",
            ]
        );
        assert!(diff(&after, &after).is_empty());
    }
}
