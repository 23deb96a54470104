//! Shared pieces of skiff's benchmark programs: the store load generator
//! (`store-bench`) that drives skiff's KV endpoint and etcd's JSON gateway
//! with the same kind of request, and its fsync probe, statistics and tables; and the API
//! server benchmark (`api-bench`, module [`api`]); and the network (`net-bench`, module
//! [`net`]); and write availability across leader loss
//! (`failover-bench`, module [`failover`]); and scheduler throughput (`sched-bench`, module
//! [`sched`]); and benchmarks on `skiff up` (`up-bench`, module [`up`]).

pub mod api;
pub mod conn;
pub mod cpu;
pub mod dashboard;
pub mod failover;
pub mod fsync;
pub mod load;
pub mod net;
pub mod record;
pub mod sched;
pub mod setup;
pub mod snapwatch;
pub mod stats;
pub mod table;
pub mod target;
pub mod up;
