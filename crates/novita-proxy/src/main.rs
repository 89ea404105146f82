//! The `novita-proxy` binary: everything lives in the library (see `lib.rs`).

fn main() {
    novita_proxy::main()
}
