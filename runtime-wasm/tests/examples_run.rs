//! Each example guest runs with its expected outcome.

use crate::support::{Harness, bounded, guest, scratch};
use anyhow::Result;
use skiff_runtime_wasm::spec::{ContainerSpec, TerminationReason, VolumeMount};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_computes_and_exits_zero() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("p", "10.244.1.2")?;
        h.run("p", guest("job", "job", &[("LIMIT", "100000")]))
            .await?;
        assert_eq!(
            h.wait("p", "job", T).await?,
            TerminationReason::Exited { code: 0 }
        );
        assert!(h.log("p", "job")?.contains("primes below 100000: 9592"));
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasip1_module_job_runs() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("p", "10.244.1.3")?;
        let wat = crate::support::examples().p1_job_wat.display().to_string();
        h.run("p", ContainerSpec::new("p1", wat)).await?;
        assert_eq!(
            h.wait("p", "p1", T).await?,
            TerminationReason::Exited { code: 0 }
        );
        assert_eq!(h.log("p", "p1")?, "hello from wasip1 job\n");
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crasher_reports_exit_code_panic_trap_and_stack_overflow() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("p", "10.244.1.4")?;
        let cases = [
            ("exit", vec![("CRASH", "exit")]),
            ("exit42", vec![("CRASH", "exit"), ("EXIT_CODE", "42")]),
            ("panic", vec![("CRASH", "panic")]),
            ("recurse", vec![("CRASH", "recurse")]),
            ("trap", vec![("CRASH", "trap")]),
        ];
        for (name, env) in &cases {
            let mut env = env.clone();
            env.push(("DELAY_MS", "50"));
            h.run("p", guest(name, "crasher", &env)).await?;
        }
        // The crasher exits through wasi:cli/exit#exit-with-code, so its real code arrives.
        assert_eq!(h.wait("p", "exit", T).await?, TerminationReason::Exited { code: 1 });
        assert_eq!(h.wait("p", "exit42", T).await?, TerminationReason::Exited { code: 42 });
        let panic = h.wait("p", "panic", T).await?;
        assert!(
            matches!(&panic, TerminationReason::Trap { message } if message.contains("unreachable")),
            "{panic:?}"
        );
        assert!(h.log("p", "panic")?.contains("crasher panics on purpose"));
        assert_eq!(h.wait("p", "recurse", T).await?, TerminationReason::StackOverflow);
        let trap = h.wait("p", "trap", T).await?;
        assert!(matches!(trap, TerminationReason::Trap { .. }), "{trap:?}");
        assert!(h.log("p", "exit")?.contains("crasher exits with 1"));
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_printer_sees_env_args_and_volumes() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("p", "10.244.1.5")?;
        let config = scratch(&h, "config");
        std::fs::write(config.join("app.conf"), "color=blue\n")?;
        let data = scratch(&h, "data");
        let mut spec = guest(
            "printer",
            "env-printer",
            &[("MODE", "test"), ("WRITE_FILE", "/data/out.txt")],
        );
        spec.args = vec!["--flag".into(), "value".into()];
        spec.volumes = vec![
            VolumeMount {
                host_path: config.clone(),
                guest_path: "/config".into(),
                read_only: true,
            },
            VolumeMount {
                host_path: data.clone(),
                guest_path: "/data".into(),
                read_only: false,
            },
        ];
        h.run("p", spec).await?;
        assert_eq!(
            h.wait("p", "printer", T).await?,
            TerminationReason::Exited { code: 0 }
        );
        let log = h.log("p", "printer")?;
        assert!(log.contains("args: printer --flag value"), "{log}");
        assert!(log.contains("env MODE=test"), "{log}");
        assert!(log.contains("config /config/app.conf: color=blue"), "{log}");
        assert_eq!(
            std::fs::read_to_string(data.join("out.txt"))?,
            "written by env-printer\n"
        );

        // A read-only volume refuses writes.
        let mut ro = guest("ro", "env-printer", &[("WRITE_FILE", "/config/x")]);
        ro.volumes = vec![VolumeMount {
            host_path: config.clone(),
            guest_path: "/config".into(),
            read_only: true,
        }];
        h.run("p", ro).await?;
        assert_eq!(
            h.wait("p", "ro", T).await?,
            TerminationReason::Exited { code: 1 }
        );
        assert!(h.log("p", "ro")?.contains("cannot write /config/x"));
        assert!(!config.join("x").exists());

        // No volume: the config read fails and the guest says so.
        h.run("p", guest("novol", "env-printer", &[])).await?;
        assert_eq!(
            h.wait("p", "novol", T).await?,
            TerminationReason::Exited { code: 1 }
        );
        assert!(
            h.log("p", "novol")?
                .contains("cannot read /config/app.conf")
        );
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instantiation_probe_instantiates_without_running() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("p", "10.244.1.9")?;
        h.rt.create_container("p", guest("job", "job", &[("LIMIT", "10")]))
            .await?;
        let took = h.rt.time_instantiation("p", "job").await?;
        assert!(took > Duration::ZERO);
        // Nothing ran: no output, and the container is still only created.
        assert_eq!(h.log("p", "job")?, "");
        assert_eq!(
            h.rt.container_status("p", "job")?.state,
            skiff_runtime_wasm::ContainerState::Created
        );
        // Only command components can be probed.
        let wat = crate::support::examples().p1_job_wat.display().to_string();
        h.rt.create_container("p", ContainerSpec::new("p1", wat))
            .await?;
        assert!(h.rt.time_instantiation("p", "p1").await.is_err());
        h.shutdown().await;
        Ok(())
    })
    .await
}
