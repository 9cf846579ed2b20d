//! Installing what builds, tests and the demo need, so a fresh Debian 12 machine (CI's) works
//! with nothing but a Rust toolchain on it.

use std::process::{Command, Stdio};

use crate::run::{check_status, display, fail, Result};

/// Debian packages, each with the reason it is needed (printed when it gets installed).
const APT_PACKAGES: &[(&str, &str)] = &[
    (
        "pkg-config",
        "locates libseccomp for the seccomp policy compiler",
    ),
    (
        "libseccomp-dev",
        "the seccomp policy compiler links libseccomp",
    ),
    (
        "busybox-static",
        "the root file system of test and demo containers",
    ),
    (
        "lxc",
        "LXC itself, the oracle the differential tests compare against",
    ),
    (
        "lxc-templates",
        "LXC's distro configs under /usr/share/lxc/config, which the seccomp tests load",
    ),
    (
        "libc6-dev",
        "static libc for the seccomp tests' syscall probe, run inside containers",
    ),
    ("gcc", "compiles the seccomp tests' syscall probe"),
    (
        "lxc-tests",
        "LXC 5.0.2's own shell tests (/usr/bin/lxc-test-*), run through lxc-rs's tool-name links",
    ),
    (
        "lxc-dev",
        "liblxc.so.1 and its headers, loaded by the differential tests",
    ),
    ("clang", "compiles the BPF cgroup device programs"),
    (
        "iproute2",
        "`ip`, which the network tests use to inspect links",
    ),
    (
        "rsync",
        "LXC's lxc-copy / lxc-snapshot copy rootfs with it (the storage differential tests)",
    ),
    (
        "uidmap",
        "newuidmap / newgidmap, the path usernsexec and unshare take for a map (and LXC's tools)",
    ),
    (
        "btrfs-progs",
        "mkfs.btrfs, for the btrfs storage tests' own filesystem on a loop device",
    ),
    (
        "criu",
        "checkpoint / restore (lxc-rs checkpoint) drives CRIU; its tests run in the qemu guest",
    ),
    (
        "iptables",
        "CRIU locks a dumped container's network with iptables-restore",
    ),
];

/// Install the missing packages of [`APT_PACKAGES`] with apt-get (as root), or explain what to
/// install when we are not root.
pub fn ensure_apt_packages() -> Result<()> {
    ensure(APT_PACKAGES)
}

/// Install the missing packages of `packages` (name, why it is needed).
pub fn ensure(packages: &[(&str, &str)]) -> Result<()> {
    let mut missing = Vec::new();
    for &(pkg, why) in packages {
        if !dpkg_installed(pkg)? {
            missing.push((pkg, why));
        }
    }
    if missing.is_empty() {
        let names: Vec<&str> = packages.iter().map(|(p, _)| *p).collect();
        eprintln!("apt packages present: {}", names.join(" "));
        return Ok(());
    }

    let names: Vec<&str> = missing.iter().map(|(p, _)| *p).collect();
    let reasons: String = missing
        .iter()
        .map(|(p, why)| format!("  {p}: {why}\n"))
        .collect();
    if !is_root()? {
        return Err(fail(format!(
            "missing apt packages, and installing them needs root:\n{reasons}\
             install them with:\n  sudo apt-get install {}\nor run this task as root",
            names.join(" ")
        )));
    }
    eprint!(
        "installing {} missing apt package(s):\n{reasons}",
        missing.len()
    );
    let mut update = Command::new("apt-get");
    update.arg("update");
    run_apt(update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "--no-install-recommends"])
        .args(&names);
    run_apt(install)?;

    let still: Vec<&str> = names
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p).unwrap_or(false))
        .collect();
    if still.is_empty() {
        Ok(())
    } else {
        Err(fail(format!(
            "apt-get finished but these packages are still not installed: {}",
            still.join(" ")
        )))
    }
}

fn run_apt(mut cmd: Command) -> Result<()> {
    // apt's chatter goes to stderr with our progress, so stdout stays a task's own output.
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(std::io::stderr());
    eprintln!("$ DEBIAN_FRONTEND=noninteractive {}", display(&cmd));
    check_status(&mut cmd)
}

/// `dpkg-query` is the authority on what is installed; a package it does not know (or one only
/// half installed, or removed with its config left) counts as missing.
fn dpkg_installed(pkg: &str) -> Result<bool> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| {
            fail(format!(
                "cannot run dpkg-query to check for {pkg} ({e}): this task installs its \
                 dependencies on Debian/Ubuntu only; elsewhere install the equivalents of: {}",
                APT_PACKAGES
                    .iter()
                    .map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(" ")
            ))
        })?;
    Ok(out.status.success()
        && String::from_utf8_lossy(&out.stdout).trim() == "install ok installed")
}

/// The effective uid from /proc (std has no geteuid, and this saves a libc dependency).
pub fn is_root() -> Result<bool> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| fail(format!("cannot read /proc/self/status: {e}")))?;
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .ok_or_else(|| fail("/proc/self/status has no Uid: line"))?;
    Ok(euid == "0")
}

/// rustfmt and clippy come as rustup components; add the ones `cargo` cannot run.
pub fn ensure_rust_components() -> Result<()> {
    for (subcommand, component) in [("fmt", "rustfmt"), ("clippy", "clippy")] {
        let mut probe = crate::run::cargo([subcommand, "--version"]);
        let works = probe
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works {
            eprintln!("cargo {subcommand}: present");
            continue;
        }
        eprintln!("cargo {subcommand} is missing: adding the rustup component {component}");
        let mut add = Command::new("rustup");
        // From the workspace root, so a rust-toolchain file there picks the toolchain.
        add.args(["component", "add", component])
            .current_dir(crate::run::workspace_root());
        eprintln!("$ {}", display(&add));
        check_status(&mut add)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_package_counts_as_missing() {
        if Command::new("dpkg-query")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skip: no dpkg-query on this machine");
            return;
        }
        assert!(!dpkg_installed("lxcrs-t-no-such-package").unwrap());
    }

    #[test]
    fn root_is_read_from_proc() {
        // Whoever runs the tests, the answer comes back without an error.
        is_root().unwrap();
    }
}
