//! Commands for a running container: `freeze`, `unfreeze`, `reboot` and `cgroup`, like
//! `lxc-freeze`, `lxc-unfreeze`, `lxc-stop -r` and `lxc-cgroup`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use crate::error::CliError;
use crate::Global;

/// LXC's common `--rcfile FILE` (LXC_COMMON_OPTIONS), for the tools that take no `-f`.
#[derive(Debug, Clone, Default, Args)]
pub struct Rcfile {
    /// Load this config file instead of the container's own
    #[arg(long = "rcfile", value_name = "FILE")]
    pub rcfile: Option<std::path::PathBuf>,
}

impl Rcfile {
    /// Load the file into `c` in place of its config, as LXC's tools do; a file that cannot be
    /// loaded is LXC's "Failed to load rcfile" (exit status 1).
    pub fn load(&self, c: &mut lxc::Container) -> Result<(), CliError> {
        match &self.rcfile {
            Some(f) => c
                .set_config_file(f)
                .map_err(|e| CliError::failed(format!("Failed to load rcfile: {e}"))),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Args)]
pub struct FreezeArgs {
    #[command(flatten)]
    pub rc: Rcfile,
}

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

    /// Accepted, as lxc-cgroup accepts it, and not read
    #[command(flatten)]
    pub rc: Rcfile,
}

/// Whether lxc-rs's monitor or LXC's own runs the container (lxc-rs drives both).
pub fn is_active(c: &lxc::Container) -> bool {
    c.is_running() || c.status().is_ok_and(|(_, runtime)| runtime.is_some())
}

pub fn freeze(a: &FreezeArgs, g: &Global) -> Result<ExitCode, CliError> {
    let mut c = super::handle(g)?;
    a.rc.load(&mut c)?;
    c.freeze()?;
    Ok(ExitCode::SUCCESS)
}

/// As lxc-unfreeze: a defined container that is not frozen is already thawed, stopped or not:
/// exit 0. One that does not exist is still an error.
pub fn unfreeze(a: &FreezeArgs, g: &Global) -> Result<ExitCode, CliError> {
    let mut c = super::handle(g)?;
    a.rc.load(&mut c)?;
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
    if !is_active(c) {
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

fn reboot2(c: &lxc::Container, secs: i32) -> Result<bool, CliError> {
    if !c.is_running() {
        if let Some(m) = c.lxc_monitor() {
            return lxc_reboot(c, &m, secs);
        }
    }
    lxcrs_reboot2(c, secs)
}

#[cfg(feature = "reboot2")]
fn lxcrs_reboot2(c: &lxc::Container, secs: i32) -> Result<bool, CliError> {
    Ok(lxc::reboot2(c, secs)?)
}

/// A reboot of a container LXC's monitor runs, waited for as liblxc's `reboot2` waits: LXC
/// tells a state client of RUNNING alone across the reboot (it lets go of one that also asked
/// for STOPPED when the old init ends).
fn lxc_reboot(c: &lxc::Container, m: &lxc::LxcMonitor, secs: i32) -> Result<bool, CliError> {
    if secs == 0 {
        c.reboot()?;
        return Ok(true);
    }
    let old = c.init_pid()?;
    let (mut client, _) = lxc_core::commands::StateClient::lxc(m, &[lxc::State::Running], true)
        .map_err(|e| CliError::failed(format!("reboot: {e}")))?;
    c.reboot()?;
    let deadline = u64::try_from(secs)
        .ok()
        .map(|s| Instant::now() + Duration::from_secs(s));
    let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
    match client.wait(left()) {
        Ok(Some(lxc::State::Running)) => return Ok(true),
        Ok(None) => return Ok(false),
        // LXC 5.0.2 forgets to drop a state client that hung up and can then send that
        // client's state to a new connection given the same fd number (and close it): the
        // answer is not ours to trust, so ask until the new init runs.
        Ok(Some(other)) => {
            tracing::debug!(state = %other, "LXC told a state not asked for: polling instead")
        }
        Err(e) => tracing::debug!(error = %e, "LXC's state connection failed: polling instead"),
    }
    loop {
        let (state, _) = c.status()?;
        if state == lxc::State::Running && c.init_pid().is_ok_and(|p| p != old) {
            return Ok(true);
        }
        if left() == Some(Duration::ZERO) {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(50).min(left().unwrap_or(Duration::MAX)));
    }
}

/// Without the `reboot2` extension there is no waiting for the new init: only the request.
#[cfg(not(feature = "reboot2"))]
fn lxcrs_reboot2(c: &lxc::Container, secs: i32) -> Result<bool, CliError> {
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
            // lxc-cgroup prints the file as it is and a newline more; lxc-rs one newline.
            let text = if crate::lxc_names::invoked().is_some() {
                format!("{v}\n")
            } else {
                format!("{}\n", v.trim_end_matches('\n'))
            };
            super::print(&text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
