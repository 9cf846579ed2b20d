//! Checkpoint, restore and migrate through CRIU: liblxc's `checkpoint(directory, stop,
//! verbose)`, `restore(directory, verbose)` and `migrate(cmd, opts, size)` as an extension
//! trait of [`Container`], with the criu command lines LXC 5.0.2 builds ([`argv`]).
//!
//! A dump runs criu on the running container's init. A restore starts a monitor whose init is
//! not cloned but recreated by `criu restore` as the monitor's child
//! ([`lxc_core::start::restore`]); the monitor then serves it like a started one.

pub mod argv;
mod dump;
pub mod error;
mod host;
mod restore;
mod run;
mod sys;

use std::path::{Path, PathBuf};

use lxc_core::Container;

pub use error::{Error, Result};

/// `MIGRATE_PRE_DUMP` .. `MIGRATE_FEATURE_CHECK` (liblxc's `migrate` commands, same numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateCmd {
    PreDump = 0,
    Dump = 1,
    Restore = 2,
    FeatureCheck = 3,
}

impl MigrateCmd {
    /// liblxc's number for the command, back to the command.
    pub fn from_raw(n: u32) -> Option<MigrateCmd> {
        Some(match n {
            0 => MigrateCmd::PreDump,
            1 => MigrateCmd::Dump,
            2 => MigrateCmd::Restore,
            3 => MigrateCmd::FeatureCheck,
            _ => return None,
        })
    }
}

/// `FEATURE_MEM_TRACK`: dirty memory tracking (pre-dump, pre-copy migration).
pub const FEATURE_MEM_TRACK: u64 = 1 << 0;
/// `FEATURE_LAZY_PAGES`: userfaultfd for forking processes (lazy restore).
pub const FEATURE_LAZY_PAGES: u64 = 1 << 1;

/// liblxc's `struct migrate_opts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateOpts {
    pub directory: PathBuf,
    pub verbose: bool,
    /// Stop the container after the dump.
    pub stop: bool,
    /// Images of a previous pre-dump, relative to `directory`.
    pub predump_dir: Option<String>,
    pub pageserver_address: Option<String>,
    pub pageserver_port: Option<String>,
    /// The rootfs keeps its inodes between dump and restore (no `--force-irmap`).
    pub preserves_inodes: bool,
    /// An executable registered as criu's action script.
    pub action_script: Option<String>,
    /// Do not pass `--skip-in-flight`.
    pub disable_skip_in_flight: bool,
    /// Largest deleted ("ghost") file criu keeps; 0: criu's default (1 MiB).
    pub ghost_limit: u64,
    /// FEATURE_CHECK: the features to check; after a failed check, the supported ones.
    pub features_to_check: u64,
}

impl MigrateOpts {
    /// Options for `directory`, everything else off.
    pub fn new(directory: impl AsRef<Path>) -> MigrateOpts {
        MigrateOpts {
            directory: directory.as_ref().to_path_buf(),
            ..MigrateOpts::default()
        }
    }
}

/// Where a restored container's monitor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestoreMode {
    /// Daemonized; returns once the restored init runs (`lxc-checkpoint -r -d`).
    #[default]
    Daemon,
    /// This process becomes the monitor until the container stops (`-r -F`).
    Foreground,
}

/// Checkpoint / restore / migrate on a [`Container`].
pub trait CriuExt {
    /// Dump the running container into `directory` (a fresh one); with `stop`, it stops
    /// after the dump (liblxc's `checkpoint`).
    fn checkpoint(&self, directory: &Path, stop: bool, verbose: bool) -> Result<()>;

    /// Restore the container from `directory` behind a daemonized monitor (liblxc's
    /// `restore`).
    fn restore(&self, directory: &Path, verbose: bool) -> Result<()>;

    /// liblxc's `migrate`: one of the four commands with the full options. A feature check
    /// that fails leaves the supported features in `opts.features_to_check`.
    fn migrate(&self, cmd: MigrateCmd, opts: &mut MigrateOpts) -> Result<()>;

    /// A restore whose monitor runs as chosen (`RestoreMode::Foreground`: returns when the
    /// container stops).
    fn restore_with(&self, opts: &MigrateOpts, mode: RestoreMode) -> Result<()>;
}

impl CriuExt for Container {
    fn checkpoint(&self, directory: &Path, stop: bool, verbose: bool) -> Result<()> {
        let mut opts = MigrateOpts::new(directory);
        opts.stop = stop;
        opts.verbose = verbose;
        self.migrate(MigrateCmd::Dump, &mut opts)
    }

    fn restore(&self, directory: &Path, verbose: bool) -> Result<()> {
        let mut opts = MigrateOpts::new(directory);
        opts.verbose = verbose;
        self.migrate(MigrateCmd::Restore, &mut opts)
    }

    fn migrate(&self, cmd: MigrateCmd, opts: &mut MigrateOpts) -> Result<()> {
        match cmd {
            MigrateCmd::PreDump => dump::dump(self, argv::Action::PreDump, opts),
            MigrateCmd::Dump => dump::dump(self, argv::Action::Dump, opts),
            MigrateCmd::Restore => restore::restore(self, opts, RestoreMode::Daemon),
            MigrateCmd::FeatureCheck => feature_check(self.name(), opts),
        }
    }

    fn restore_with(&self, opts: &MigrateOpts, mode: RestoreMode) -> Result<()> {
        restore::restore(self, opts, mode)
    }
}

/// LXC's `__criu_check_feature`: `criu check --feature mem_dirty_track` / `uffd-noncoop` for
/// each bit asked; unknown bits refuse the whole check (and report no feature).
fn feature_check(name: &str, opts: &mut MigrateOpts) -> Result<()> {
    let asked = opts.features_to_check;
    let known = FEATURE_MEM_TRACK | FEATURE_LAZY_PAGES;
    if asked & !known != 0 {
        opts.features_to_check = 0;
        return Err(Error::UnknownFeatures {
            name: name.to_string(),
            bits: asked & !known,
        });
    }
    let criu = host::find_criu(name).ok();
    let mut supported = asked;
    for (bit, feature) in [
        (FEATURE_MEM_TRACK, "mem_dirty_track"),
        (FEATURE_LAZY_PAGES, "uffd-noncoop"),
    ] {
        if asked & bit == 0 {
            continue;
        }
        let ok = criu.as_ref().is_some_and(|c| {
            std::process::Command::new(c)
                .args(["check", "--feature", feature])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        if !ok {
            tracing::info!(feature, "criu: feature not supported");
            supported &= !bit;
        }
    }
    if supported != asked {
        opts.features_to_check = supported;
        return Err(Error::FeaturesMissing {
            name: name.to_string(),
            asked,
            supported,
            missing: asked & !supported,
        });
    }
    Ok(())
}

/// LXC's `criu_ok`: root, a criu of 2.0 or newer, and networks criu can dump. Returns criu's
/// path and version.
fn criu_ok(c: &Container, action: &'static str) -> Result<(PathBuf, String)> {
    if !sys::is_root() {
        return Err(Error::NotRoot {
            name: c.name().to_string(),
            action,
        });
    }
    let criu = host::find_criu(c.name())?;
    let version = host::criu_version(c.name(), &criu)?;
    host::netdevs(c)?;
    Ok((criu, version))
}
