//! Label selectors: the string form (`app=web,tier in (a,b),!canary`), the structured
//! `LabelSelector` of specs (`matchLabels` + `matchExpressions`), matching and printing.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use serde_json::Value;

use super::SelectorError;
use super::names::{check_key, check_value};

/// How a requirement compares the label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One requirement of a selector; all must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    /// Sorted and deduplicated; one value for `=`, `!=`, `>`, `<`; none for (`!`)exists.
    pub values: Vec<String>,
}

impl Requirement {
    fn new(
        key: &str,
        operator: Operator,
        mut values: Vec<String>,
    ) -> Result<Requirement, SelectorError> {
        check_key(key)?;
        let bad = |reason: &str| SelectorError::InvalidRequirement {
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                return Err(bad("values must be non-empty for In and NotIn"));
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return Err(bad("values must be empty for Exists and DoesNotExist"));
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 || values.iter().any(|v| v.parse::<i64>().is_err()) {
                    return Err(bad("> and < need one integer value"));
                }
            }
            _ => {
                for v in &values {
                    check_value(v)?;
                }
            }
        }
        values.sort();
        values.dedup();
        Ok(Requirement {
            key: key.to_owned(),
            operator,
            values,
        })
    }

    /// Whether `labels` satisfy this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let label = labels.get(&self.key);
        let has = |v: &String| self.values.contains(v);
        let number = |v: &str| v.parse::<i64>().ok();
        let bound = self.values.first().and_then(|v| number(v));
        match self.operator {
            Operator::Equals | Operator::In => label.is_some_and(has),
            Operator::NotEquals | Operator::NotIn => !label.is_some_and(has),
            Operator::Exists => label.is_some(),
            Operator::DoesNotExist => label.is_none(),
            Operator::GreaterThan => {
                matches!((label.and_then(|l| number(l)), bound), (Some(l), Some(b)) if l > b)
            }
            Operator::LessThan => {
                matches!((label.and_then(|l| number(l)), bound), (Some(l), Some(b)) if l < b)
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = self.values.first().map(String::as_str).unwrap_or_default();
        let set = self.values.join(",");
        match self.operator {
            Operator::Equals => write!(f, "{}={one}", self.key),
            Operator::NotEquals => write!(f, "{}!={one}", self.key),
            Operator::In => write!(f, "{} in ({set})", self.key),
            Operator::NotIn => write!(f, "{} notin ({set})", self.key),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::GreaterThan => write!(f, "{}>{one}", self.key),
            Operator::LessThan => write!(f, "{}<{one}", self.key),
        }
    }
}

/// A parsed label selector: the AND of its requirements. The default matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses the string form (`?labelSelector=`). Empty or blank text matches everything.
    pub fn parse(text: &str) -> Result<LabelSelector, SelectorError> {
        let requirements = super::label_parse::parse(text)?;
        Ok(LabelSelector::from_requirements(requirements))
    }

    fn from_requirements(mut requirements: Vec<Requirement>) -> LabelSelector {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector { requirements }
    }

    pub(crate) fn requirement(
        key: &str,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Requirement, SelectorError> {
        Requirement::new(key, operator, values)
    }

    /// The selector of a spec (`matchLabels` AND `matchExpressions` with In, NotIn, Exists,
    /// DoesNotExist). An empty one matches everything.
    pub fn from_k8s(selector: &meta::LabelSelector) -> Result<LabelSelector, SelectorError> {
        let mut requirements = Vec::new();
        for (k, v) in selector.match_labels.iter().flatten() {
            requirements.push(Requirement::new(k, Operator::Equals, vec![v.clone()])?);
        }
        for expr in selector.match_expressions.iter().flatten() {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError::InvalidRequirement {
                        key: expr.key.clone(),
                        reason: format!("{other:?} is not a valid label selector operator"),
                    });
                }
            };
            requirements.push(Requirement::new(
                &expr.key,
                operator,
                expr.values.clone().unwrap_or_default(),
            )?);
        }
        Ok(LabelSelector::from_requirements(requirements))
    }

    /// `k1=v1,k2=v2`: what a Service's or ReplicationController's `selector` map means.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Result<LabelSelector, SelectorError> {
        let requirements = labels
            .iter()
            .map(|(k, v)| Requirement::new(k, Operator::Equals, vec![v.clone()]))
            .collect::<Result<_, _>>()?;
        Ok(LabelSelector::from_requirements(requirements))
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// No requirements: matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Matches the object's `metadata.labels` (string values only; none is no labels).
    pub fn matches_object(&self, obj: &Value) -> bool {
        let labels: BTreeMap<String, String> = obj
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        self.matches(&labels)
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}
