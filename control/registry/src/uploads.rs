//! Upload sessions in progress. They live on the replica that took the `POST` (as the CNCF
//! distribution server keeps them on its own storage). Without blob files a session gathers
//! its chunks in memory and the blob is stored when the last one arrives. With blob files the
//! first chunk starts a [`Relay`]: a file written as the chunks arrive and, at once, a send of
//! the same bytes to every peer, so the blob is on the peers when the closing `PUT` names it.
//! A request takes the session's content while it writes ([`Uploads::check_out`]); another
//! request on the same session meanwhile is refused. Sessions idle longer than [`IDLE`] are
//! dropped, which removes a relay's file and breaks off its sends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::task::JoinHandle;

use crate::error::RegistryError;
use crate::file_push::Writing;
use crate::storage::StorageError;

/// How long an untouched session is kept.
pub const IDLE: Duration = Duration::from_secs(15 * 60);

/// Where a session's bytes are.
#[derive(Debug)]
pub(crate) enum Content {
    /// In memory: a registry without blob files, or no chunk yet.
    Bytes(Vec<u8>),
    /// In a file, and on their way to the peers.
    Relay(Relay),
    /// A request is writing to the session now.
    Busy,
}

impl Content {
    fn len(&self) -> u64 {
        match self {
            Content::Bytes(bytes) => bytes.len() as u64,
            Content::Relay(relay) => relay.writing.len(),
            Content::Busy => 0,
        }
    }
}

/// An upload written to a file as it arrives and sent to the peers at the same time.
#[derive(Debug)]
pub(crate) struct Relay {
    pub(crate) writing: Writing,
    pub(crate) sends: PeerSends,
}

/// The task sending a relayed upload to the peers: it ends with the replicas that hold the
/// blob once the upload is finished and a majority has it. Dropped, it is aborted (its
/// requests end, and the peers remove what they had written).
#[derive(Debug)]
pub(crate) struct PeerSends(pub(crate) JoinHandle<Result<Vec<String>, StorageError>>);

impl PeerSends {
    /// Waits for the sends to reach a majority.
    pub(crate) async fn holders(mut self) -> Result<Vec<String>, RegistryError> {
        match (&mut self.0).await {
            Ok(sent) => Ok(sent?),
            Err(e) => Err(RegistryError::Unavailable(format!(
                "sending the blob to the other replicas failed: {e}"
            ))),
        }
    }
}

impl Drop for PeerSends {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug)]
struct Session {
    name: String,
    size: u64,
    content: Content,
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
        sweep(&mut sessions);
        sessions.insert(
            id.clone(),
            Session {
                name: name.to_owned(),
                size: 0,
                content: Content::Bytes(Vec::new()),
                touched: Instant::now(),
            },
        );
        id
    }

    /// Appends `chunk` at `start` (the client's `Content-Range` start, if it sent one) to a
    /// session kept in memory, within `limit` bytes in all. Returns the session's size after it.
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
        check_start(session, start)?;
        let Content::Bytes(bytes) = &mut session.content else {
            return Err(busy(id));
        };
        if bytes.len() + chunk.len() > limit {
            return Err(RegistryError::SizeInvalid(format!(
                "a blob may hold at most {limit} bytes"
            )));
        }
        bytes.extend_from_slice(chunk);
        session.size = bytes.len() as u64;
        session.touched = Instant::now();
        Ok(session.size)
    }

    /// Takes the session's content for a request to write to, if the request's chunk starts
    /// at `start` (when it says); the session is busy until [`Self::check_in`] or
    /// [`Self::abandon`].
    pub(crate) fn check_out(
        &self,
        name: &str,
        id: &str,
        start: Option<u64>,
    ) -> Result<Content, RegistryError> {
        let mut sessions = skiff_sync::lock(&self.sessions);
        sweep(&mut sessions);
        let session = find(&mut sessions, name, id)?;
        check_start(session, start)?;
        if matches!(session.content, Content::Busy) {
            return Err(busy(id));
        }
        session.touched = Instant::now();
        Ok(std::mem::replace(&mut session.content, Content::Busy))
    }

    /// Gives back what [`Self::check_out`] took, with what the request wrote; returns the size.
    pub(crate) fn check_in(
        &self,
        name: &str,
        id: &str,
        content: Content,
    ) -> Result<u64, RegistryError> {
        let mut sessions = skiff_sync::lock(&self.sessions);
        let session = find(&mut sessions, name, id)?;
        session.size = content.len();
        session.content = content;
        session.touched = Instant::now();
        Ok(session.size)
    }

    /// Ends a session whose request failed part way (what it held is dropped).
    pub(crate) fn abandon(&self, id: &str) {
        skiff_sync::lock(&self.sessions).remove(id);
    }

    /// The bytes received so far.
    pub fn size(&self, name: &str, id: &str) -> Result<u64, RegistryError> {
        let mut sessions = skiff_sync::lock(&self.sessions);
        Ok(find(&mut sessions, name, id)?.size)
    }

    /// Ends the session, handing back its content, if a last chunk said to start at `start`
    /// follows what it holds (refused while a request writes to it).
    pub(crate) fn take(
        &self,
        name: &str,
        id: &str,
        start: Option<u64>,
    ) -> Result<Content, RegistryError> {
        let mut sessions = skiff_sync::lock(&self.sessions);
        let session = find(&mut sessions, name, id)?;
        if matches!(session.content, Content::Busy) {
            return Err(busy(id));
        }
        check_start(session, start)?;
        Ok(sessions
            .remove(id)
            .map(|s| s.content)
            .unwrap_or(Content::Bytes(Vec::new())))
    }
}

/// Drops the sessions untouched for [`IDLE`]. A busy one counts from its checkout: a request
/// whose task was dropped (its connection gone) never checks it in.
fn sweep(sessions: &mut HashMap<String, Session>) {
    let now = Instant::now();
    sessions.retain(|_, s| now.duration_since(s.touched) < IDLE);
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

fn check_start(session: &Session, start: Option<u64>) -> Result<(), RegistryError> {
    match start {
        Some(start) if start != session.size => Err(RegistryError::RangeInvalid(format!(
            "the chunk starts at {start}, the upload holds {} bytes",
            session.size
        ))),
        _ => Ok(()),
    }
}

fn busy(id: &str) -> RegistryError {
    RegistryError::BlobUploadInvalid(format!(
        "another request is writing to upload {id}; send its chunks one after another"
    ))
}
