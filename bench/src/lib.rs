//! Shared pieces of skiff's benchmark programs (being written).
