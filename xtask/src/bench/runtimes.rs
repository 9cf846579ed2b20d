//! The command lines compared: one full lifecycle each (start a busybox container running
//! /bin/true, wait for it, clean up), for every runtime, over the same rootfs.

use std::process::{Command, Stdio};

use super::setup::{Workdir, CRUN_HIDE_UNIFIED};

pub const RS_EXECUTE: &str = "lxc-rs execute";
pub const RS_START: &str = "lxc-rs start -F";
pub const LXC_EXECUTE: &str = "lxc-execute";
pub const LXC_START: &str = "lxc-start -F";
pub const RUNC: &str = "runc run";
pub const CRUN: &str = "crun run (wrapped)";
pub const CRUN_WRAPPER: &str = "crun wrapper alone";
/// Not a command: `crun run (wrapped)` minus `crun wrapper alone`.
pub const CRUN_NET: &str = "crun run (minus wrapper)";
pub const FLOOR: &str = "unshare floor";

pub struct Runtime {
    pub name: &'static str,
    pub argv: Vec<String>,
    /// The lxc-rs row this one is compared with (`lxc-rs ÷ this` in the report).
    pub vs: &'static str,
    pub note: Option<&'static str>,
}

/// Every lifecycle row, lxc-rs first.
pub fn lifecycle(w: &Workdir) -> Vec<Runtime> {
    let rs = w.rs_name();
    let lxc = w.lxc_name();
    let rs_path = w.rs_path.display().to_string();
    let lxc_path = w.lxc_path.display().to_string();
    let lxc_rs = w.lxc_rs.display().to_string();
    let bundle = w.bundle.display().to_string();
    let rootfs = w.rootfs().display().to_string();
    vec![
        Runtime {
            name: RS_EXECUTE,
            argv: args(&[
                &lxc_rs,
                "execute",
                "-n",
                &rs,
                "-P",
                &rs_path,
                "--",
                "/bin/true",
            ]),
            vs: RS_EXECUTE,
            note: None,
        },
        Runtime {
            name: RS_START,
            argv: args(&[
                &lxc_rs,
                "start",
                "-F",
                "-n",
                &rs,
                "-P",
                &rs_path,
                "--",
                "/bin/true",
            ]),
            vs: RS_START,
            note: None,
        },
        Runtime {
            name: LXC_EXECUTE,
            argv: args(&[
                "lxc-execute",
                "-n",
                &lxc,
                "-P",
                &lxc_path,
                "--",
                "/bin/true",
            ]),
            vs: RS_EXECUTE,
            note: None,
        },
        Runtime {
            name: LXC_START,
            argv: args(&[
                "lxc-start",
                "-F",
                "-n",
                &lxc,
                "-P",
                &lxc_path,
                "--",
                "/bin/true",
            ]),
            vs: RS_START,
            note: None,
        },
        Runtime {
            name: RUNC,
            // `run` deletes the container when it exits, so one id serves every run.
            argv: args(&["runc", "run", "--bundle", &bundle, &w.runc_id()]),
            vs: RS_EXECUTE,
            note: None,
        },
        Runtime {
            name: CRUN,
            argv: args(&[
                "unshare",
                "-m",
                "sh",
                "-c",
                &format!(
                    "{CRUN_HIDE_UNIFIED} && exec crun run --bundle {bundle} {}",
                    w.crun_id()
                ),
            ]),
            vs: RS_EXECUTE,
            note: Some("inside `unshare -m sh -c 'mount tmpfs over cgroup2 && exec crun'`"),
        },
        Runtime {
            name: CRUN_WRAPPER,
            argv: args(&[
                "unshare",
                "-m",
                "sh",
                "-c",
                &format!("{CRUN_HIDE_UNIFIED} && exec true"),
            ]),
            vs: RS_EXECUTE,
            note: Some("the wrapper crun needs on this host, running `true` instead of crun"),
        },
        Runtime {
            name: FLOOR,
            argv: args(&[
                "unshare",
                "--mount",
                "--pid",
                "--uts",
                "--ipc",
                "--net",
                "--fork",
                "chroot",
                &rootfs,
                "/bin/true",
            ]),
            vs: RS_EXECUTE,
            note: Some("the same namespaces and rootfs, nothing else: the floor"),
        },
    ]
}

/// The same lxc-rs / LXC command with `-s KEY=VALUE` added before its `--`.
pub fn with_define(argv: &[String], define: &str) -> Vec<String> {
    let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let mut out = argv[..at].to_vec();
    out.push("-s".into());
    out.push(define.into());
    out.extend_from_slice(&argv[at..]);
    out
}

/// The same lxc-rs / LXC command with every `-s KEY=VALUE` of `defines` added before its `--`.
pub fn with_defines(argv: &[String], defines: &[(&str, &str)]) -> Vec<String> {
    defines.iter().fold(argv.to_vec(), |a, (k, v)| {
        with_define(&a, &format!("{k}={v}"))
    })
}

/// The same lxc-rs / LXC command running `command` in the container instead of what follows
/// its `--`.
pub fn with_command(argv: &[String], command: &[&str]) -> Vec<String> {
    let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let mut out = argv[..at].to_vec();
    out.push("--".into());
    out.extend(command.iter().map(|s| s.to_string()));
    out
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Does this command line work? Up to three tries, so one rare failure does not take a row
/// out; `Err` carries the end of what the last try printed, for the report.
pub fn probe(argv: &[String]) -> std::result::Result<(), String> {
    probe_once(argv)
        .or_else(|_| probe_once(argv))
        .or_else(|_| probe_once(argv))
}

fn probe_once(argv: &[String]) -> std::result::Result<(), String> {
    let Some((program, rest)) = argv.split_first() else {
        return Err("empty command line".into());
    };
    let out = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    match stderr.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
        Some(last) => Err(last.to_string()),
        None => Err(out.status.to_string()),
    }
}
