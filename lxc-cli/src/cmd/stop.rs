//! `lxc-rs stop` and `lxc-rs wait`, like `lxc-stop` and `lxc-wait`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Kill it at once with lxc.signal.stop (SIGKILL by default) instead of a clean shutdown
    #[arg(short = 'k', long, conflicts_with = "nokill")]
    pub kill: bool,

    /// Seconds to wait for the shutdown before killing it (with -r: for the reboot); -1 waits
    /// forever (default 60)
    #[arg(
        short = 't',
        long,
        value_name = "TIMEOUT",
        allow_negative_numbers = true,
        conflicts_with_all = ["kill", "nowait"]
    )]
    pub timeout: Option<i64>,

    /// If the shutdown times out, leave it running (exit status 1) instead of killing it
    #[arg(long)]
    pub nokill: bool,

    /// Ask for the shutdown (or reboot) and return without waiting (same as -t 0)
    #[arg(short = 'W', long)]
    pub nowait: bool,

    /// Reboot instead: wait up to the timeout until it runs again (same as `lxc-rs reboot`)
    #[arg(short = 'r', long, conflicts_with_all = ["kill", "nokill"])]
    pub reboot: bool,

    /// Take no container lock (only with -k, as lxc-stop; lxc-rs's stop takes none anyway)
    #[arg(long)]
    pub nolock: bool,

    #[command(flatten)]
    pub rc: super::running::Rcfile,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The state to wait for; alternatives separated by `|`: 'RUNNING|STOPPED'
    #[arg(short = 's', long, value_name = "STATE", value_parser = parse_states)]
    pub state: States,

    /// Give up after this many seconds (exit status 1); -1 waits forever
    #[arg(
        short = 't',
        long,
        value_name = "TIMEOUT",
        default_value_t = -1,
        allow_negative_numbers = true
    )]
    pub timeout: i64,

    #[command(flatten)]
    pub rc: super::running::Rcfile,
}

/// The states `wait -s` accepts, in the order given.
#[derive(Debug, Clone)]
pub struct States(pub Vec<lxc::State>);

fn parse_states(s: &str) -> Result<States, String> {
    s.split('|')
        .map(|p| p.trim().parse::<lxc::State>())
        .collect::<Result<Vec<_>, _>>()
        .map(States)
}

/// lxc-stop: a clean shutdown (lxc.signal.halt) with a timeout, then a kill unless --nokill;
/// `-k` kills at once. A container that is not running is exit status 2, as lxc-stop's.
pub fn stop(a: &StopArgs, g: &Global) -> Result<ExitCode, CliError> {
    // lxc-stop checks its options before it looks at the container.
    if a.nolock && !a.kill {
        return Err(CliError::failed("--nolock may only be used with -k"));
    }
    let mut c = super::handle(g)?;
    a.rc.load(&mut c)?;
    if !super::running::is_active(&c) {
        return Err(CliError::Failed {
            status: 2,
            message: format!("{} is not running", c.name()),
        });
    }
    if a.reboot {
        let secs = if a.nowait { 0 } else { a.timeout.unwrap_or(60) };
        return super::running::reboot_within(&c, secs);
    }
    let result = if a.kill {
        c.stop()
    } else {
        let secs = if a.nowait { 0 } else { a.timeout.unwrap_or(60) };
        if secs < -1 {
            return Err(CliError::Usage(format!(
                "invalid timeout {secs}: expected -1 or more"
            )));
        }
        match c.shutdown(super::timeout(secs)) {
            Ok(true) => Ok(()),
            // -t 0: the request was the whole job.
            Ok(false) if secs == 0 => return Ok(ExitCode::SUCCESS),
            Ok(false) if a.nokill => {
                return Err(CliError::failed(format!(
                    "did not shut down within {secs} s (--nokill: left running)"
                )))
            }
            Ok(false) => {
                tracing::info!(container = c.name(), "shutdown timed out, killing");
                c.stop()
            }
            Err(e @ lxc::Error::NotRunning { .. }) => Err(e),
            // The halt signal could not be sent (lxc.signal.halt out of range, ...): like
            // lxc-stop, kill it instead, unless asked not to.
            Err(e) if a.nokill || secs == 0 => Err(e),
            Err(e) => {
                let who = crate::lxc_names::speaker("stop", Some(c.name()));
                eprintln!("{who}: warning: shutdown failed ({e}): killing");
                tracing::warn!(container = c.name(), error = %e, "shutdown failed, killing");
                c.stop()
            }
        }
    };
    match result {
        // It stopped on its own between our check and the request.
        Ok(()) | Err(lxc::Error::NotRunning { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

/// lxc-wait: exit 0 once the container is in one of the states, 1 on timeout. A container
/// that is not running yet is waited for, as lxc-wait does.
pub fn wait(a: &WaitArgs, g: &Global) -> Result<ExitCode, CliError> {
    let mut c = super::handle(g)?;
    a.rc.load(&mut c)?;
    let wanted = &a.state.0;
    // STOPPED is always asked for: when the container stops, its monitor (the only one that
    // can announce the other states) is gone, and we go back to waiting for a new start.
    let mut asked = wanted.clone();
    if !asked.contains(&lxc::State::Stopped) {
        asked.push(lxc::State::Stopped);
    }
    let deadline = super::timeout(a.timeout).map(|t| Instant::now() + t);
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if super::running::is_active(&c) {
            match c.wait_any(&asked, left) {
                Ok(Some(s)) if wanted.contains(&s) => return Ok(ExitCode::SUCCESS),
                // It stopped (not what we wait for), or the time is up: the loop decides.
                Ok(_) => {}
                // The monitor went away while we asked: the loop looks again.
                Err(e) if super::running::is_active(&c) => return Err(e.into()),
                Err(_) => {}
            }
        } else if wanted.contains(&lxc::State::Stopped) {
            return Ok(ExitCode::SUCCESS);
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            let names: Vec<&str> = wanted.iter().map(|s| s.as_str()).collect();
            return Err(CliError::failed(format!(
                "timed out waiting for {}",
                names.join("|")
            )));
        }
        if !super::running::is_active(&c) {
            // No monitor to ask: look again shortly, as lxc-wait does.
            let nap = Duration::from_millis(50);
            std::thread::sleep(left.map_or(nap, |l| l.min(nap)));
        }
    }
}
