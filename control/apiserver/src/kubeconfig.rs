//! The admin kubeconfig a replica writes into its data directory at start, so
//! `kubectl --kubeconfig <data-dir>/admin.kubeconfig get ns` works with no other set-up.

use std::path::{Path, PathBuf};

use base64::Engine;

/// Renders a kubeconfig for `server` trusting `ca_pem` with bearer `token`.
pub fn render(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: skiff\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
         users:\n- name: skiff-admin\n  user:\n    token: {token}\ncontexts:\n- name: skiff\n  context:\n    cluster: skiff\n    user: skiff-admin\n    namespace: default\n\
         current-context: skiff\npreferences: {{}}\n"
    )
}

/// Writes (or refreshes) `<data-dir>/admin.kubeconfig` with mode 0600.
pub fn write(data_dir: &Path, server: &str, ca_pem: &str, token: &str) -> std::io::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = data_dir.join("admin.kubeconfig");
    let tmp = data_dir.join("admin.kubeconfig.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(render(server, ca_pem, token).as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}
