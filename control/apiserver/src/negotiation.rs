//! The `Accept` header read as kube-apiserver's `NegotiateMediaTypeOptions` reads it: the
//! clauses by `q` (then a concrete type before a wildcard), each tried against JSON, YAML and
//! protobuf in that order, the first one whose media type and `as`/`g`/`v` transformation this
//! server can answer wins. Pure: no request, no I/O.
//!
//! Transformations (`AllowsMediaTypeTransform`): `as=Table` in JSON or YAML, and
//! `as=PartialObjectMetadata` / `as=PartialObjectMetadataList` in any of the three, both only
//! with `g=meta.k8s.io` and `v=v1` or `v=v1beta1`. A clause asking for anything else is
//! skipped, so `application/json;as=Foo;g=meta.k8s.io;v=v1,application/json` is plain JSON.

/// The `as=` transformations this server makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transform {
    Table,
    /// `PartialObjectMetadata`: an object's `metadata` alone.
    Metadata,
    /// `PartialObjectMetadataList`: a list of them.
    MetadataList,
}

/// The `meta.k8s.io` version of a transformation's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaVersion {
    V1,
    V1beta1,
}

impl MetaVersion {
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`.
    pub fn api_version(self) -> &'static str {
        match self {
            MetaVersion::V1 => "meta.k8s.io/v1",
            MetaVersion::V1beta1 => "meta.k8s.io/v1beta1",
        }
    }
}

/// What the client accepts: protobuf or JSON (YAML is answered as JSON), and the
/// transformation, if it asked for one this server makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Choice {
    pub(crate) protobuf: bool,
    pub(crate) transform: Option<(Transform, MetaVersion)>,
}

impl Choice {
    /// Plain JSON, the default.
    pub(crate) const JSON: Choice = Choice {
        protobuf: false,
        transform: None,
    };
}

/// The media types this server encodes, in kube-apiserver's order of preference.
const SERIALIZERS: [(&str, &str); 3] = [
    ("application", "json"),
    ("application", "yaml"),
    ("application", "vnd.kubernetes.protobuf"),
];

/// The `406` message kube-apiserver sends when no clause can be answered.
pub(crate) const NOT_ACCEPTABLE: &str = "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf";

/// One clause of `Accept`: `type/subtype;param=value;...`.
struct Clause<'a> {
    media_type: &'a str,
    subtype: &'a str,
    q: f32,
    params: Vec<(&'a str, &'a str)>,
}

fn parse(accept: &str) -> Vec<Clause<'_>> {
    let mut clauses: Vec<Clause<'_>> = accept
        .split(',')
        .filter_map(|clause| {
            let mut parts = clause.split(';').map(str::trim);
            let (media_type, subtype) = parts.next()?.split_once('/')?;
            let params: Vec<(&str, &str)> = parts
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.trim(), v.trim()))
                .collect();
            let q = params
                .iter()
                .find(|(k, _)| *k == "q")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(1.0);
            Some(Clause {
                media_type,
                subtype,
                q,
                params,
            })
        })
        .collect();
    // goautoneg's order: by q, then a concrete type and subtype before a wildcard (stable).
    clauses.sort_by(|a, b| {
        b.q.total_cmp(&a.q)
            .then((a.media_type == "*").cmp(&(b.media_type == "*")))
            .then((a.subtype == "*").cmp(&(b.subtype == "*")))
    });
    clauses
}

/// What `clause` asks to be converted to: `None` for no `as`/`g`/`v`, `Some(None)` for a
/// conversion this server does not make into `subtype`.
fn conversion(clause: &Clause<'_>, subtype: &str) -> Option<Option<(Transform, MetaVersion)>> {
    let param = |name: &str| {
        clause
            .params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    };
    let (kind, group, version) = (param("as"), param("g"), param("v"));
    if kind.is_none() && group.is_none() && version.is_none() {
        return None;
    }
    let version = match (group, version) {
        (Some("meta.k8s.io"), Some("v1")) => MetaVersion::V1,
        (Some("meta.k8s.io"), Some("v1beta1")) => MetaVersion::V1beta1,
        _ => return Some(None),
    };
    let transform = match kind {
        Some("Table") if subtype == "json" || subtype == "yaml" => Transform::Table,
        Some("PartialObjectMetadata") => Transform::Metadata,
        Some("PartialObjectMetadataList") => Transform::MetadataList,
        _ => return Some(None),
    };
    Some(Some((transform, version)))
}

/// The answer `accept` asks for: JSON for an empty (or unparsable) header, as
/// kube-apiserver's default; `None` (406) when the header names media types and none of its
/// clauses can be answered (`text/html` alone, or a transformation this server does not make).
pub(crate) fn choose(accept: &str) -> Option<Choice> {
    let json = Choice::JSON;
    let clauses = parse(accept);
    for clause in &clauses {
        for (media_type, subtype) in SERIALIZERS {
            let matches = (clause.media_type == media_type
                && (clause.subtype == subtype || clause.subtype == "*"))
                || (clause.media_type == "*" && clause.subtype == "*");
            if !matches {
                continue;
            }
            let protobuf = subtype == "vnd.kubernetes.protobuf";
            match conversion(clause, subtype) {
                None => return Some(Choice { protobuf, ..json }),
                Some(Some(transform)) => {
                    return Some(Choice {
                        protobuf,
                        transform: Some(transform),
                    });
                }
                Some(None) => {}
            }
        }
    }
    clauses.is_empty().then_some(json)
}

#[cfg(test)]
#[path = "negotiation_tests.rs"]
mod tests;
