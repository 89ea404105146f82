//! sshconfig scenarios.
