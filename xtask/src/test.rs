//! `cargo xtask test`: the one command that checks a change the way CI does.

use crate::deps;
use crate::run::{cargo, Result, Runner};

pub fn run(extra: &[String]) -> Result<()> {
    let mut r = Runner::new("test", 4);
    r.step(
        "install",
        "apt packages and rustup components the tests need",
        || {
            deps::ensure_apt_packages()?;
            deps::ensure_rust_components()
        },
    )?;
    r.command("fmt", cargo(["fmt", "--all", "--", "--check"]))?;
    r.command(
        "clippy",
        cargo([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    let mut test = cargo(["test", "--workspace"]);
    test.args(extra);
    r.command("test", test)
}
