//! sandbox scenarios.
