//! `lxc-rs device add|del`: move a network interface into a running container and back, like
//! `lxc-device`. Device nodes (`/dev/...`) are not handled yet.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Move a host network interface into the running container, named DEST there (default:
    /// its own name); it arrives down
    #[command(
        alias = "a",
        alias = "ad",
        after_help = "Examples:\n  lxc-rs device add -n web veth-web1 eth1\n  \
                      lxc-rs device add -n web enp3s0"
    )]
    Add(DeviceArgs),

    /// Move a network interface of the running container back to the host, named DEST there
    /// (default: its name in the container)
    #[command(
        alias = "d",
        alias = "de",
        after_help = "Example:\n  lxc-rs device del -n web eth1 veth-web1"
    )]
    Del(DeviceArgs),
}

#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// The interface: on the host for add, in the container for del (a /dev/ path would be a
    /// device node, which lxc-rs does not move yet)
    #[arg(value_name = "DEV")]
    pub dev: String,

    /// Its name on the other side
    #[arg(value_name = "DEST")]
    pub dest: Option<String>,
}

impl DeviceCommand {
    /// `device add` or `device del`, for messages.
    pub fn label(&self) -> &'static str {
        match self {
            DeviceCommand::Add(_) => "device add",
            DeviceCommand::Del(_) => "device del",
        }
    }
}

pub fn run(cmd: &DeviceCommand, g: &Global) -> Result<ExitCode, CliError> {
    let (a, add) = match cmd {
        DeviceCommand::Add(a) => (a, true),
        DeviceCommand::Del(a) => (a, false),
    };
    if a.dev.starts_with("/dev/") {
        return Err(CliError::failed(format!(
            "{}: device nodes: not yet (issue 12)",
            a.dev
        )));
    }
    let c = super::handle(g)?;
    let dest = a.dest.as_deref();
    let r = if add {
        lxc::net::running::attach_interface(&c, &a.dev, dest)
    } else {
        lxc::net::running::detach_interface(&c, &a.dev, dest)
    };
    r.map_err(net_error)?;
    Ok(ExitCode::SUCCESS)
}

/// The container's own errors as the other commands report them (not running, run by LXC);
/// the rest as the one line they are.
pub fn net_error(e: lxc::net::Error) -> CliError {
    match e {
        lxc::net::Error::Container(e) => CliError::Lxc(e),
        // The container and the operation are already in the CLI's prefix.
        lxc::net::Error::Running { message, .. } => CliError::failed(message),
        e => CliError::failed(e.to_string()),
    }
}
