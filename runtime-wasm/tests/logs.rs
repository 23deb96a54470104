//! Container logs can be followed while the guest writes them, and the follow ends when the
//! container does.

use crate::support::{Harness, bounded, guest};
use anyhow::Result;
use futures::StreamExt;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_streams_until_the_container_ends() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("p", "10.244.9.2")?;
        let env = [
            ("TARGET", "10.244.9.200:1"),
            ("COUNT", "5"),
            ("INTERVAL_MS", "30"),
        ];
        h.rt.create_container("p", guest("c", "client", &env))
            .await?;
        let log = h.rt.logs("p", "c")?;
        let follow = log.follow(true, std::future::pending());
        h.rt.start_container("p", "c").await?;
        let chunks: Vec<_> =
            tokio::time::timeout(Duration::from_secs(30), follow.collect()).await?;
        let text = String::from_utf8(chunks.concat())?;
        for i in 0..5 {
            assert!(
                text.contains(&format!("error {i} calling 10.244.9.200:1")),
                "{text}"
            );
        }
        assert!(chunks.len() > 1, "expected several chunks while following");
        h.shutdown().await;
        Ok(())
    })
    .await
}
