//! Which emptyDirs are limited, where they live, when a pod is over, and what `du` counts.

use super::*;
use crate::translate::tests::facts;
use serde_json::json;

fn pod(volumes: serde_json::Value) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "x"}], "volumes": volumes}}))
    .unwrap()
}

#[test]
fn only_emptydirs_with_a_positive_limit_count() {
    let pod = pod(json!([
        {"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}},
        {"name": "ram", "emptyDir": {"medium": "Memory", "sizeLimit": "500k"}},
        {"name": "free", "emptyDir": {}},
        {"name": "zero", "emptyDir": {"sizeLimit": "0"}},
        {"name": "cfg", "configMap": {"name": "c"}}
    ]));
    let limits = size_limits(&pod, &facts());
    assert_eq!(
        limits,
        vec![
            SizeLimit {
                volume: "scratch".into(),
                dir: "/var/skiff/pods/u-1/volumes/scratch".into(),
                bytes: 1 << 20,
                shown: "1Mi".into(),
            },
            SizeLimit {
                volume: "ram".into(),
                dir: "/dev/shm/skiff-edge-1-0123abcd/u-1/ram".into(),
                bytes: 500_000,
                shown: "500k".into(),
            },
        ]
    );
}

#[test]
fn the_first_volume_over_its_limit_is_named_as_the_kubelet_does() {
    let limits = size_limits(
        &pod(json!([
            {"name": "a", "emptyDir": {"sizeLimit": "1Ki"}},
            {"name": "b", "emptyDir": {"sizeLimit": "1Ki"}}
        ])),
        &facts(),
    );
    let usage_of = |a: u64, b: u64| {
        move |dir: &Path| {
            if dir.ends_with("a") { a } else { b }
        }
    };
    let cases = [
        (0, 0, None),
        (1024, 1024, None),
        (1024, 1025, Some("b")),
        (4096, 4096, Some("a")),
    ];
    for (a, b, want) in cases {
        let got = first_over(&limits, usage_of(a, b));
        let want =
            want.map(|v| format!("Usage of EmptyDir volume \"{v}\" exceeds the limit \"1Ki\". "));
        assert_eq!(got, want, "usage a={a} b={b}");
    }
}

#[test]
fn usage_counts_allocated_blocks_under_the_directory() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("vol");
    assert_eq!(disk_usage(&root), 0, "no directory yet");
    std::fs::create_dir_all(root.join("sub"))?;
    let empty = disk_usage(&root);
    std::fs::write(root.join("sub/data"), vec![7u8; 256 << 10])?;
    std::os::unix::fs::symlink("/usr", root.join("link"))?;
    let full = disk_usage(&root);
    assert!(
        full >= empty + (256 << 10) && full < empty + (256 << 10) + (64 << 10),
        "empty {empty}, with 256 KiB {full}"
    );
    Ok(())
}
