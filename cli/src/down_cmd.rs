//! `skiff down`: stops the `skiff up --detach` of a data directory. SIGTERM to the pid in
//! `<data-dir>/skiff.pid` (the cluster stops its agent, then its replica, as on Ctrl-C), a
//! wait for it to exit (SIGKILL after `--timeout`), then the pid file is removed. When
//! nothing runs it says so and succeeds, so `skiff down` can always be called.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use rustix::process::{Pid, Signal, kill_process};

use crate::detach::{pid_file, running_pid};

#[derive(Args, Debug)]
pub struct DownArgs {
    /// The data directory `skiff up --detach` was started with.
    #[arg(long, default_value = "skiff-data", env = "SKIFF_DATA_DIR")]
    data_dir: PathBuf,
    /// Seconds to wait for a clean stop before SIGKILL.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

pub async fn run(args: DownArgs) -> anyhow::Result<()> {
    let Some(pid) = running_pid(&args.data_dir) else {
        let _ = std::fs::remove_file(pid_file(&args.data_dir));
        println!(
            "skiff down: no skiff up is running from {} (no live pid in {})",
            args.data_dir.display(),
            pid_file(&args.data_dir).display()
        );
        return Ok(());
    };
    let target = Pid::from_raw(pid).context("the pid file holds pid 0")?;
    kill_process(target, Signal::TERM).with_context(|| format!("sending SIGTERM to {pid}"))?;
    println!("skiff down: stopping skiff up (pid {pid})...");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid) {
        if tokio::time::Instant::now() >= deadline {
            eprintln!(
                "skiff down: pid {pid} still running after {}s: SIGKILL",
                args.timeout
            );
            let _ = kill_process(target, Signal::KILL);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::remove_file(pid_file(&args.data_dir)).context("removing the pid file")?;
    println!("skiff down: stopped");
    Ok(())
}

/// An exited child not yet reaped by its parent still has a /proc entry.
fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}
