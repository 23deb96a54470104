//! Discovery documents: /api, /apis, APIResourceList per group/version (being written).
