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
        options
    }
}
