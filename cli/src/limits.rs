//! Process limits a long-running role needs: the open-file limit raised to what the system
//! allows, as Go's runtime (and so kubelet and kube-apiserver) does at start.

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. An idle pod holds a listener socket and,
/// while it writes, a log file; every API connection and watch holds one more, so the usual
/// soft limit of 1,024 (or 20,000 here) stops a dense node long before its memory does.
/// Failing to raise it is not fatal: the role runs with what it has, and says so.
pub fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // `None` is unlimited; soft may always be raised up to hard.
    if limit.current == limit.maximum {
        return;
    }
    let raised = rustix::process::Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => tracing::debug!(
            from = ?limit.current,
            to = ?limit.maximum,
            "raised the open-file limit"
        ),
        Err(e) => tracing::warn!(
            "could not raise the open-file limit from {:?}: {e}",
            limit.current
        ),
    }
}

#[cfg(test)]
mod tests {
    use rustix::process::{Resource, getrlimit};

    #[test]
    fn the_soft_limit_reaches_the_hard_one() {
        super::raise_open_file_limit();
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, limit.maximum);
    }
}
