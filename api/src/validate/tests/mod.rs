//! Tests of validation, defaulting and strict field checking.
