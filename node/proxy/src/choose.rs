//! Which ready endpoint a new connection to a Service port goes to (pure; the caller passes
//! the clock). As kube-proxy's userspace `LoadBalancerRR`: endpoints in turn, and with
//! `sessionAffinity: ClientIP` a client keeps the endpoint it was given while it keeps
//! coming back within the timeout (measured from its last connection). When the endpoints
//! change, affinities to endpoints that are gone are forgotten; the others stay.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Affinity records kept per Service port before expired ones are swept on every choice.
const SWEEP_ABOVE: usize = 1024;

/// A client's endpoint and when it last connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sticky {
    backend: SocketAddr,
    last_used: Instant,
}

/// The balancing state of one Service port.
#[derive(Debug, Default, Clone)]
pub struct PortState {
    /// The endpoints of the previous choice: a change prunes the affinities.
    seen: Vec<SocketAddr>,
    next: usize,
    affinity: HashMap<IpAddr, Sticky>,
}

/// The endpoint among `backends` (sorted, ready) for a new connection from `client` at
/// `now`; `None` when there is none. `affinity` is the ClientIP timeout, if any.
pub fn choose(
    state: &mut PortState,
    backends: &[SocketAddr],
    affinity: Option<Duration>,
    client: IpAddr,
    now: Instant,
) -> Option<SocketAddr> {
    if backends.is_empty() {
        state.affinity.clear();
        return None;
    }
    if state.seen != backends {
        state.seen = backends.to_vec();
        state.affinity.retain(|_, s| backends.contains(&s.backend));
    }
    let Some(timeout) = affinity else {
        state.affinity.clear();
        return Some(round_robin(state, backends));
    };
    if state.affinity.len() > SWEEP_ABOVE {
        state
            .affinity
            .retain(|_, s| now.saturating_duration_since(s.last_used) < timeout);
    }
    if let Some(sticky) = state.affinity.get_mut(&client)
        && now.saturating_duration_since(sticky.last_used) < timeout
    {
        sticky.last_used = now;
        return Some(sticky.backend);
    }
    let backend = round_robin(state, backends);
    let last_used = now;
    state.affinity.insert(client, Sticky { backend, last_used });
    Some(backend)
}

fn round_robin(state: &mut PortState, backends: &[SocketAddr]) -> SocketAddr {
    let pick = backends[state.next % backends.len()];
    state.next = state.next.wrapping_add(1);
    pick
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter()
            .map(|a| format!("{a}:80").parse().unwrap())
            .collect()
    }

    /// One connection: the endpoints then, the client, seconds since the start, the answer.
    type Step = (
        &'static [&'static str],
        &'static str,
        u64,
        Option<&'static str>,
    );

    fn run(affinity: Option<Duration>, steps: &[Step]) {
        let start = Instant::now();
        let mut state = PortState::default();
        for (i, (backends, client, at, want)) in steps.iter().enumerate() {
            let now = start + Duration::from_secs(*at);
            let got = choose(
                &mut state,
                &addrs(backends),
                affinity,
                client.parse().unwrap(),
                now,
            );
            let want = want.map(|w| format!("{w}:80").parse::<SocketAddr>().unwrap());
            assert_eq!(got, want, "step {i}: {backends:?} from {client} at {at}s");
        }
    }

    const AB: &[&str] = &["10.244.0.2", "10.244.1.3"];
    const ABC: &[&str] = &["10.244.0.2", "10.244.1.3", "10.244.2.4"];
    const B: &[&str] = &["10.244.1.3"];
    const NONE: &[&str] = &[];

    #[test]
    fn round_robin_takes_endpoints_in_turn_and_follows_changes() {
        run(
            None,
            &[
                (AB, "10.244.0.9", 0, Some("10.244.0.2")),
                (AB, "10.244.0.9", 0, Some("10.244.1.3")),
                (AB, "10.244.0.8", 0, Some("10.244.0.2")),
                (ABC, "10.244.0.9", 1, Some("10.244.0.2")),
                (B, "10.244.0.9", 2, Some("10.244.1.3")),
                (B, "10.244.0.9", 2, Some("10.244.1.3")),
                (NONE, "10.244.0.9", 3, None),
                (AB, "10.244.0.9", 4, Some("10.244.0.2")),
            ],
        );
    }

    #[test]
    fn client_ip_affinity_keeps_a_client_on_its_endpoint_until_idle_past_the_timeout() {
        run(
            Some(Duration::from_secs(10)),
            &[
                (ABC, "10.244.0.9", 0, Some("10.244.0.2")),
                (ABC, "10.244.0.9", 5, Some("10.244.0.2")),
                (ABC, "10.244.0.8", 5, Some("10.244.1.3")),
                (ABC, "10.244.0.9", 14, Some("10.244.0.2")),
                (ABC, "10.244.0.8", 14, Some("10.244.1.3")),
                // 10.244.0.9 was last seen at 14 s: at 24 s it has been idle for the timeout.
                (ABC, "10.244.0.9", 24, Some("10.244.2.4")),
                (ABC, "10.244.0.9", 25, Some("10.244.2.4")),
            ],
        );
    }

    #[test]
    fn an_affinity_to_an_endpoint_that_left_is_forgotten() {
        run(
            Some(Duration::from_secs(100)),
            &[
                (AB, "10.244.0.9", 0, Some("10.244.0.2")),
                (AB, "10.244.0.8", 0, Some("10.244.1.3")),
                (B, "10.244.0.9", 1, Some("10.244.1.3")),
                (B, "10.244.0.8", 1, Some("10.244.1.3")),
                // 0.2 comes back: 0.9 stays where it went, 0.8 never moved.
                (AB, "10.244.0.9", 2, Some("10.244.1.3")),
                (AB, "10.244.0.8", 2, Some("10.244.1.3")),
                (NONE, "10.244.0.8", 3, None),
                (AB, "10.244.0.8", 4, Some("10.244.1.3")),
            ],
        );
    }
}
