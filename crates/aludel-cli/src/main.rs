//! The `aludel` command (being built).
fn main() {}
