//! Bad images get errors that name the problem, and the runtime keeps serving.

use crate::support::{Harness, bounded, examples, guest, scratch};
use anyhow::Result;
use skiff_runtime_wasm::spec::{ContainerSpec, TerminationReason};
use skiff_runtime_wasm::{CompileError, ImageError, RuntimeError};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_modules_fail_clearly_and_others_still_run() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("p", "10.244.7.2")?;
        let dir = scratch(&h, "bad");

        let text = dir.join("notes.wasm");
        std::fs::write(&text, "this is not wasm")?;
        let err =
            h.rt.create_container("p", ContainerSpec::new("text", text.display().to_string()))
                .await;
        assert!(
            matches!(err, Err(RuntimeError::Compile(CompileError::NotWasm(_)))),
            "{err:?}"
        );
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("not a WebAssembly binary")
        );

        let truncated = dir.join("truncated.wasm");
        let bytes = std::fs::read(examples().path("job"))?;
        std::fs::write(&truncated, &bytes[..bytes.len() / 3])?;
        let err =
            h.rt.create_container(
                "p",
                ContainerSpec::new("trunc", truncated.display().to_string()),
            )
            .await;
        assert!(
            matches!(err, Err(RuntimeError::Compile(CompileError::Invalid(_)))),
            "{err:?}"
        );

        let alien = dir.join("alien.wat");
        std::fs::write(
            &alien,
            r#"(component
                 (import "acme:db/query@1.0.0" (instance))
                 (import "wasi:keyvalue/store@0.2.0" (instance))
                 (import "wasi:cli/environment@0.2.0" (instance)))"#,
        )?;
        let err =
            h.rt.create_container(
                "p",
                ContainerSpec::new("alien", alien.display().to_string()),
            )
            .await;
        match &err {
            Err(RuntimeError::Compile(CompileError::MissingImports(names))) => {
                assert_eq!(names, &["acme:db/query@1.0.0", "wasi:keyvalue/store@0.2.0"]);
            }
            other => panic!("expected missing imports, got {other:?}"),
        }
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("acme:db/query@1.0.0, wasi:keyvalue/store@0.2.0")
        );

        let missing =
            h.rt.create_container("p", ContainerSpec::new("gone", "/nonexistent/x.wasm"))
                .await;
        assert!(
            matches!(missing, Err(RuntimeError::Image(ImageError::Read { .. }))),
            "{missing:?}"
        );
        assert!(!missing.unwrap_err().is_fatal());

        // The runtime still serves good images.
        h.run("p", guest("job", "job", &[("LIMIT", "100")])).await?;
        assert_eq!(
            h.wait("p", "job", Duration::from_secs(30)).await?,
            TerminationReason::Exited { code: 0 }
        );
        h.shutdown().await;
        Ok(())
    })
    .await
}
