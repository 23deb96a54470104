//! The PKI's on-disk layout and its careful file I/O: owner-only modes, atomic writes, and
//! create-only writes for files that must never be overwritten (CA, join token).

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Mode for private keys and tokens.
pub(crate) const MODE_SECRET: u32 = 0o600;
/// Mode for certificates, which are public.
pub(crate) const MODE_PUBLIC: u32 = 0o644;

/// Where each PKI file lives under a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiPaths {
    /// `<data-dir>/pki`, mode 0700.
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// `<data-dir>/token`: the cluster join token, full form.
    pub token: PathBuf,
    /// `<data-dir>/admin-token`: the admin bearer token.
    pub admin_token: PathBuf,
    /// `<data-dir>/agent-token`: the token node agents join with (derived from `token`).
    pub agent_token: PathBuf,
}

impl PkiPaths {
    pub fn new(data_dir: &Path) -> Self {
        let dir = data_dir.join("pki");
        Self {
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            token: data_dir.join("token"),
            admin_token: data_dir.join("admin-token"),
            agent_token: data_dir.join("agent-token"),
            dir,
        }
    }

    /// Creates the data directory and `pki/` (0700) if missing.
    pub fn create_dirs(&self) -> io::Result<()> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
    }
}

/// The file's contents, or `None` if it does not exist. Invalid UTF-8 is kept lossily so the
/// PEM parser reports it as "not PEM" rather than as an I/O error.
pub(crate) fn read_opt(path: &Path) -> io::Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether `path` exists (a broken symlink counts, so it is never silently replaced).
pub(crate) fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Writes `contents` to `path` only if `path` does not exist: the data goes to a temporary
/// file, is synced, and is hard-linked into place, which fails if anything is already there.
/// A crash leaves either no file or the complete file.
pub(crate) fn write_new(path: &Path, contents: &str, mode: u32) -> io::Result<()> {
    let tmp = write_tmp(path, contents, mode)?;
    let linked = fs::hard_link(&tmp, path);
    let removed = fs::remove_file(&tmp);
    linked?;
    removed?;
    sync_parent(path)
}

/// Atomically replaces (or creates) `path` with `contents`.
pub(crate) fn write_replace(path: &Path, contents: &str, mode: u32) -> io::Result<()> {
    let tmp = write_tmp(path, contents, mode)?;
    fs::rename(&tmp, path)?;
    sync_parent(path)
}

fn write_tmp(path: &Path, contents: &str, mode: u32) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    // A leftover from a crash is ours to replace; remove it so the new mode applies.
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(tmp)
}

fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn write_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        write_new(&path, "first", MODE_SECRET).unwrap();
        let err = write_new(&path, "second", MODE_SECRET).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(&path).unwrap(), "first");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!exists(&dir.path().join(".token.tmp")));
    }

    #[test]
    fn write_replace_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.crt");
        write_replace(&path, "a", MODE_PUBLIC).unwrap();
        write_replace(&path, "b", MODE_PUBLIC).unwrap();
        assert_eq!(read_opt(&path).unwrap().as_deref(), Some("b"));
        assert_eq!(read_opt(&dir.path().join("nope")).unwrap(), None);
    }
}
