//! `lxc-rs start` and `lxc-rs execute`, like `lxc-start` and `lxc-execute`.

use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;
use crate::{ConfigOpts, Global};

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Stay in the foreground: this process is the monitor, init gets this terminal, and
    /// lxc-rs exits with init's status
    #[arg(short = 'F', long, conflicts_with = "daemon")]
    pub foreground: bool,

    /// Run in the background (the default)
    #[arg(short = 'd', long)]
    pub daemon: bool,

    /// Close the fds lxc-rs inherited before starting (-F; a daemonised start always closes
    /// every fd of the caller's, and the container never gets any)
    #[arg(short = 'C', long = "close-all-fds")]
    pub close_all_fds: bool,

    /// Use FILE (a terminal) for the container console, as lxc-start -c (lxc.console.path)
    #[arg(short = 'c', long = "console", value_name = "FILE")]
    pub console: Option<std::path::PathBuf>,

    /// Append the container console's output to FILE (lxc.console.logfile)
    #[arg(short = 'L', long = "console-log", value_name = "FILE")]
    pub console_log: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub opts: ConfigOpts,

    /// Run this as init instead of lxc.init.cmd (after `--`)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "INIT"
    )]
    pub argv: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExecuteArgs {
    #[command(flatten)]
    pub opts: ConfigOpts,

    /// The command and its arguments (after `--`; default: lxc.execute.cmd)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub argv: Vec<String>,
}

/// An exit status as the shell sees it: the code, or 128 + the signal.
fn exit_code(exit: lxc::Exit) -> ExitCode {
    ExitCode::from(u8::try_from(exit.status()).unwrap_or(u8::MAX))
}

pub fn start(a: &StartArgs, g: &Global) -> Result<ExitCode, CliError> {
    let mut c = super::with_config(g)?;
    // lxc-start refuses a container with no config before it applies `-s` ("No container
    // config specified"): `-s` alone would start it on the host's filesystem.
    if !c.is_defined() {
        return Err(lxc::Error::NotDefined {
            name: c.name().to_string(),
            lxcpath: c.config_path().to_path_buf(),
        }
        .into());
    }
    // As lxc-start: set after the config and its -s overrides.
    for (key, file) in [
        ("lxc.console.path", &a.console),
        ("lxc.console.logfile", &a.console_log),
    ] {
        if let Some(f) = file {
            c.set_config_item(key, &lxc::config_bytes::from_os(f.as_os_str()))?;
        }
    }
    crate::logging::apply_container(&c)?;
    let opts = lxc::StartOptions {
        mode: lxc::StartMode::Start,
        argv: a.argv.clone(),
        // As lxc-start -F: a terminal becomes the console's peer (the container gets a
        // console pty); other stdio (pipes, files) is init's own, as lxc-execute's.
        inherit_stdio: a.foreground && !std::io::IsTerminal::is_terminal(&std::io::stdin()),
        close_all_fds: a.close_all_fds,
    };
    if a.foreground {
        Ok(exit_code(c.start_foreground(&opts)?))
    } else {
        // Forks a daemonized monitor: this process has no other thread at this point.
        c.start(&opts)?;
        Ok(ExitCode::SUCCESS)
    }
}

/// Like lxc-execute, the container need not be defined when `-f` gives its config; nothing is
/// created under the lxcpath for it then (the command socket is abstract). With neither a
/// defined container nor `-f` it is refused, as lxc-execute refuses it: `-s` alone is not a
/// config, and the command would run as root on the host's filesystem.
pub fn execute(a: &ExecuteArgs, g: &Global) -> Result<ExitCode, CliError> {
    let c = super::with_config(g)?;
    if !c.is_defined() {
        return Err(lxc::Error::NoConfig {
            name: c.name().to_string(),
            lxcpath: c.config_path().to_path_buf(),
        }
        .into());
    }
    crate::logging::apply_container(&c)?;
    Ok(exit_code(c.execute(&a.argv)?))
}
