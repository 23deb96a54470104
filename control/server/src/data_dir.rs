//! What a replica keeps in its data directory besides the store and the PKI: its node id and
//! the marker saying it belongs to a cluster.

use std::path::Path;

use skiff_store::types::NodeId;

use crate::launch::LaunchError;

/// Written once the replica has bootstrapped a cluster or been admitted to one.
const MEMBER_MARKER: &str = "cluster-member";

/// A data directory that has bootstrapped or joined belongs to a cluster already.
pub(crate) fn is_member(data_dir: &Path) -> bool {
    data_dir.join(MEMBER_MARKER).exists()
}

pub(crate) fn mark_member(data_dir: &Path) -> Result<(), LaunchError> {
    let path = data_dir.join(MEMBER_MARKER);
    std::fs::write(&path, "1\n").map_err(|e| LaunchError::DataDir {
        path,
        message: format!("cannot write: {e}"),
    })
}

/// The replica's Raft id, random at first start and kept in `<data-dir>/node-id`.
pub(crate) fn load_or_create_node_id(data_dir: &Path) -> Result<NodeId, LaunchError> {
    let path = data_dir.join("node-id");
    let err = |message: String| LaunchError::DataDir {
        path: path.clone(),
        message,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => u64::from_str_radix(text.trim(), 16).map_err(|e| {
            err(format!(
                "not a node id ({e}); the file is corrupt, restore it from a backup"
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id: NodeId = rand::random::<u64>() >> 1 | 1;
            std::fs::write(&path, format!("{id:016x}\n"))
                .map_err(|e| err(format!("cannot write: {e}")))?;
            Ok(id)
        }
        Err(e) => Err(err(format!("cannot read: {e}"))),
    }
}

/// Creates `path` with mode 0600; fails if it exists.
pub(crate) fn write_secret(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}
