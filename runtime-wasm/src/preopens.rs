//! A component's volumes, opened when the guest first asks for its preopened directories
//! rather than when the container starts.
//!
//! wasmtime-wasi's `WasiCtxBuilder::preopened_dir` opens each directory at once and holds
//! its descriptor for the life of the store. Every pod gets a service-account token volume,
//! so 10,000 idle pods held 10,000 directory descriptors they never used, half a process's
//! usual limit. Here a volume is checked (it exists and is a directory) when the store is
//! made, and opened (`O_PATH | O_DIRECTORY`, as wasmtime-wasi opens it) on the guest's first
//! `wasi:filesystem/preopens.get-directories`; the open directories are then kept, so later
//! calls hand out the same ones. wasi-libc asks for preopens only when the program first
//! resolves a path, so a guest that never touches a file never opens one. Core (wasip1)
//! modules keep wasmtime-wasi's eager preopens: their preopens are part of `WasiP1Ctx`.

use crate::error::RuntimeError;
use crate::spec::VolumeMount;
use rustix::fs::OFlags;
use std::os::unix::fs::OpenOptionsExt;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::filesystem::{Descriptor, Dir};
use wasmtime_wasi::p2::bindings::filesystem::preopens;
use wasmtime_wasi::{FsPerms, OpenMode};

/// The volumes of one store, and their directories once the guest asked for them.
#[derive(Default)]
pub struct LazyPreopens {
    volumes: Vec<VolumeMount>,
    opened: Option<Vec<(Dir, String)>>,
}

impl LazyPreopens {
    /// Checks that every volume's host path is a directory (no descriptor is opened).
    pub fn new(volumes: &[VolumeMount]) -> Result<Self, RuntimeError> {
        for v in volumes {
            match std::fs::metadata(&v.host_path) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(volume_error(v, "not a directory")),
                Err(e) => return Err(volume_error(v, &e.to_string())),
            }
        }
        Ok(LazyPreopens {
            volumes: volumes.to_vec(),
            opened: None,
        })
    }

    /// Whether any directory descriptor is open.
    pub fn is_open(&self) -> bool {
        self.opened.is_some()
    }

    /// The open directories, opening them on the first call.
    fn directories(&mut self) -> std::io::Result<&[(Dir, String)]> {
        if self.opened.is_none() {
            let mut dirs = Vec::with_capacity(self.volumes.len());
            for v in &self.volumes {
                dirs.push((open_dir(v)?, v.guest_path.clone()));
            }
            self.opened = Some(dirs);
        }
        Ok(self.opened.as_deref().unwrap_or_default())
    }
}

fn volume_error(v: &VolumeMount, why: &str) -> RuntimeError {
    RuntimeError::InvalidSpec(format!(
        "volume {} -> {}: {why}",
        v.host_path.display(),
        v.guest_path
    ))
}

/// Opens `v` the way wasmtime-wasi's `preopened_dir` does.
fn open_dir(v: &VolumeMount) -> std::io::Result<Dir> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlags::DIRECTORY | OFlags::PATH).bits() as i32)
        .open(&v.host_path)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("volume {} -> {}: {e}", v.host_path.display(), v.guest_path),
            )
        })?;
    let (perms, open_mode) = if v.read_only {
        (FsPerms::ReadOnly, OpenMode::READ)
    } else {
        (FsPerms::ReadWrite, OpenMode::READ | OpenMode::WRITE)
    };
    // Not allowed to block the executor thread: wasmtime-wasi's default.
    Ok(Dir::new(file, perms, open_mode, false))
}

/// The view `preopens` is implemented on.
pub struct PreopensView<'a> {
    pub preopens: &'a mut LazyPreopens,
    pub table: &'a mut ResourceTable,
}

/// `HasData` marker for [`PreopensView`].
#[derive(Debug)]
pub struct Preopens;

impl HasData for Preopens {
    type Data<'a> = PreopensView<'a>;
}

impl preopens::Host for PreopensView<'_> {
    fn get_directories(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        let dirs = self.preopens.directories()?.to_vec();
        let mut handles = Vec::with_capacity(dirs.len());
        for (dir, guest_path) in dirs {
            handles.push((self.table.push(Descriptor::Dir(dir))?, guest_path));
        }
        Ok(handles)
    }
}

/// Replaces wasmtime-wasi's `wasi:filesystem/preopens` in `linker` with the lazy one.
/// Call after `wasmtime_wasi::p2::add_to_linker_async` with shadowing allowed.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> PreopensView<'_>,
) -> wasmtime::Result<()> {
    preopens::add_to_linker::<T, Preopens>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn mount(path: &std::path::Path) -> VolumeMount {
        VolumeMount {
            host_path: path.to_path_buf(),
            guest_path: "/v".into(),
            read_only: true,
        }
    }

    #[test]
    fn a_file_or_a_missing_path_is_refused_with_its_name() {
        let dir = std::env::temp_dir().join(format!("skiff-preopens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("plain");
        std::fs::write(&file, "x").unwrap();
        for (path, why) in [
            (file.clone(), "not a directory"),
            (dir.join("none"), "No such file"),
        ] {
            let err = LazyPreopens::new(&[mount(&path)]).err().expect("refused");
            let text = err.to_string();
            assert!(
                text.contains(&path.display().to_string()) && text.contains(why),
                "{text}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn directories_open_on_first_use_and_are_kept() {
        let dir = std::env::temp_dir().join(format!("skiff-preopens-ok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut preopens = LazyPreopens::new(&[mount(&dir)]).unwrap();
        assert!(!preopens.is_open());
        let first = Arc::clone(&preopens.directories().unwrap()[0].0.dir);
        assert!(preopens.is_open());
        let again = Arc::clone(&preopens.directories().unwrap()[0].0.dir);
        assert!(Arc::ptr_eq(&first, &again), "one descriptor per volume");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
