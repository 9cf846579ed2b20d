//! `lxc-rs checkpoint`, like `lxc-checkpoint`: dump a running container with CRIU (`-D DIR`,
//! `-s` to stop it after, `-p` / `--predump-dir` for pre-copy), or restore it (`-r`, behind a
//! daemonized monitor unless `-F`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use lxc::criu::{CriuExt, MigrateCmd, MigrateOpts, RestoreMode};

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// Directory to save the checkpoint in (or to restore from)
    #[arg(short = 'D', long = "checkpoint-dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Path to a criu action script
    #[arg(short = 'A', long = "action-script", value_name = "PATH")]
    pub action_script: Option<String>,

    /// Stop the container after checkpointing
    #[arg(short = 's', long = "stop")]
    pub stop: bool,

    /// Enable verbose criu logs (-v4 in DIR/ACTION.log)
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// Restore the container
    #[arg(short = 'r', long = "restore")]
    pub restore: bool,

    /// Daemonize the restored container's monitor (the default)
    #[arg(short = 'd', long = "daemon")]
    pub daemon: bool,

    /// Restore with this process as the container's monitor, until it stops
    #[arg(short = 'F', long = "foreground")]
    pub foreground: bool,

    /// Only pre-dump the container's memory; it keeps running, and later checkpoints dump
    /// only the changes
    #[arg(short = 'p', long = "pre-dump")]
    pub pre_dump: bool,

    /// Images of a previous pre-dump (relative to -D)
    #[arg(long = "predump-dir", value_name = "DIR")]
    pub predump_dir: Option<String>,

    /// Load the container's config from FILE instead of its own
    #[arg(long = "rcfile", value_name = "FILE")]
    pub rcfile: Option<PathBuf>,
}

/// lxc-checkpoint's checker: the refusals, in its order and words.
fn check(a: &CheckpointArgs) -> Result<PathBuf, CliError> {
    let daemonize_set = a.daemon || a.foreground;
    if a.restore && a.stop {
        return Err(CliError::Usage("-s not compatible with -r".into()));
    }
    if !a.restore && daemonize_set {
        return Err(CliError::Usage("-d/-F not compatible with -r".into()));
    }
    let dir = a
        .dir
        .clone()
        .ok_or_else(|| CliError::Usage("-D is required".into()))?;
    if a.pre_dump && a.restore {
        return Err(CliError::Usage("-p not compatible with -r".into()));
    }
    Ok(dir)
}

pub fn checkpoint(a: &CheckpointArgs, g: &Global) -> Result<ExitCode, CliError> {
    let dir = check(a)?;
    let name = super::need_name(g)?;
    let mut c = lxc::Container::new(name, Some(&super::lxcpath(g)))?;
    if let Some(f) = a.rcfile.as_ref().or(g.rcfile.as_ref()) {
        c.set_config_file(f)
            .map_err(|e| CliError::failed(format!("failed to load rcfile: {e}")))?;
    }
    if !c.defined()? {
        return Err(CliError::failed(format!("{name} is not defined")));
    }
    let mut opts = MigrateOpts::new(&dir);
    opts.verbose = a.verbose;
    opts.action_script = a.action_script.clone();
    // The library's error names the container already (the line starts with it too).
    let failed = |what: &str, e: lxc::criu::Error| CliError::failed(format!("{what} failed: {e}"));
    if a.restore {
        // lxc-checkpoint takes the last of -d / -F; clap cannot tell their order, so -F
        // counts only without -d.
        let mode = if a.foreground && !a.daemon {
            RestoreMode::Foreground
        } else {
            RestoreMode::Daemon
        };
        c.restore_with(&opts, mode)
            .map_err(|e| failed("Restoring", e))?;
    } else {
        opts.stop = a.stop;
        opts.predump_dir = a.predump_dir.clone();
        let cmd = if a.pre_dump {
            MigrateCmd::PreDump
        } else {
            MigrateCmd::Dump
        };
        c.migrate(cmd, &mut opts)
            .map_err(|e| failed("Checkpointing", e))?;
    }
    Ok(ExitCode::SUCCESS)
}
