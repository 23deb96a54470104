//! README's "A tour", run as written: every `skiff` line of its code block, in order, against
//! the shared `skiff up` (the example guest's path swapped for the suite's build), and its
//! `curl` as a GET of the URL `skiff run` printed. So the tour cannot drift from what works.

use std::path::PathBuf;

use anyhow::{Context, ensure};

use crate::support::{Skiff, guest, poll};

/// Where the guests the README names are built.
const GUESTS: &str = "examples-wasm/target/wasm32-wasip2/release/";

/// The lines of the README's tour block.
fn tour_lines() -> anyhow::Result<Vec<String>> {
    let readme = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = std::fs::read_to_string(&readme)?;
    let section = text
        .split("\n## A tour\n")
        .nth(1)
        .context("README has no \"## A tour\" section")?;
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .context("the tour has no sh block")?;
    Ok(block.lines().map(str::to_owned).collect())
}

pub async fn readme_tour(skiff: &Skiff) -> anyhow::Result<()> {
    let mut url = None;
    let mut ran = 0;
    for line in tour_lines()? {
        let command = line.split(" #").next().unwrap_or_default().trim();
        if let Some(path) = command.strip_prefix("curl ") {
            let url: &String = url
                .as_ref()
                .context("curl before skiff run printed a URL")?;
            let path = format!("/{}", path.rsplit_once('/').map_or("", |(_, p)| p));
            // The node's proxy learns the Service's endpoints a moment after Available.
            poll("the tour's curl answers 200", || async {
                let addr = url.trim_start_matches("http://").parse()?;
                Ok(skiff_tests::http_get(addr, &path).await.is_ok())
            })
            .await?;
            continue;
        }
        let Some(args) = command.strip_prefix("skiff ") else {
            continue;
        };
        let args = args
            .split_whitespace()
            .map(swap_guest)
            .collect::<anyhow::Result<Vec<String>>>()?;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = skiff.ok(&args).await.with_context(|| line.clone())?;
        ran += 1;
        if let Some(printed) = out.lines().find_map(|l| l.strip_prefix("reach it at: ")) {
            url = Some(printed.trim().trim_end_matches('/').to_owned());
        }
        check_output(&args, &out)?;
    }
    ensure!(ran >= 6, "the tour ran only {ran} skiff commands");
    poll("the tour's pods are gone", || async {
        let out = skiff
            .ok(&["get", "pods", "-l", "app=web", "-o", "name"])
            .await?;
        Ok(out.trim().is_empty())
    })
    .await
}

/// The README's guest path as the suite built it.
fn swap_guest(arg: &str) -> anyhow::Result<String> {
    match arg
        .strip_prefix(GUESTS)
        .and_then(|f| f.strip_suffix(".wasm"))
    {
        Some(name) => guest(name),
        None => Ok(arg.to_owned()),
    }
}

/// What each verb of the tour must have said.
fn check_output(args: &[&str], out: &str) -> anyhow::Result<()> {
    let wanted = match args.first().copied() {
        Some("push") => "digest: sha256:",
        Some("run") => "is available",
        Some("scale") => "deployment.apps/web scaled",
        Some("delete") => "deployment.apps \"web\" deleted",
        Some("get") => "web",
        _ => "",
    };
    ensure!(
        out.contains(wanted),
        "skiff {args:?} printed {out:?}, not {wanted:?}"
    );
    Ok(())
}
