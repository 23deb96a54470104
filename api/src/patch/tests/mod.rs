//! Tests of `patch`: table-driven examples per patch type and property tests that no input panics.
