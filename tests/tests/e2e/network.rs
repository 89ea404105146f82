//! network scenarios.
