//! skiff's web dashboard: hand-written HTML, CSS and JavaScript modules embedded in the binary
//! (no CDN, no build step, no second process), served by the API server at `/dashboard/`.
//!
//! The files are public: they hold no data. Every call the page makes is an ordinary
//! Kubernetes API call carrying the signed-in bearer token, so the page can do no more than the
//! token can. [`serve`] answers one request for a file: content type, a strong `ETag` (a
//! `304` when the browser has the file), `Cache-Control: no-cache` (the browser revalidates,
//! so a new binary's files are seen at once) and gzip when the browser takes it.
//!
//! # Layout
//! - `assets`: the embedded files and their content types.
//! - `serve`: URL path -> response, with the files' ETags and gzipped bodies computed once.

#![deny(unreachable_pub)]

mod assets;
mod serve;

pub use serve::{PREFIX, serve};
