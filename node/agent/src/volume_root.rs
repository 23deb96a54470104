//! Where the agent keeps the volumes whose contents come from the API (Secret, ConfigMap,
//! projected, downwardAPI) and `emptyDir` with `medium: Memory`: a directory on a tmpfs, as
//! the kubelet mounts a tmpfs for each of them, so service-account tokens and secrets never
//! reach the disk and a pod start makes no disk inodes for them.
//!
//! The root is `--volumes-dir` when given, else `/dev/shm/skiff-<node>-<hash of the data
//! dir>` when `/dev/shm` is a tmpfs of at least [`MIN_SHM_BYTES`] that this user can write
//! (containers often get a 64 MiB one, too small for a dense node), else none: the volumes
//! stay under `<data dir>/pods/<uid>/volumes/` on disk. The chosen root is recorded in
//! `<data dir>/volumes-dir` so that whoever removes the data dir (a test harness, an operator)
//! can remove the root too; a default root also names its data dir (`orphans`), and the next
//! agent to start removes the roots whose data dir is gone.

use sha2::{Digest, Sha256};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `statfs` `f_type` of a tmpfs (linux/magic.h).
pub const TMPFS_MAGIC: u64 = 0x0102_1994;
/// The smallest `/dev/shm` used by default: 10,000 pods' three token files take ~120 MiB.
pub const MIN_SHM_BYTES: u64 = 1 << 30;
/// The file in the data dir that names the chosen root.
pub const RECORD_FILE: &str = "volumes-dir";
const SHM: &str = "/dev/shm";

/// Why the volumes root could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum VolumeRootError {
    #[error("--volumes-dir {path}: {source}")]
    Flag {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--volumes-dir {0}: not a directory owned by this user")]
    NotOwned(PathBuf),
    #[error("the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What `statfs` says about `/dev/shm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShmFacts {
    pub fs_type: u64,
    pub size_bytes: u64,
}

/// Why `/dev/shm` is not used by default; `None` when it is fit.
pub fn shm_refusal(facts: ShmFacts) -> Option<&'static str> {
    if facts.fs_type != TMPFS_MAGIC {
        Some("/dev/shm is not a tmpfs")
    } else if facts.size_bytes < MIN_SHM_BYTES {
        Some("/dev/shm is smaller than 1 GiB")
    } else {
        None
    }
}

/// `skiff-<node>-<first 8 hex of sha256(data dir)>`: two agents on one host (or one node name
/// with two data dirs) never share a root.
pub fn default_dir_name(node_name: &str, canonical_data_dir: &Path) -> String {
    let digest = Sha256::digest(canonical_data_dir.as_os_str().as_encoded_bytes());
    format!("skiff-{node_name}-{}", &hex::encode(digest)[..8])
}

/// Reads `statfs` of `path`.
pub fn shm_facts(path: &Path) -> std::io::Result<ShmFacts> {
    let st = rustix::fs::statfs(path)?;
    let blocks = st.f_blocks;
    let block_size = u64::try_from(st.f_bsize).unwrap_or(0);
    Ok(ShmFacts {
        #[allow(clippy::unnecessary_cast, reason = "f_type is i64 or u32 by target")]
        fs_type: st.f_type as u64,
        size_bytes: blocks.saturating_mul(block_size),
    })
}

/// Chooses (and creates, mode 0700) the volumes root for the agent of `node_name` with data in
/// `data_dir`; `None` means on disk under the pods' directories. Records the choice in
/// `<data_dir>/volumes-dir` and logs it once.
pub fn choose(
    data_dir: &Path,
    node_name: &str,
    flag: Option<&Path>,
) -> Result<Option<PathBuf>, VolumeRootError> {
    let data_failed = |source| VolumeRootError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(data_failed)?;
    let root = match flag {
        Some(dir) => {
            private_dir(dir).map_err(|source| VolumeRootError::Flag {
                path: dir.to_path_buf(),
                source,
            })?;
            if !owned_by_me(dir) {
                return Err(VolumeRootError::NotOwned(dir.to_path_buf()));
            }
            Some(dir.to_path_buf())
        }
        None => default_root(data_dir, node_name)?,
    };
    record(data_dir, root.as_deref()).map_err(data_failed)?;
    match &root {
        Some(dir) => {
            let memory = shm_facts(dir).is_ok_and(|f| f.fs_type == TMPFS_MAGIC);
            tracing::info!(dir = %dir.display(), tmpfs = memory, "pod volumes from the API are kept here");
        }
        None => tracing::info!(
            dir = %data_dir.join("pods").display(),
            "pod volumes are kept on disk, under each pod's directory"
        ),
    }
    Ok(root)
}

/// `/dev/shm/skiff-...` when `/dev/shm` is fit and ours, else `None` (with the reason logged).
fn default_root(data_dir: &Path, node_name: &str) -> Result<Option<PathBuf>, VolumeRootError> {
    let canonical = data_dir
        .canonicalize()
        .map_err(|source| VolumeRootError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
    let refusal = match shm_facts(Path::new(SHM)) {
        Ok(facts) => shm_refusal(facts).map(str::to_owned),
        Err(e) => Some(format!("/dev/shm: {e}")),
    };
    if let Some(why) = refusal {
        tracing::info!(reason = %why, "not keeping pod volumes in memory");
        return Ok(None);
    }
    let dir = Path::new(SHM).join(default_dir_name(node_name, &canonical));
    if let Err(e) = private_dir(&dir) {
        tracing::info!(dir = %dir.display(), error = %e, "not keeping pod volumes in memory");
        return Ok(None);
    }
    if !owned_by_me(&dir) {
        tracing::warn!(dir = %dir.display(), "not keeping pod volumes in memory: the directory is not this user's");
        return Ok(None);
    }
    if let Err(e) = orphans::claim(&dir, &canonical) {
        tracing::info!(dir = %dir.display(), error = %e, "not keeping pod volumes in memory");
        return Ok(None);
    }
    orphans::sweep(Path::new(SHM), &dir);
    Ok(Some(dir))
}

/// Creates `dir` (mode 0700) or makes an existing directory 0700.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    if !std::fs::symlink_metadata(dir)?.is_dir() {
        return Err(std::io::ErrorKind::NotADirectory.into());
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// A real directory (not a symlink) owned by this process's user.
fn owned_by_me(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir)
        .is_ok_and(|m| m.is_dir() && m.uid() == rustix::process::geteuid().as_raw())
}

/// Writes (or, for no root, removes) `<data_dir>/volumes-dir`.
fn record(data_dir: &Path, root: Option<&Path>) -> std::io::Result<()> {
    let path = data_dir.join(RECORD_FILE);
    match root {
        Some(dir) => std::fs::write(path, dir.as_os_str().as_encoded_bytes()),
        None => match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    }
}

/// Whether `name` is a pod UID (`8-4-4-4-12` lowercase hex): the only entries of a volumes
/// root the start-up sweep removes, so a `--volumes-dir` shared with other files keeps them.
pub fn is_pod_uid(name: &str) -> bool {
    let groups: Vec<&str> = name.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    groups.len() == lengths.len()
        && groups.iter().zip(lengths).all(|(g, n)| {
            g.len() == n
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

pub mod orphans;
#[cfg(test)]
mod tests;
