//! Shared helpers for skiff's end-to-end tests (being written).
