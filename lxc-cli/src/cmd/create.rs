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

    /// The template's own arguments, after `--` (busybox: --busybox-path PATH)
    #[arg(last = true, value_name = "TEMPLATE_ARGS")]
    pub template_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Stop the container first if it is running
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub fn create(a: &CreateArgs, g: &Global) -> Result<ExitCode, CliError> {
    let mut c = super::handle(g)?;
    c.create(&lxc::CreateOptions {
        template: a.template.clone(),
        // The merged -f: after the command, else before it; without one, as lxc-create, the
        // file lxc.conf's lxc.default_config names (/etc/lxc/default.conf), when it exists.
        config_file: g
            .rcfile
            .clone()
            .or_else(lxc_core::template::default_config_file),
        idmap: a.idmap.clone(),
        extra_args: a.template_args.clone(),
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn destroy(a: &DestroyArgs, g: &Global) -> Result<ExitCode, CliError> {
    let c = super::handle(g)?;
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
    c.destroy()?;
    Ok(ExitCode::SUCCESS)
}
