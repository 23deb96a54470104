//! JSON merge patch, JSON patch, strategic merge patch and server-side apply on JSON objects (being written).
