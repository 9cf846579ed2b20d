//! `cargo xtask test`: the one command that checks a change the way CI does.

use crate::deps;
use crate::run::{build_net_plugins, cargo, target_dir, Result, Runner};

pub fn run(extra: &[String]) -> Result<()> {
    let mut r = Runner::new("test", 5);
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
    // The container tests start veth networks: lxc-rs loads the plugins from its own
    // directory, where `cargo test` alone does not put them.
    let release = extra.iter().any(|a| a == "--release");
    let dir = target_dir()?.join(if release { "release" } else { "debug" });
    r.step("plugins", "the network plugins, next to lxc-rs", || {
        build_net_plugins(&dir, release)
    })?;
    let mut test = cargo(["test", "--workspace"]);
    test.args(extra);
    r.command("test", test)
}
