//! `lxc-rs device add|del`, like `lxc-device`: a network interface moves into a running
//! container and back; anything else is a device node, made in the container (and allowed in
//! its device rules) or removed (and denied).

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Move a host network interface into the running container, or add a device node to it
    ///
    /// An interface is named DEST there (default: its own name) and arrives down. A device node
    /// (DEV a character or block device on the host) appears in the container at DEST (default:
    /// the same path), with the directories above it made as needed, and is allowed in the
    /// container's device rules (`devices.allow c|b MAJ:MIN rwm`).
    #[command(
        alias = "a",
        alias = "ad",
        after_help = "Examples:\n  lxc-rs device add -n web veth-web1 eth1\n  \
                      lxc-rs device add -n web enp3s0\n  \
                      lxc-rs device add -n web /dev/net/tun\n  \
                      lxc-rs device add -n web /dev/sdb /dev/data"
    )]
    Add(DeviceArgs),

    /// Move a network interface of the running container back to the host, or remove a device
    /// node from it
    ///
    /// An interface is named DEST on the host (default: its name in the container). The device
    /// node at DEST (default: DEV) is removed from the container, and the host's device DEV is
    /// denied in its device rules (`devices.deny`), also when there was no node.
    #[command(
        alias = "d",
        alias = "de",
        after_help = "Examples:\n  lxc-rs device del -n web eth1 veth-web1\n  \
                      lxc-rs device del -n web /dev/net/tun"
    )]
    Del(DeviceArgs),
}

#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// A network interface (on the host for add, in the container for del), or a device node
    /// on the host (a path: /dev/...)
    #[arg(value_name = "DEV")]
    pub dev: String,

    /// The interface's name on the other side, or the node's path in the container
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
    let c = super::handle(g)?;
    let dest = a.dest.as_deref();
    if is_device_node(&a.dev) {
        let (src, dest) = (Path::new(&a.dev), dest.map(Path::new));
        let r = if add {
            c.add_device_node(src, dest)
        } else {
            c.remove_device_node(src, dest)
        };
        r.map_err(node_error)?;
        return Ok(ExitCode::SUCCESS);
    }
    let r = if add {
        lxc::net::running::attach_interface(&c, &a.dev, dest)
    } else {
        lxc::net::running::detach_interface(&c, &a.dev, dest)
    };
    r.map_err(net_error)?;
    Ok(ExitCode::SUCCESS)
}

/// lxc-device's rule: what is not a network interface is a device node. An interface name
/// never holds a '/', so a path is a node; a bare name is one only when it is a device in
/// the current directory, so that a missing interface is reported as one (lxc-device would
/// try it as a node and fail without saying why).
fn is_device_node(dev: &str) -> bool {
    dev.contains('/')
        || std::fs::metadata(dev).is_ok_and(|m| {
            let t = m.file_type();
            t.is_char_device() || t.is_block_device()
        })
}

/// A device node's refusal as `PATH: why` (the container and the operation are already in the
/// CLI's prefix); the container's own errors as the other commands report them.
fn node_error(e: lxc::Error) -> CliError {
    match e {
        lxc::Error::DeviceNode { path, message, .. } => CliError::failed(format!(
            "{}: {message}",
            lxc::config_bytes::shown_path(&path)
        )),
        e => CliError::Lxc(e),
    }
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
