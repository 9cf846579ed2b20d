//! `lxc-rs monitor`, like `lxc-monitor`: print the state changes of the containers of an
//! lxcpath whose names match `-n REGEX` (a POSIX extended regex matched whole; default every
//! container), as they happen, until interrupted. `-Q` tells the lxcpath's relay to quit.
//!
//! The changes come through the lxcpath's relay (`lxc::statemsg`), started here if none runs,
//! the way lxc-monitor starts lxc-monitord: LXC's own relay serves just as well, so this sees
//! the containers LXC runs too, and LXC's lxc-monitor sees lxc-rs's.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use lxc::statemsg::{self, Subscriber};

use crate::error::CliError;
use crate::sys::Regex;
use crate::Global;

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Tell the lxcpath's relay (lxc-monitord) to quit, and exit
    #[arg(short = 'Q', long = "quit")]
    pub quit: bool,
}

pub fn monitor(a: &MonitorArgs, g: &Global) -> Result<ExitCode, CliError> {
    let lxcpath = super::lxcpath(g);
    if a.quit {
        statemsg::quit_relay(&lxcpath)?;
        return Ok(ExitCode::SUCCESS);
    }
    let pattern = g.name.as_deref().unwrap_or(".*");
    let filter = Regex::new(&format!("^{pattern}$"))
        .ok_or_else(|| CliError::failed(format!("Failed to compile the regex '{pattern}'")))?;
    statemsg::spawn_relay(&lxcpath)?;
    let sub = Subscriber::connect(&lxcpath)?;
    let mut out = std::io::stdout().lock();
    loop {
        let Some(msg) = sub.recv()? else {
            return Err(CliError::failed(format!(
                "the monitor relay of {} went away",
                lxcpath.display()
            )));
        };
        if !filter.is_match(msg.name()) {
            continue;
        }
        if let Some(line) = msg.lxc_monitor_line() {
            // A line at a time, as lxc-monitor's line-buffered stdout.
            writeln!(out, "{line}")
                .and_then(|()| out.flush())
                .map_err(CliError::Output)?;
        }
    }
}
