//! Reference examples and benchmarks for the mfa-kit crates; nothing to use from here.
