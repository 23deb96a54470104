//! The compiled-code cache survives a restart (the second runtime does not compile), and a
//! burst of pods of one new image compiles it once.

use crate::support::{Harness, bounded, examples, guest};
use anyhow::Result;
use skiff_runtime_wasm::RuntimeConfig;
use skiff_runtime_wasm::spec::{TerminationReason, WorkloadKind};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_loads_compiled_code_from_disk() -> Result<()> {
    bounded(async {
        let data = tempfile::tempdir()?;
        let job = examples().path("job").display().to_string();
        {
            let h = Harness::with_config(RuntimeConfig::new(data.path()))?;
            h.rt.prepare(&job, WorkloadKind::Auto).await?;
            assert_eq!(h.rt.compile_count(), 1);
            // A second pod of the same image does not compile either.
            h.rt.prepare(&job, WorkloadKind::Auto).await?;
            assert_eq!(h.rt.compile_count(), 1);
            h.shutdown().await;
        }
        let h = Harness::with_config(RuntimeConfig::new(data.path()))?;
        h.pod("p", "10.244.6.2")?;
        h.run("p", guest("job", "job", &[("LIMIT", "1000")]))
            .await?;
        assert_eq!(
            h.wait("p", "job", Duration::from_secs(30)).await?,
            TerminationReason::Exited { code: 0 }
        );
        assert_eq!(h.rt.compile_count(), 0, "restart recompiled");
        assert!(h.log("p", "job")?.contains("primes below 1000: 168"));
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_one_new_image_compiles_it_once() -> Result<()> {
    bounded(async {
        let data = tempfile::tempdir()?;
        let echo = examples().path("tcp-echo").display().to_string();
        let h = Harness::with_config(RuntimeConfig::new(data.path()))?;
        let loads = (0..16).map(|_| h.rt.prepare(&echo, WorkloadKind::Auto));
        for prepared in futures::future::join_all(loads).await {
            prepared?;
        }
        assert_eq!(
            h.rt.compile_count(),
            1,
            "concurrent loads compiled more than once"
        );
        h.shutdown().await;
        Ok(())
    })
    .await
}
