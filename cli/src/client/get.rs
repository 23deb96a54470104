//! `skiff get TYPE [NAME...] [-l SEL] [-A] [-o wide|yaml|json|name]`: tables from the server's
//! Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), as kubectl asks
//! for them, and objects as YAML, JSON or names.

use clap::Args;
use http::Request;
use serde_json::Value;

use super::discovery::{self, Resource};
use super::failure::Failure;
use super::printer::{self, Output};
use super::session::{Session, build};

/// The media type of a server-side table, with JSON as the fallback.
pub const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

#[derive(Args, Debug)]
pub struct GetArgs {
    /// The resource type: plural, singular, short name or kind (pods, deploy, Service...);
    /// several types separated by commas.
    pub resource: String,
    /// Names of objects to get (default: all).
    pub names: Vec<String>,
    /// Only objects whose labels match this selector (e.g. app=web,tier!=db).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// List across every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Output format (default: the server's table).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Output>,
}

pub async fn run(session: &Session, args: &GetArgs) -> Result<(), Failure> {
    let words: Vec<&str> = args.resource.split(',').filter(|w| !w.is_empty()).collect();
    if words.len() > 1 && !args.names.is_empty() {
        return Err(Failure::Usage(
            "there is no need to specify a resource type as a separate argument when passing several types with names".into(),
        ));
    }
    let served = discovery::served(session).await?;
    for (index, word) in words.iter().enumerate() {
        if index > 0 && args.output.is_none_or(|o| o == Output::Wide) {
            println!();
        }
        get_one(session, args, discovery::pick(&served, word)?).await?;
    }
    Ok(())
}

/// `get` of one resource type.
async fn get_one(session: &Session, args: &GetArgs, resource: Resource) -> Result<(), Failure> {
    // Cluster-scoped resources have no namespace to name, in paths, columns or messages.
    let namespace =
        (!args.all_namespaces && resource.namespaced).then_some(session.namespace.as_str());
    let with_namespace_column = args.all_namespaces && resource.namespaced;
    let query = args
        .selector
        .as_deref()
        .map(|s| format!("?labelSelector={}", encode(s)))
        .unwrap_or_default();
    let paths: Vec<String> = if args.names.is_empty() {
        vec![format!("{}{query}", resource.collection_path(namespace))]
    } else {
        let ns = namespace.unwrap_or(&session.namespace);
        args.names
            .iter()
            .map(|n| resource.object_path(ns, n))
            .collect()
    };
    match args.output {
        None | Some(Output::Wide) => {
            let wide = args.output == Some(Output::Wide);
            print_tables(session, &paths, wide, with_namespace_column, namespace).await
        }
        Some(format) => {
            let objects = fetch_objects(session, &resource, &paths).await?;
            print_objects(&resource, objects, format, args.names.len() == 1)
        }
    }
}

/// Asks for the server's Table at each path and prints the rows as one table.
async fn print_tables(
    session: &Session,
    paths: &[String],
    wide: bool,
    with_namespace_column: bool,
    namespace: Option<&str>,
) -> Result<(), Failure> {
    let mut merged: Option<Value> = None;
    for path in paths {
        let request = build(
            Request::get(path).header(http::header::ACCEPT, TABLE_ACCEPT),
            Vec::new(),
        )?;
        let answer = session.send_json(request).await?;
        match &mut merged {
            None => merged = Some(answer),
            Some(table) => {
                let rows = answer["rows"].as_array().cloned().unwrap_or_default();
                if let Some(all) = table["rows"].as_array_mut() {
                    all.extend(rows);
                }
            }
        }
    }
    let table = merged.unwrap_or(Value::Null);
    if table["rows"].as_array().is_none_or(Vec::is_empty) {
        match namespace {
            Some(ns) => eprintln!("No resources found in {ns} namespace."),
            None => eprintln!("No resources found"),
        }
        return Ok(());
    }
    print!("{}", printer::table(&table, wide, with_namespace_column));
    Ok(())
}

/// The objects at `paths` (lists flattened), each with its apiVersion and kind.
pub async fn fetch_objects(
    session: &Session,
    resource: &Resource,
    paths: &[String],
) -> Result<Vec<Value>, Failure> {
    let mut objects = Vec::new();
    for path in paths {
        let answer = session.get_json(path).await?;
        match answer["items"].as_array() {
            Some(items) => objects.extend(items.iter().cloned()),
            None => objects.push(answer),
        }
    }
    Ok(objects
        .into_iter()
        .map(|o| printer::with_type(o, resource))
        .collect())
}

fn print_objects(
    resource: &Resource,
    objects: Vec<Value>,
    format: Output,
    single: bool,
) -> Result<(), Failure> {
    if format == Output::Name {
        for object in &objects {
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            println!("{}", resource.object_name(name));
        }
        return Ok(());
    }
    let whole = match (single, objects.len()) {
        (true, 1) => objects.into_iter().next().unwrap_or(Value::Null),
        _ => printer::list_of(objects),
    };
    print!("{}", printer::object_text(&whole, format)?);
    Ok(())
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn selectors_are_percent_encoded() {
        assert_eq!(
            super::encode("app=web,tier!=db"),
            "app%3Dweb%2Ctier%21%3Ddb"
        );
        assert_eq!(super::encode("a in (x, y)"), "a%20in%20%28x%2C%20y%29");
    }
}
