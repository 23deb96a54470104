//! Minimal OpenAPI v3 documents so kubectl validates on the server (being written).
