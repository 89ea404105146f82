//! Builds the emulated sandbox's base rootfs when it is not cached yet, and prints its path.
//! `scripts/test.sh` runs it before the suite, so that the download happens while it
//! installs what the tests need rather than inside a test. Needs root, like the suite.

#![allow(clippy::print_stdout)]

fn main() {
    println!("{}", novita_ssh_e2e::sandbox::base_rootfs().display());
}
