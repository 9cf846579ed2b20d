//! Commands for a running container: `freeze`, `unfreeze`, `reboot` and `cgroup`, like
//! `lxc-freeze`, `lxc-unfreeze`, `lxc-stop -r` and `lxc-cgroup`.

use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct FreezeArgs {}

#[derive(Debug, Args)]
pub struct RebootArgs {
    /// Seconds to wait until the container runs again with a new init; -1 waits forever
    /// (default 60, as lxc-stop -r)
    #[arg(
        short = 't',
        long,
        value_name = "TIMEOUT",
        allow_negative_numbers = true,
        conflicts_with = "nowait"
    )]
    pub timeout: Option<i64>,

    /// Ask for the reboot and return without waiting (same as -t 0)
    #[arg(short = 'W', long)]
    pub nowait: bool,
}

#[derive(Debug, Args)]
pub struct CgroupArgs {
    /// The cgroup file, e.g. memory.limit_in_bytes, cpuset.cpus, cgroup.procs
    #[arg(value_name = "KEY")]
    pub key: String,

    /// Write this value instead of printing the current one
    #[arg(value_name = "VALUE")]
    pub value: Option<String>,
}

pub fn freeze(_a: &FreezeArgs, g: &Global) -> Result<ExitCode, CliError> {
    super::handle(g)?.freeze()?;
    Ok(ExitCode::SUCCESS)
}

/// As lxc-unfreeze: a defined container that is not frozen is already thawed, stopped or not:
/// exit 0. One that does not exist is still an error.
pub fn unfreeze(_a: &FreezeArgs, g: &Global) -> Result<ExitCode, CliError> {
    let c = super::handle(g)?;
    match c.unfreeze() {
        Err(lxc::Error::NotRunning { .. }) if c.defined()? => Ok(ExitCode::SUCCESS),
        r => {
            r?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// lxc-stop -r: the reboot signal, then (unless the timeout is 0) wait until a new init runs.
/// A container that is not running is exit status 2, as lxc-stop's.
pub fn reboot(a: &RebootArgs, g: &Global) -> Result<ExitCode, CliError> {
    let secs = if a.nowait { 0 } else { a.timeout.unwrap_or(60) };
    reboot_within(&super::handle(g)?, secs)
}

/// The reboot of `reboot` and `stop -r`, waiting `secs` (-1: forever, 0: not at all).
pub fn reboot_within(c: &lxc::Container, secs: i64) -> Result<ExitCode, CliError> {
    if secs < -1 {
        return Err(CliError::Usage(format!(
            "invalid timeout {secs}: expected -1 or more"
        )));
    }
    super::not_ours(c, "lxc-stop -r")?;
    if !c.is_running() {
        return Err(CliError::Failed {
            status: 2,
            message: format!("{} is not running", c.name()),
        });
    }
    let secs = i32::try_from(secs).unwrap_or(i32::MAX);
    if reboot2(c, secs)? {
        Ok(ExitCode::SUCCESS)
    } else if secs > 0 {
        Err(CliError::failed(format!(
            "did not run again with a new init within {secs} s"
        )))
    } else {
        Err(CliError::failed("stopped instead of running again"))
    }
}

#[cfg(feature = "reboot2")]
fn reboot2(c: &lxc::Container, secs: i32) -> Result<bool, CliError> {
    Ok(lxc::reboot2(c, secs)?)
}

/// Without the `reboot2` extension there is no waiting for the new init: only the request.
#[cfg(not(feature = "reboot2"))]
fn reboot2(c: &lxc::Container, secs: i32) -> Result<bool, CliError> {
    if secs != 0 {
        return Err(CliError::Usage(
            "waiting for a reboot needs the reboot2 extension, which this lxc-rs was built \
             without: use -W to only ask for it"
                .into(),
        ));
    }
    c.reboot()?;
    Ok(true)
}

/// lxc-cgroup: print a cgroup file of the running container, or write VALUE into it.
pub fn cgroup(a: &CgroupArgs, g: &Global) -> Result<ExitCode, CliError> {
    let c = super::handle(g)?;
    match &a.value {
        Some(v) => c.set_cgroup_item(&a.key, v)?,
        None => {
            let v = c.get_cgroup_item(&a.key)?;
            super::print(&format!("{}\n", v.trim_end_matches('\n')))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
