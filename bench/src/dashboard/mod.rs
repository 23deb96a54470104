//! The dashboard's benchmark (`dashboard-bench`, issue 19): its first load in headless Chromium
//! (time to interactive, bytes transferred) and the API server's CPU while the page shows
//! 1,000 pods that change all the time.
//! - `pods`: 1,000 pods bound to a node with no agent (they never run: their status is written
//!   by the benchmark, as an agent would write it) and the status updater.
//! - `page`: `bench/dashboard/page.mjs` (playwright-core on `/usr/bin/chromium`) as a
//!   subprocess: the first-load runs, and a page left open on a view.

mod page;
mod pods;

pub use crate::cpu::cpu_seconds;
pub use page::{FirstLoad, LivePage, Shown, first_load};
pub use pods::{FAKE_NODE, Updater, create_pods};
