//! Upload sessions in progress. They live on the replica that took the `POST` (as the CNCF
//! distribution server keeps them on its own storage); only a completed blob is replicated.
//! Sessions idle longer than [`IDLE`] are dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::error::RegistryError;

/// How long an untouched session is kept.
pub const IDLE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug)]
struct Session {
    name: String,
    bytes: Vec<u8>,
    touched: Instant,
}

/// The sessions of this replica.
#[derive(Debug, Default)]
pub struct Uploads {
    sessions: Mutex<HashMap<String, Session>>,
}

impl Uploads {
    /// Opens a session for repository `name`; returns its id.
    pub fn start(&self, name: &str) -> String {
        let id = format!("{:032x}", rand::rng().random::<u128>());
        let mut sessions = skiff_sync::lock(&self.sessions);
        let now = Instant::now();
        sessions.retain(|_, s| now.duration_since(s.touched) < IDLE);
        sessions.insert(
            id.clone(),
            Session {
                name: name.to_owned(),
                bytes: Vec::new(),
                touched: now,
            },
        );
        id
    }

    /// Appends `chunk` at `start` (the client's `Content-Range` start, if it sent one), within
    /// `limit` bytes in all. Returns the session's size after it.
    pub fn append(
        &self,
        name: &str,
        id: &str,
        start: Option<u64>,
        chunk: &[u8],
        limit: usize,
    ) -> Result<u64, RegistryError> {
        let mut sessions = skiff_sync::lock(&self.sessions);
        let session = find(&mut sessions, name, id)?;
        let size = session.bytes.len() as u64;
        if let Some(start) = start
            && start != size
        {
            return Err(RegistryError::RangeInvalid(format!(
                "the chunk starts at {start}, the upload holds {size} bytes"
            )));
        }
        if session.bytes.len() + chunk.len() > limit {
            return Err(RegistryError::SizeInvalid(format!(
                "a blob may hold at most {limit} bytes"
            )));
        }
        session.bytes.extend_from_slice(chunk);
        session.touched = Instant::now();
        Ok(session.bytes.len() as u64)
    }

    /// The bytes received so far.
    pub fn size(&self, name: &str, id: &str) -> Result<u64, RegistryError> {
        let mut sessions = skiff_sync::lock(&self.sessions);
        Ok(find(&mut sessions, name, id)?.bytes.len() as u64)
    }

    /// Ends the session, handing back its bytes.
    pub fn take(&self, name: &str, id: &str) -> Result<Vec<u8>, RegistryError> {
        let mut sessions = skiff_sync::lock(&self.sessions);
        find(&mut sessions, name, id)?;
        Ok(sessions.remove(id).map(|s| s.bytes).unwrap_or_default())
    }
}

fn find<'a>(
    sessions: &'a mut HashMap<String, Session>,
    name: &str,
    id: &str,
) -> Result<&'a mut Session, RegistryError> {
    match sessions.get_mut(id) {
        Some(session) if session.name == name => Ok(session),
        _ => Err(RegistryError::BlobUploadUnknown(format!(
            "no upload {id} for {name} on this replica"
        ))),
    }
}
