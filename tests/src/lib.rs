//! End-to-end fixtures.
