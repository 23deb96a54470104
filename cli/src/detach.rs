//! `skiff up --detach`: the same `skiff up` re-executed in the background, in its own process
//! group (a Ctrl-C in the terminal does not reach it), with stdout and stderr appended to
//! `<data-dir>/skiff.log` and its pid in `<data-dir>/skiff.pid`. The caller returns once the
//! cluster serves (the `serving` line in the log), or fails with the log's tail if the
//! background process exits first. `skiff down` (`down_cmd`) reads the pid file.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// How long the background start may take before the caller gives up waiting.
const READY_LIMIT: Duration = Duration::from_secs(120);

pub fn pid_file(data_dir: &Path) -> PathBuf {
    data_dir.join("skiff.pid")
}

pub fn log_file(data_dir: &Path) -> PathBuf {
    data_dir.join("skiff.log")
}

/// The pid in the pid file, if the file exists and that process is a live skiff.
pub fn running_pid(data_dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(pid_file(data_dir)).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let live = cmdline
        .split(|b| *b == 0)
        .any(|arg| arg.ends_with(b"skiff"));
    live.then_some(pid)
}

/// Starts `skiff up` (this process's arguments without `--detach`) in the background and
/// waits until it serves.
pub async fn start(data_dir: &Path) -> anyhow::Result<()> {
    if let Some(pid) = running_pid(data_dir) {
        bail!(
            "skiff up already runs from {} (pid {pid}); stop it with `skiff down --data-dir {}`",
            data_dir.display(),
            data_dir.display()
        );
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let log_path = log_file(data_dir);
    let (child, start_offset) = spawn_background(&log_path)?;
    std::fs::write(pid_file(data_dir), format!("{}\n", child.id()))
        .context("writing the pid file")?;
    wait_serving(child, data_dir, &log_path, start_offset).await
}

/// Re-executes this binary without `--detach`, output appended to `log_path`; the child and
/// where its output starts in the log.
fn spawn_background(log_path: &Path) -> anyhow::Result<(Child, u64)> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let start_offset = log.metadata()?.len();
    let args: Vec<OsString> = std::env::args_os()
        .skip(1)
        .filter(|a| a != "--detach")
        .collect();
    let exe = std::env::current_exe().context("finding the skiff binary")?;
    let child = Command::new(exe)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting skiff up in the background")?;
    Ok((child, start_offset))
}

/// Waits for the `serving` line, then prints the start-up lines and how to stop it.
async fn wait_serving(
    mut child: Child,
    data_dir: &Path,
    log_path: &Path,
    start_offset: u64,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + READY_LIMIT;
    loop {
        let text = read_from(log_path, start_offset);
        if text
            .lines()
            .any(|l| l.starts_with("skiff up: cluster serving"))
        {
            // The lines after `serving` follow at once; give them a moment to land.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let text = read_from(log_path, start_offset);
            for line in text
                .lines()
                .filter(|l| l.starts_with("skiff up") || l.starts_with("  "))
            {
                println!("{line}");
            }
            println!(
                "  running in the background: pid {}, log {}",
                child.id(),
                log_path.display()
            );
            println!(
                "  stop it with:   skiff down --data-dir {}",
                data_dir.display()
            );
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            let _ = std::fs::remove_file(pid_file(data_dir));
            bail!(
                "skiff up exited ({status}) before serving; its log ({}):\n{}",
                log_path.display(),
                tail(&text)
            );
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "skiff up (pid {}) not serving after {READY_LIMIT:?}; see {}",
                child.id(),
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn read_from(path: &Path, offset: u64) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
