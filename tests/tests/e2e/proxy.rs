//! proxy scenarios.
