//! A pull of a blob file already checked against its digest: the file streamed into the
//! response in large pieces as it is read (no whole-blob buffer, no hash), on a blocking
//! thread that stays a few pieces ahead of the connection. Only a file that is the version last
//! checked is streamed ([`BlobFiles::open_verified`]); any other goes through
//! [`crate::file_blobs::load`], which hashes it before its first byte is sent.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use tokio::sync::mpsc;

use crate::blobs::ByteRange;
use crate::digest::Digest;
use crate::error::RegistryError;
use crate::files::BlobFiles;

/// Bytes per piece read and handed to the connection (hyper queues each as one buffer; TLS cuts
/// them into 16 KiB records).
pub const PIECE_BYTES: u64 = 1024 * 1024;

/// Pieces read ahead of the connection.
const PIECES_AHEAD: usize = 3;

/// A stream of a blob's bytes (or the `range` of them).
pub type Pieces = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, RegistryError>> + Send>>;

/// The verified file of `digest` (of `size` bytes) as a stream of `range` (the whole file
/// without one), or `None` when this replica's file is missing, not known to match, or not of
/// that size (the caller then checks it or fetches it). A file shorter than its recorded size, or a read error, ends the stream with
/// an error (the body stops short of its `Content-Length`).
pub async fn open(
    files: &Arc<BlobFiles>,
    digest: &Digest,
    size: u64,
    range: Option<ByteRange>,
) -> Result<Option<Pieces>, RegistryError> {
    let (files, wanted) = (files.clone(), digest.clone());
    let opened = tokio::task::spawn_blocking(move || files.open_verified(&wanted)).await;
    let file = match opened {
        Ok(Ok(Some((file, found)))) if found == size => file,
        Ok(Ok(_)) => return Ok(None),
        Ok(Err(e)) => return Err(RegistryError::Unavailable(e.to_string())),
        Err(e) => {
            return Err(RegistryError::Unavailable(format!(
                "a blob file task failed: {e}"
            )));
        }
    };
    let (first, len) = match range {
        Some(r) => (r.first, r.last - r.first + 1),
        None => (0, size),
    };
    let (sender, mut receiver) = mpsc::channel(PIECES_AHEAD);
    let name = digest.to_string();
    tokio::task::spawn_blocking(move || send_pieces(file, first, len, &name, &sender));
    Ok(Some(Box::pin(futures::stream::poll_fn(move |cx| {
        receiver.poll_recv(cx)
    }))))
}

/// Reads `len` bytes from `first` and sends them piece by piece; stops early when the
/// receiving response is gone (the client disconnected).
fn send_pieces(
    mut file: File,
    first: u64,
    len: u64,
    name: &str,
    sender: &mpsc::Sender<Result<Bytes, RegistryError>>,
) {
    let failed = |e: std::io::Error| {
        RegistryError::Unavailable(format!("reading the file of blob {name}: {e}"))
    };
    if let Err(e) = file.seek(SeekFrom::Start(first)) {
        let _ = sender.blocking_send(Err(failed(e)));
        return;
    }
    let mut left = len;
    while left > 0 {
        let want = left.min(PIECE_BYTES);
        let piece = read_piece(&mut file, want).map_err(failed);
        let stop = piece.is_err();
        if sender.blocking_send(piece).is_err() || stop {
            return;
        }
        left -= want;
    }
}

/// Exactly `want` bytes from the file's position; a file that ends first is an error.
fn read_piece(file: &mut File, want: u64) -> std::io::Result<Bytes> {
    let mut piece = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
    file.by_ref().take(want).read_to_end(&mut piece)?;
    if (piece.len() as u64) < want {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("the file ended {} bytes early", want - piece.len() as u64),
        ));
    }
    Ok(Bytes::from(piece))
}
