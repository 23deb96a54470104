//! The Raft log in redb (being written).
