//! `lxc-rs mount` and `lxc-rs umount`: mounts made in, and removed from, a running container
//! (the API's `mount` / `umount`, extension `mount_injection`). Silent on success; a refusal
//! or failure is one `lxc-rs: mount NAME: TARGET: why` line and exit status 1, with nothing
//! changed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct MountArgs {
    /// The host's file or directory to bind (symlinks followed); with -t, the new
    /// filesystem's source name (tmpfs, none, ...)
    #[arg(value_name = "SRC")]
    pub source: PathBuf,

    /// Where it appears in the container (a missing directory or file there is made)
    #[arg(value_name = "DST")]
    pub target: PathBuf,

    /// Mount a new filesystem of this type (tmpfs, ...) instead of binding SRC
    #[arg(short = 't', long = "types", value_name = "TYPE")]
    pub fstype: Option<String>,

    /// Mount options as mount(8) spells them: bind, rbind, ro, nosuid, nodev, noexec,
    /// noatime, ... and the filesystem's own (size=10m,mode=0755). -o is this, as with
    /// mount(8); the log file is --logfile here (-O is taken too)
    #[arg(short = 'O', long = "options", value_name = "OPTS")]
    pub options: Option<String>,
}

#[derive(Debug, Args)]
pub struct UmountArgs {
    /// The mount point in the container
    #[arg(value_name = "DST")]
    pub target: PathBuf,

    /// Detach it now and clean up once it is no longer busy (MNT_DETACH)
    #[arg(long = "lazy")]
    pub lazy: bool,

    /// Force the unmount (MNT_FORCE)
    #[arg(long = "force")]
    pub force: bool,
}

/// LXC's own mount-entry options, which mean nothing to mount(2).
const ENTRY_ONLY: &str = "create=dir, create=file, optional, relative and idmap= are \
                          lxc.mount.entry options (a missing target is made anyway)";

/// mount(2)'s flags and data for `-t` and `-O`: without a type (or with `none`) it is a bind.
fn flags_and_data(a: &MountArgs) -> Result<(u64, Option<String>), CliError> {
    let o =
        lxc::mount::parse_mount_options(a.options.as_deref().unwrap_or_default()).map_err(|e| {
            CliError::Usage(format!(
                "-O {}: {e}",
                a.options.as_deref().unwrap_or_default()
            ))
        })?;
    if o.create_dir || o.create_file || o.optional || o.relative || o.idmap.is_some() {
        return Err(CliError::Usage(format!(
            "-O {}: {ENTRY_ONLY}",
            a.options.as_deref().unwrap_or_default()
        )));
    }
    // Propagation and MS_REMOUNT go to the library, which says why they do not apply.
    let mut flags = (o.flags | o.propagation).bits() as u64;
    if a.fstype.as_deref().is_none_or(|t| t == "none") {
        flags |= libc::MS_BIND;
    }
    Ok((flags, o.data))
}

pub fn mount(a: &MountArgs, g: &Global) -> Result<ExitCode, CliError> {
    let (flags, data) = flags_and_data(a)?;
    let c = super::handle(g)?;
    let fstype = a.fstype.as_deref().filter(|t| *t != "none");
    c.mount(
        Some(a.source.as_path()),
        &a.target,
        fstype,
        flags,
        data.as_deref(),
    )
    .map_err(mount_error)?;
    Ok(ExitCode::SUCCESS)
}

pub fn umount(a: &UmountArgs, g: &Global) -> Result<ExitCode, CliError> {
    let mut flags = 0;
    if a.lazy {
        flags |= libc::MNT_DETACH;
    }
    if a.force {
        flags |= libc::MNT_FORCE;
    }
    let c = super::handle(g)?;
    c.umount(&a.target, flags).map_err(mount_error)?;
    Ok(ExitCode::SUCCESS)
}

/// A refusal as `TARGET: why` (the container and the command are already in the CLI's
/// prefix); the container's own errors as the other commands report them.
fn mount_error(e: lxc::Error) -> CliError {
    match e {
        lxc::Error::Mount { path, message, .. } => CliError::failed(format!(
            "{}: {message}",
            lxc::config_bytes::shown_path(&shown(&path))
        )),
        e => CliError::Lxc(e),
    }
}

/// A target as the container sees it: from its root.
fn shown(p: &Path) -> PathBuf {
    Path::new("/").join(p.strip_prefix("/").unwrap_or(p))
}
