//! `lxc-rs console` (like lxc-console) and `lxc-rs console-log` (the `console_log` API
//! extension; LXC has no tool for it).

use std::os::fd::AsFd;
use std::process::ExitCode;

use clap::Args;
use lxc::console::ConsoleExt;

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The tty to attach to: 0 is the console, -1 (the default) the first tty
    #[arg(
        short = 't',
        long = "tty",
        value_name = "NUMBER",
        default_value_t = -1,
        allow_negative_numbers = true
    )]
    pub tty: i32,

    /// The escape prefix: `<PREFIX> q` detaches, `<PREFIX> <PREFIX>` sends PREFIX itself
    #[arg(short = 'e', long, value_name = "PREFIX", default_value = "^a")]
    pub escape: String,

    /// Accepted, as lxc-console accepts it, and not read
    #[command(flatten)]
    pub rc: super::running::Rcfile,
}

#[derive(Debug, Args)]
pub struct ConsoleLogArgs {
    /// Empty the ring buffer after printing it
    #[arg(long)]
    pub clear: bool,

    /// Print at most this many bytes (the oldest); 0 prints everything
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub max: u64,
}

pub fn console(a: &ConsoleArgs, g: &Global) -> Result<ExitCode, CliError> {
    let escape = lxc::console::attach::escape_char(&a.escape)
        .ok_or_else(|| CliError::Usage(format!("invalid escape prefix {:?}", a.escape)))?;
    if a.tty < -1 {
        return Err(CliError::Usage(format!("invalid tty {}", a.tty)));
    }
    let c = super::handle(g)?;
    if !super::running::is_active(&c) {
        return Err(CliError::failed(format!("{} is not running", c.name())));
    }
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    c.console(a.tty, stdin.as_fd(), stdout.as_fd(), stderr.as_fd(), escape)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "console_log")]
pub fn console_log(a: &ConsoleLogArgs, g: &Global) -> Result<ExitCode, CliError> {
    let c = super::handle(g)?;
    match lxc::console_log(&c, a.clear, true, a.max) {
        Ok(bytes) => super::print_bytes(&bytes)?,
        // Nothing buffered: nothing to print.
        Err(e) if e.errno() == libc::ENODATA => {}
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "console_log"))]
pub fn console_log(_a: &ConsoleLogArgs, _g: &Global) -> Result<ExitCode, CliError> {
    Err(CliError::failed(
        "this lxc-rs is built without the console_log extension",
    ))
}
