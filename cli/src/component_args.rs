//! The flags of the scheduler and controller manager that `skiff server` (and `skiff up`)
//! run in-process, named as k3s and kube-controller-manager name them.

use std::time::Duration;

use clap::Args;
use skiff_server::components::ComponentOptions;

#[derive(Args, Debug, Clone)]
pub struct ComponentArgs {
    /// Do not run the scheduler in this process.
    #[arg(long)]
    disable_scheduler: bool,
    /// Do not run the controller manager in this process.
    #[arg(long)]
    disable_controller_manager: bool,
    /// Seconds without a node Lease renewal before the node turns Ready=Unknown.
    #[arg(long, default_value_t = 50, value_name = "SECONDS")]
    node_monitor_grace_period: u32,
    /// Seconds a pod tolerates a not-ready or unreachable node (when it declares no
    /// toleration) before it is evicted.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    default_unreachable_toleration_seconds: u32,
    /// Lease duration of the scheduler and controller-manager elections, in seconds.
    #[arg(long, default_value_t = 15, value_name = "SECONDS")]
    leader_elect_lease_duration: u32,
    /// Prefix length of the pod CIDR each Node gets from the cluster range (10.244.0.0/16),
    /// as kube-controller-manager's `--node-cidr-mask-size` (default 24: 254 pod IPs a node).
    #[arg(long, default_value_t = 24, value_name = "BITS")]
    node_cidr_mask_size: u8,
    /// How long Events are kept after their last write, as kube-apiserver's --event-ttl
    /// (`1h`, `30m`, `90s`, or plain seconds).
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = parse_duration)]
    event_ttl: Duration,
    /// Test setting: how often expired Events are looked for, in seconds.
    #[arg(
        long,
        hide_short_help = true,
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    event_ttl_sweep_seconds: u64,
}

/// `1h`, `30m`, `90s`, `1h30m` or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    skiff_api::duration::parse_seconds(text)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is not a duration like 1h, 30m, 90s or 1h30m"))
}

impl ComponentArgs {
    pub fn options(&self) -> ComponentOptions {
        let mut options = ComponentOptions {
            scheduler: !self.disable_scheduler,
            controller_manager: !self.disable_controller_manager,
            lease_duration: Duration::from_secs(self.leader_elect_lease_duration.max(1).into()),
            ..ComponentOptions::default()
        };
        let lifecycle = &mut options.controllers.node_lifecycle;
        lifecycle.grace_period_secs = self.node_monitor_grace_period.into();
        lifecycle.default_toleration_secs = self.default_unreachable_toleration_seconds.into();
        options.controllers.node_cidr_mask = self.node_cidr_mask_size;
        options.controllers.event_ttl = self.event_ttl;
        options.controllers.event_ttl_sweep =
            Duration::from_secs(self.event_ttl_sweep_seconds.max(1));
        options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ttl_durations() {
        for (text, want) in [
            ("1h", Some(3600)),
            ("30m", Some(1800)),
            ("90s", Some(90)),
            ("1h30m", Some(5400)),
            ("20", Some(20)),
            ("0s", None),
            ("1d", None),
            ("h", None),
            ("10m5", None),
        ] {
            assert_eq!(
                parse_duration(text).ok().map(|d| d.as_secs()),
                want,
                "{text}"
            );
        }
    }
}
