//! `lxc-rs create` and `lxc-rs destroy`, like `lxc-create` and `lxc-destroy`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The template: busybox (a busybox rootfs), or none (the config only)
    #[arg(short = 't', long, value_name = "TEMPLATE")]
    pub template: String,

    /// A config file whose lines start the new config (like lxc-create -f)
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// An id range for a user namespace, `u|g|b NSID HOSTID RANGE` (repeatable); the rootfs is
    /// chowned into it and an lxc.idmap line added
    #[arg(long, value_name = "MAP")]
    pub idmap: Vec<String>,

    /// Backing store of the rootfs: dir (default), overlay, btrfs, loop, best, or a comma list
    /// tried in order (none is dir)
    #[arg(short = 'B', long = "bdev", value_name = "BDEV")]
    pub bdev: Option<String>,

    /// Filesystem of a loop rootfs (default ext4)
    #[arg(long, value_name = "TYPE")]
    pub fstype: Option<String>,

    /// Size of a loop rootfs: SIZE[bBkKmMgGtT], MB by default (default 1G)
    #[arg(long, value_name = "SIZE", value_parser = super::copy::parse_fssize)]
    pub fssize: Option<u64>,

    /// Place the rootfs directory under DIR (-B dir)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// The template's own arguments, after `--` (busybox: --busybox-path PATH)
    #[arg(last = true, value_name = "TEMPLATE_ARGS")]
    pub template_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Stop the container first if it is running
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Destroy the container's snapshots too
    #[arg(short = 's', long)]
    pub snapshots: bool,
}

/// lxc-create's checks of -B and its options.
fn storage_args(a: &CreateArgs) -> Result<(Option<String>, lxc::manage::storage::Specs), CliError> {
    let bdev = a
        .bdev
        .as_deref()
        .map(|b| if "none".starts_with(b) { "dir" } else { b });
    if let Some(d) = &a.dir {
        if !d.is_absolute() {
            return Err(CliError::Usage("--dir should use absolute path".into()));
        }
    }
    if a.fstype.is_some() || a.fssize.is_some() {
        let block = bdev.is_some_and(|b| {
            ["lvm", "loop", "rbd", "best"]
                .iter()
                .any(|t| t.starts_with(b))
        });
        if !block {
            return Err(CliError::Usage(
                "Filesystem type and size are only valid with block devices".into(),
            ));
        }
    }
    if let Some(b) = bdev {
        for t in b.split(',') {
            if t != "best" && lxc::manage::storage::Kind::from_name(t).is_err() {
                return Err(CliError::Usage(format!(
                    "{b} is not a valid backing storage type"
                )));
            }
        }
    }
    let specs = lxc::manage::storage::Specs {
        fstype: a.fstype.clone(),
        fssize: a.fssize.unwrap_or(0),
        dir: a.dir.clone(),
    };
    Ok((bdev.map(str::to_string), specs))
}

pub fn create(a: &CreateArgs, g: &Global) -> Result<ExitCode, CliError> {
    let (bdev, specs) = storage_args(a)?;
    let mut c = super::handle(g)?;
    let opts = lxc::CreateOptions {
        template: a.template.clone(),
        // The merged -f: after the command, else before it; without one, as lxc-create, the
        // file lxc.conf's lxc.default_config names (/etc/lxc/default.conf), when it exists.
        config_file: g
            .rcfile
            .clone()
            .or_else(lxc_core::template::default_config_file),
        idmap: a.idmap.clone(),
        extra_args: a.template_args.clone(),
    };
    c.create_with_storage(&opts, bdev.as_deref(), &specs)?;
    Ok(ExitCode::SUCCESS)
}

pub fn destroy(a: &DestroyArgs, g: &Global) -> Result<ExitCode, CliError> {
    let c = super::handle(g)?;
    let defined = c.is_defined();
    if c.is_running() {
        if !a.force {
            return Err(CliError::failed(format!(
                "{} is running: stop it first, or use --force",
                c.name()
            )));
        }
        match c.stop() {
            Ok(()) | Err(lxc::Error::NotRunning { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // An ephemeral container is gone with its stop, as lxc-destroy finds it.
    if defined && !c.is_defined() {
        return Ok(ExitCode::SUCCESS);
    }
    // As lxc-destroy -s: the snapshots first, when there are any.
    if a.snapshots && c.has_snapshots() {
        c.destroy_with_snapshots()?;
    } else {
        c.destroy()?;
    }
    Ok(ExitCode::SUCCESS)
}
