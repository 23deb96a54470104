//! Reading manifests as `kubectl apply -f` does: files, folders (their `.yaml`, `.yml` and
//! `.json` files, in name order, not recursing) and `-` for stdin; several YAML documents to a
//! file; a `List` unrolled into its items. Everything is parsed before anything is sent, so a
//! bad document applies nothing.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::discovery::Resource;
use super::failure::Failure;

/// One object read from a manifest, and where it came from (for messages).
#[derive(Debug, Clone)]
pub struct Manifest {
    pub object: Value,
    pub origin: String,
}

impl Manifest {
    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.object["metadata"]["namespace"].as_str()
    }

    /// The served resource for this object's apiVersion and kind.
    pub fn resource(&self, served: &[Resource]) -> Result<Resource, Failure> {
        let api_version = self.object["apiVersion"].as_str().unwrap_or_default();
        let kind = self.object["kind"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let found = served.iter().find(|r| r.group == group && r.kind == kind);
        let mut resource = found.cloned().ok_or_else(|| {
            Failure::Usage(format!(
                "{}: resource mapping not found for name: \"{}\" kind: \"{kind}\" in version \"{api_version}\"",
                self.origin,
                self.name()
            ))
        })?;
        resource.version = version.to_owned();
        Ok(resource)
    }
}

/// Every object in `sources` (paths, or `-` for stdin).
pub fn read_all(sources: &[PathBuf]) -> Result<Vec<Manifest>, Failure> {
    if sources.is_empty() {
        return Err(Failure::Usage("must specify one of -f and -k".into()));
    }
    let mut manifests = Vec::new();
    for source in sources {
        if source.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Failure::Usage(format!("reading stdin: {e}")))?;
            manifests.extend(parse(&text, "STDIN")?);
        } else if source.is_dir() {
            for file in folder_files(source)? {
                manifests.extend(read_file(&file)?);
            }
        } else {
            manifests.extend(read_file(source)?);
        }
    }
    Ok(manifests)
}

fn read_file(path: &Path) -> Result<Vec<Manifest>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::Usage(format!(
            "the path \"{}\" cannot be read: {e}",
            path.display()
        ))
    })?;
    parse(&text, &path.display().to_string())
}

fn folder_files(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::Usage(format!("reading folder {}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The objects in one text of YAML documents (JSON is YAML).
pub fn parse(text: &str, origin: &str) -> Result<Vec<Manifest>, Failure> {
    let mut out = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = serde::Deserialize::deserialize(document).map_err(|e| {
            Failure::Usage(format!(
                "error parsing {origin}: document {}: {e}",
                index + 1
            ))
        })?;
        let value: Value = value;
        if value.is_null() {
            continue;
        }
        let at = format!("{origin} (document {})", index + 1);
        if value["kind"] == "List" {
            for item in value["items"].as_array().into_iter().flatten() {
                out.push(checked(item.clone(), &at)?);
            }
        } else {
            out.push(checked(value, &at)?);
        }
    }
    Ok(out)
}

/// kubectl's client-side check: apiVersion, kind and a name must be set.
fn checked(object: Value, origin: &str) -> Result<Manifest, Failure> {
    let mut missing = Vec::new();
    if !object.is_object() {
        return Err(Failure::Usage(format!(
            "error validating {origin}: not an object"
        )));
    }
    for (field, value) in [
        ("apiVersion", &object["apiVersion"]),
        ("kind", &object["kind"]),
        ("metadata.name", &object["metadata"]["name"]),
    ] {
        if value.as_str().is_none_or(str::is_empty) {
            missing.push(format!("{field} not set"));
        }
    }
    if !missing.is_empty() {
        return Err(Failure::Usage(format!(
            "error validating {origin}: [{}]",
            missing.join(", ")
        )));
    }
    Ok(Manifest {
        object,
        origin: origin.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_lists_and_bad_input() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n\
                    apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n";
        let read = parse(text, "f.yaml").unwrap();
        let names: Vec<&str> = read.iter().map(Manifest::name).collect();
        assert_eq!(names, ["a", "b"]);
        let missing = parse("kind: Pod\nmetadata: {}\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            missing,
            "error: error validating p.yaml (document 1): [apiVersion not set, metadata.name not set]"
        );
        let broken = parse("a: [b\n", "x.yaml").unwrap_err().to_string();
        assert!(
            broken.starts_with("error: error parsing x.yaml: document 1:"),
            "{broken}"
        );
    }
}
