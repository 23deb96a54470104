//! A blob's bytes handed to several readers while they arrive ([`feed`]): the replica that
//! takes a push appends each piece of the upload to a [`FeedWriter`], and every peer's send
//! reads the same pieces from its own [`Feed::reader`], at its own pace, as they come. The
//! pieces are kept until the last handle goes (a reader that starts late still gets them all),
//! so a feed holds at most the blob, as the whole-blob buffer it replaces did.

use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use tokio::sync::watch;

use crate::digest::Digest;

/// Why a reader got no whole blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// The upload broke off (or its writer was dropped unfinished).
    #[error("the upload broke off before the whole blob arrived")]
    BrokenOff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Open,
    Finished,
    BrokenOff,
}

#[derive(Debug)]
struct State {
    pieces: Vec<Bytes>,
    end: End,
    /// Named at the end ([`FeedWriter::finish`]).
    digest: Option<Digest>,
}

/// The writing end: [`push`](Self::push) pieces, then [`finish`](Self::finish). Dropped
/// unfinished, its readers end with [`FeedError::BrokenOff`].
#[derive(Debug)]
pub struct FeedWriter {
    state: watch::Sender<State>,
}

/// The reading side; cheap to clone, each [`reader`](Self::reader) starts at the first piece.
#[derive(Debug, Clone)]
pub struct Feed {
    state: watch::Receiver<State>,
}

/// A new, empty feed.
pub fn feed() -> (FeedWriter, Feed) {
    let (state, reader) = watch::channel(State {
        pieces: Vec::new(),
        end: End::Open,
        digest: None,
    });
    (FeedWriter { state }, Feed { state: reader })
}

/// A feed already holding all of `bytes`, the blob `digest`.
pub fn whole(bytes: Bytes, digest: Digest) -> Feed {
    let (writer, feed) = feed();
    writer.push(bytes);
    writer.finish(digest);
    feed
}

impl FeedWriter {
    /// Hands `piece` to every reader.
    pub fn push(&self, piece: Bytes) {
        if piece.is_empty() {
            return;
        }
        self.state.send_modify(|state| state.pieces.push(piece));
    }

    /// The blob is whole and its digest is `digest`: readers end once they have read every
    /// piece, and [`Feed::digest`] names it (an upload in several requests learns its digest
    /// only from the last, so a reader learns it only at the end).
    pub fn finish(self, digest: Digest) {
        self.state.send_modify(|state| {
            if state.end == End::Open {
                state.digest = Some(digest);
                state.end = End::Finished;
            }
        });
    }

    /// The upload broke off: readers end with [`FeedError::BrokenOff`].
    pub fn break_off(self) {
        self.end(End::BrokenOff);
    }

    fn end(&self, end: End) {
        self.state.send_modify(|state| {
            if state.end == End::Open {
                state.end = end;
            }
        });
    }
}

impl Drop for FeedWriter {
    fn drop(&mut self) {
        self.end(End::BrokenOff);
    }
}

impl Feed {
    /// Resolves once the writer finished or broke off (or went): the upload is over, whatever
    /// the readers have read of it yet.
    pub fn ended(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut state = self.state.clone();
        async move {
            let _ = state.wait_for(|state| state.end != End::Open).await;
        }
    }

    /// Resolves once nothing happened to the feed (no piece, no end) for `quiet`: an upload
    /// whose client went away without ending it. Also resolves if the writer goes.
    pub fn quiet_for(&self, quiet: Duration) -> impl Future<Output = ()> + Send + 'static {
        let mut state = self.state.clone();
        async move { while let Ok(Ok(())) = tokio::time::timeout(quiet, state.changed()).await {} }
    }

    /// The digest given to [`FeedWriter::finish`], once it is called.
    pub fn digest(&self) -> Option<Digest> {
        self.state.borrow().digest.clone()
    }

    /// Every piece from the first, each as soon as it is pushed; ends after the last piece of
    /// a finished feed, or with an error if the upload broke off.
    pub fn reader(&self) -> impl Stream<Item = Result<Bytes, FeedError>> + Send + 'static {
        let state = self.state.clone();
        futures::stream::unfold(
            (state, 0usize, false),
            |(mut state, next, done)| async move {
                if done {
                    return None;
                }
                let mut closed = false;
                loop {
                    let seen = {
                        let now = state.borrow_and_update();
                        match (now.pieces.get(next), now.end) {
                            (Some(piece), _) => Some(Ok(piece.clone())),
                            (None, End::Finished) => return None,
                            (None, End::BrokenOff) => Some(Err(FeedError::BrokenOff)),
                            (None, End::Open) => None,
                        }
                    };
                    match seen {
                        Some(Ok(piece)) => return Some((Ok(piece), (state, next + 1, false))),
                        Some(Err(e)) => return Some((Err(e), (state, next, true))),
                        // The writer sets an end before it goes (see `Drop`), so this is a safeguard.
                        None if closed => {
                            return Some((Err(FeedError::BrokenOff), (state, next, true)));
                        }
                        None => closed = state.changed().await.is_err(),
                    }
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_reader_gets_pieces_as_they_are_pushed_and_ends_at_finish() {
        let (writer, feed) = feed();
        let mut early = Box::pin(feed.reader());
        writer.push(Bytes::from_static(b"ab"));
        assert_eq!(early.next().await, Some(Ok(Bytes::from_static(b"ab"))));
        writer.push(Bytes::from_static(b"cd"));
        assert_eq!(early.next().await, Some(Ok(Bytes::from_static(b"cd"))));
        writer.finish(Digest::of(b"test"));
        assert_eq!(early.next().await, None);
        // A reader that starts after the end still reads everything.
        let late: Vec<_> = feed.reader().collect().await;
        assert_eq!(
            late,
            vec![Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"cd"))]
        );
    }

    #[tokio::test]
    async fn a_reader_waits_for_the_next_piece() {
        let (writer, feed) = feed();
        let reader = tokio::spawn(feed.reader().collect::<Vec<_>>());
        tokio::task::yield_now().await;
        writer.push(Bytes::from_static(b"x"));
        tokio::task::yield_now().await;
        writer.push(Bytes::from_static(b"y"));
        writer.finish(Digest::of(b"test"));
        let got = reader.await.expect("reader task");
        assert_eq!(
            got,
            vec![Ok(Bytes::from_static(b"x")), Ok(Bytes::from_static(b"y"))]
        );
    }

    #[tokio::test]
    async fn a_broken_off_or_dropped_writer_ends_readers_with_an_error() {
        let (writer, feed) = feed();
        writer.push(Bytes::from_static(b"x"));
        writer.break_off();
        let got: Vec<_> = feed.reader().collect().await;
        assert_eq!(
            got,
            vec![Ok(Bytes::from_static(b"x")), Err(FeedError::BrokenOff)]
        );

        let (writer, dropped) = super::feed();
        let reader = tokio::spawn(dropped.reader().collect::<Vec<_>>());
        drop(writer);
        assert_eq!(
            reader.await.expect("reader task"),
            vec![Err(FeedError::BrokenOff)]
        );
    }

    #[tokio::test]
    async fn ended_resolves_when_the_writer_finishes_not_before() {
        let (writer, feed) = feed();
        let mut ended = Box::pin(feed.ended());
        writer.push(Bytes::from_static(b"x"));
        let early = tokio::time::timeout(std::time::Duration::from_millis(20), &mut ended).await;
        assert!(early.is_err(), "still open");
        writer.finish(Digest::of(b"test"));
        ended.await;
        // And when the writer goes unfinished.
        let (writer, feed) = super::feed();
        drop(writer);
        feed.ended().await;
    }

    #[tokio::test]
    async fn a_feed_finished_as_a_digest_names_it_after_the_last_piece() {
        let (writer, feed) = feed();
        let digest = Digest::of(b"x");
        writer.push(Bytes::from_static(b"x"));
        assert_eq!(feed.digest(), None);
        writer.finish(digest.clone());
        let got: Vec<_> = feed.reader().collect().await;
        assert_eq!(got, vec![Ok(Bytes::from_static(b"x"))]);
        assert_eq!(feed.digest(), Some(digest));
    }

    #[tokio::test(start_paused = true)]
    async fn quiet_for_resolves_only_after_a_quiet_stretch() {
        let (writer, feed) = feed();
        let quiet = Duration::from_secs(60);
        let mut idle = Box::pin(feed.quiet_for(quiet));
        tokio::time::sleep(Duration::from_secs(50)).await;
        writer.push(Bytes::from_static(b"x"));
        // 50 s after that piece (100 s from the start): not yet quiet for 60 s.
        let early = tokio::time::timeout(Duration::from_secs(50), &mut idle).await;
        assert!(early.is_err(), "a piece restarts the quiet stretch");
        tokio::time::timeout(Duration::from_secs(11), &mut idle)
            .await
            .expect("quiet for 60 s since the last piece");
        drop(writer);
    }

    #[tokio::test]
    async fn a_whole_feed_is_one_finished_piece_that_names_its_digest() {
        let digest = Digest::of(b"blob");
        let feed = whole(Bytes::from_static(b"blob"), digest.clone());
        let got: Vec<_> = feed.reader().collect().await;
        assert_eq!(got, vec![Ok(Bytes::from_static(b"blob"))]);
        assert_eq!(feed.digest(), Some(digest));
    }
}
