//! `lxc-rs unshare`, like `lxc-unshare`: run a command in new namespaces, outside any
//! container. Exit status 0 when the command exited 0, else 1 (LXC's); with `-d`, 0 once it
//! runs.

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;

#[derive(Debug, Args)]
pub struct UnshareArgs {
    /// Namespaces to make, an OR'd list: MOUNT, PID, UTSNAME, IPC, USER, NETWORK (or their
    /// short names mnt, pid, uts, ipc, user, net, cgroup, time, in any case)
    #[arg(short = 's', long = "namespaces", value_name = "FLAGS")]
    pub namespaces: Option<String>,

    /// Become this user (name or uid); with -s USER the caller's uid is mapped to it
    #[arg(short = 'u', long = "user", value_name = "USERID")]
    pub user: Option<String>,

    /// Set the hostname in the new uts namespace (needs -s UTSNAME)
    #[arg(short = 'H', long = "hostname", value_name = "HOSTNAME")]
    pub hostname: Option<String>,

    /// Move this host interface into the new network namespace (needs -s NETWORK; repeatable)
    #[arg(short = 'i', long = "ifname", value_name = "IFNAME")]
    pub ifname: Vec<String>,

    /// Do not wait for the command to exit
    #[arg(short = 'd', long = "daemon")]
    pub daemon: bool,

    /// Mount /proc, /dev/shm and /dev/mqueue afresh in the new mount namespace (needs -s MOUNT)
    #[arg(short = 'M', long = "remount")]
    pub remount: bool,

    /// The command and its arguments (after `--` when it has options of its own)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub argv: Vec<OsString>,
}

pub fn unshare(a: &UnshareArgs) -> Result<ExitCode, CliError> {
    use lxc::unshare::{namespace_flags, UnshareOptions};
    let usage = |m: &str| Err(CliError::Usage(m.into()));
    let flags = match &a.namespaces {
        Some(s) => namespace_flags(s)?,
        None => 0,
    };
    let uid = a
        .user
        .as_deref()
        .map(lxc::unshare::lookup_user)
        .transpose()?;
    if a.argv.is_empty() {
        return usage("a command to execute in the new namespace is required");
    }
    if flags == 0 {
        return usage("a namespace to execute command is required (-s NAMESPACES)");
    }
    if flags & libc::CLONE_NEWNET == 0 && !a.ifname.is_empty() {
        return usage("-i <interfacename> needs -s NETWORK option");
    }
    if flags & libc::CLONE_NEWUTS == 0 && a.hostname.is_some() {
        return usage("-H <hostname> needs -s UTSNAME option");
    }
    if flags & libc::CLONE_NEWNS == 0 && a.remount {
        return usage("-M needs -s MOUNT option");
    }
    let opts = UnshareOptions {
        flags,
        uid,
        hostname: a.hostname.clone(),
        remount: a.remount,
    };
    let child = lxc::unshare::unshare(&opts, &a.argv)?;
    for ifname in &a.ifname {
        // As LXC: a device that cannot be moved is reported, and the command runs anyway.
        if let Err(e) = move_interface(ifname, child.pid) {
            eprintln!(
                "{}: could not move interface {ifname:?} into pid {}'s network namespace: {e}",
                crate::lxc_names::speaker("unshare", None),
                child.pid
            );
        }
    }
    if a.daemon {
        return Ok(ExitCode::SUCCESS);
    }
    match child.wait()? {
        lxc::Exit::Code(0) => Ok(ExitCode::SUCCESS),
        _ => Ok(ExitCode::FAILURE),
    }
}

/// `ip link set dev IFNAME netns PID`, over netlink.
fn move_interface(ifname: &str, pid: i32) -> Result<(), String> {
    use lxc::net::netlink::Netlink;
    let netns = std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(|e| e.to_string())?;
    let nl = Netlink::current().map_err(|e| e.to_string())?;
    let index = nl.index_of(ifname).map_err(|e| e.to_string())?;
    nl.move_to_netns(index, netns.as_fd())
        .map_err(|e| e.to_string())
}
