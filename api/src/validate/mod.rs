//! Validation and defaulting of objects before they are stored (being written).
