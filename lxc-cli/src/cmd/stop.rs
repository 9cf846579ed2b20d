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

    /// Seconds to wait for the shutdown before killing it; -1 waits forever (default 60)
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

    /// Ask for the shutdown and return without waiting (same as -t 0)
    #[arg(short = 'W', long)]
    pub nowait: bool,
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
    let c = super::handle(g)?;
    if !c.is_running() {
        return Err(CliError::Failed {
            status: 2,
            message: format!("{} is not running", c.name()),
        });
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
            Err(e) => Err(e),
        }
    };
    match result {
        // It stopped on its own between our check and the request.
        Ok(()) | Err(lxc::Error::NotRunning { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    super::wait_monitor_gone(&c);
    Ok(ExitCode::SUCCESS)
}

/// lxc-wait: exit 0 once the container is in one of the states, 1 on timeout. A container
/// that is not running yet is waited for, as lxc-wait does.
pub fn wait(a: &WaitArgs, g: &Global) -> Result<ExitCode, CliError> {
    let c = super::handle(g)?;
    let wanted = &a.state.0;
    let deadline = super::timeout(a.timeout).map(|t| Instant::now() + t);
    loop {
        if wanted.contains(&c.state()) {
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
        match wanted.as_slice() {
            // One state and a monitor to ask: it tells us when, no polling.
            [one] if c.is_running() => match c.wait(*one, left) {
                Ok(true) => return Ok(ExitCode::SUCCESS),
                Ok(false) => {}
                // The monitor went away while we asked: the loop looks again.
                Err(e) if c.is_running() => return Err(e.into()),
                Err(_) => {}
            },
            // No monitor yet (or several states, which the API cannot wait for at once):
            // look again shortly, as lxc-wait does.
            _ => {
                let nap = Duration::from_millis(50);
                std::thread::sleep(left.map_or(nap, |l| l.min(nap)));
            }
        }
    }
}
