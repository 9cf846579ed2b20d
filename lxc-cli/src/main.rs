//! `lxc-rs`: LXC's command line tools in one binary, with LXC's flags (`-n NAME`, `-P LXCPATH`,
//! `-f FILE`, `-s KEY=VALUE`, `-l PRIORITY`, `-o LOGFILE`, `-q`), accepted before or after the
//! subcommand as LXC's tools accept them.
//!
//! Each command group lives in its own module under `cmd/`; a new command (create, start,
//! stop, ...) is a new variant of [`Command`] and a new module.

mod cmd;
mod error;
mod logging;
mod netlink;
mod sys;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::error::CliError;

/// Run LXC containers, the LXC way, in Rust.
#[derive(Debug, Parser)]
#[command(
    name = "lxc-rs",
    version,
    propagate_version = true,
    after_help = "Example:\n  lxc-rs config get -P /srv/lxc -n web lxc.uts.name"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

/// LXC's common options, accepted anywhere on the command line.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Name of the container
    #[arg(short = 'n', long = "name", global = true, value_name = "NAME")]
    pub name: Option<String>,

    /// Use the specified container path (default: lxc.lxcpath from lxc.conf, else /var/lib/lxc)
    #[arg(short = 'P', long = "lxcpath", global = true, value_name = "LXCPATH")]
    pub lxcpath: Option<PathBuf>,

    /// Load this config file instead of the container's own
    #[arg(short = 'f', long = "rcfile", global = true, value_name = "FILE")]
    pub rcfile: Option<PathBuf>,

    /// Override a config item (repeatable); not saved
    #[arg(
        short = 's',
        long = "define",
        global = true,
        value_name = "KEY=VALUE",
        value_parser = parse_define
    )]
    pub define: Vec<(String, String)>,

    /// Log priority: TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, CRIT, ALERT, FATAL
    #[arg(
        short = 'l',
        long = "logpriority",
        global = true,
        value_name = "PRIORITY",
        value_parser = logging::parse_priority
    )]
    pub log_priority: Option<String>,

    /// Write the log to FILE instead of stderr
    #[arg(short = 'o', long = "logfile", global = true, value_name = "LOGFILE")]
    pub logfile: Option<PathBuf>,

    /// Do not write log messages to stderr
    #[arg(short = 'q', long = "quiet", global = true)]
    pub quiet: bool,
}

fn parse_define(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("expected KEY=VALUE, found {s:?}")),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the API extensions linked into this binary
    #[command(after_help = "Example:\n  lxc-rs extensions --json")]
    Extensions(cmd::extensions::ExtensionsArgs),

    /// Read, change and check container configurations
    #[command(
        subcommand,
        after_help = "Examples:\n  lxc-rs config check /var/lib/lxc/web/config\n  \
                      lxc-rs config set -n web lxc.tty.max 4"
    )]
    Config(cmd::config::ConfigCommand),

    /// Check what this kernel offers to containers (like lxc-checkconfig)
    #[command(after_help = "Example:\n  lxc-rs checkconfig --json")]
    Checkconfig(cmd::checkconfig::CheckconfigArgs),

    /// List the containers defined under an lxcpath
    #[command(after_help = "Example:\n  lxc-rs ls -P /srv/lxc --json")]
    Ls(cmd::ls::LsArgs),
}

impl Command {
    /// The words that name the command in error messages (`config get`).
    fn label(&self) -> &'static str {
        match self {
            Command::Extensions(_) => "extensions",
            Command::Config(c) => c.label(),
            Command::Checkconfig(_) => "checkconfig",
            Command::Ls(_) => "ls",
        }
    }

    /// What the command acts on, for error messages: the container name or the file.
    fn subject(&self, g: &Global) -> Option<String> {
        match self {
            Command::Config(c) => c.subject(g),
            // These act on no one container; their errors name their paths themselves.
            Command::Extensions(_) | Command::Checkconfig(_) | Command::Ls(_) => None,
        }
    }
}

fn run(cli: &Cli) -> Result<ExitCode, CliError> {
    let _log = logging::init(&cli.global)?;
    match &cli.command {
        Command::Extensions(a) => cmd::extensions::run(a),
        Command::Config(c) => cmd::config::run(c, &cli.global),
        Command::Checkconfig(a) => cmd::checkconfig::run(a),
        Command::Ls(a) => cmd::ls::run(a, &cli.global),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(CliError::Usage(msg)) => {
            // clap's own usage error for the subcommand: its usage line, exit status 2.
            let mut cmd = Cli::command();
            cmd.build();
            for word in cli.command.label().split(' ') {
                if let Some(sub) = cmd.find_subcommand(word).cloned() {
                    cmd = sub;
                }
            }
            cmd.error(clap::error::ErrorKind::MissingRequiredArgument, msg)
                .exit();
        }
        // The reader went away (`lxc-rs ls | head -1`): nothing left to say to anyone.
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
        Err(e) => {
            let label = cli.command.label();
            match cli.command.subject(&cli.global) {
                Some(s) => eprintln!("lxc-rs: {label} {s}: {}", e.user_message()),
                None => eprintln!("lxc-rs: {label}: {}", e.user_message()),
            }
            ExitCode::FAILURE
        }
    }
}
