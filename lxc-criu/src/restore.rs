//! Restore (LXC's `do_restore`): a monitor is started whose init `criu restore
//! --restore-detached --restore-sibling` recreates as the monitor's child.

use std::os::fd::AsRawFd;
use std::path::PathBuf;

use lxc_core::phase::{CgroupHandle, HookCtx};
use lxc_core::start::restore::{Launch, Restorer};
use lxc_core::{Container, StartMode, StartOptions};

use crate::argv::{self, Action, NetDev, Plan, RestorePart, Side};
use crate::error::{Error, Result};
use crate::run::{self, Prepare};
use crate::{host, MigrateOpts, RestoreMode};

pub fn restore(c: &Container, opts: &MigrateOpts, mode: RestoreMode) -> Result<()> {
    let name = c.name().to_string();
    if c.is_running() {
        return Err(Error::AlreadyRunning { name });
    }
    let (criu, version) = crate::criu_ok(c, "restore")?;
    let inventory = opts.directory.join("inventory.img");
    if !inventory.is_file() {
        return Err(Error::Io {
            name,
            path: inventory,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no dump here (criu's inventory.img is missing)",
            ),
        });
    }
    let (rootfs, root) = host::rootfs(c)?;
    let restorer = CriuRestorer {
        name: name.clone(),
        criu,
        version,
        opts: opts.clone(),
        tty: host::load_tty(&name, &opts.directory)?,
        binds: host::bind_entries(c)?
            .into_iter()
            .map(resolved_source)
            .collect(),
        netdevs: host::netdevs(c)?,
        lsm_profile: host::lsm_profile(c),
        rootfs,
        root,
        relative: host::cgroup_relative(c),
    };
    let start = StartOptions {
        mode: StartMode::Start,
        argv: Vec::new(),
        inherit_stdio: false,
        close_all_fds: false,
    };
    let launch = Launch::Restore(Box::new(restorer));
    match mode {
        RestoreMode::Daemon => c.start_with(&start, launch)?,
        RestoreMode::Foreground => {
            c.start_foreground_with(&start, launch)?;
        }
    }
    Ok(())
}

/// A bind's source with its symlinks resolved. The kernel followed them when the container
/// started (`/lib` is a link to `usr/lib` on a merged-/usr host); criu's restore does not, and
/// fails to bind a symlink (EINVAL), which LXC's own line (the source as written) runs into.
fn resolved_source(b: argv::BindEntry) -> argv::BindEntry {
    match std::fs::canonicalize(&b.source) {
        Ok(p) => argv::BindEntry {
            source: p.display().to_string(),
            ..b
        },
        Err(_) => b,
    }
}

/// Everything read from the container before the monitor is forked; the rest (cgroups,
/// console) comes from the start's state in the monitor.
struct CriuRestorer {
    name: String,
    criu: PathBuf,
    version: String,
    opts: MigrateOpts,
    tty: Option<String>,
    binds: Vec<argv::BindEntry>,
    netdevs: Vec<NetDev>,
    lsm_profile: Option<String>,
    rootfs: PathBuf,
    root: PathBuf,
    /// `lxc.cgroup.relative`: criu stays in the monitor's cgroup.
    relative: bool,
}

impl Restorer for CriuRestorer {
    fn restore(&mut self, ctx: &mut HookCtx<'_>) -> Result<i32, lxc_core::Error> {
        self.run(ctx).map_err(Error::into_core)
    }
}

impl CriuRestorer {
    fn run(&mut self, ctx: &mut HookCtx<'_>) -> Result<i32> {
        let paths: Vec<PathBuf> = ctx
            .state
            .get::<CgroupHandle>()
            .map(|h| h.0.paths())
            .unwrap_or_default();
        // The console the PreClone made on the host: its peer goes to criu for the dumped
        // tty, its name replaces the dumped /dev/console's source.
        let terms = ctx.state.get::<lxc_console::Terminals>();
        let console = terms.and_then(|t| match (&t.console, &t.console_peer) {
            (Some((_, path)), Some(peer)) => Some((path.clone(), peer.as_raw_fd())),
            _ => None,
        });
        let tty = self.tty.as_ref().map(|t| {
            let fd = console.as_ref().map_or(-1, |(_, fd)| *fd);
            (t.clone(), fd)
        });
        let plan = Plan {
            criu: self.criu.clone(),
            action: Action::Restore,
            user: self.opts.clone(),
            criu_version: self.version.clone(),
            cgroups: host::cgroup_roots(&paths),
            binds: self.binds.clone(),
            side: Side::Restore(RestorePart {
                root: self.root.clone(),
                tty,
                console_name: console.as_ref().map(|(p, _)| p.display().to_string()),
                lsm_profile: self.lsm_profile.clone(),
                netdevs: self.netdevs.clone(),
            }),
        };
        let argv = argv::build(&plan).map_err(|e| Error::Unsupported {
            name: self.name.clone(),
            what: "criu restore".into(),
            why: e.to_string(),
        })?;
        let prep = Prepare {
            escape: host::open_escape(&self.name, &paths, self.relative)?,
            bind_root: Some((
                run::cstring(&self.name, &self.rootfs)?,
                run::cstring(&self.name, &self.root)?,
            )),
            inherit: console.as_ref().map(|(_, fd)| *fd),
        };
        run::criu(
            &self.name,
            &argv,
            &argv::log_path(&self.opts.directory, Action::Restore),
            prep,
        )?;
        restored_child(&self.name)
    }
}

/// The restored tree's root: with `--restore-sibling` it is this process's child, the only
/// one left once criu was reaped.
fn restored_child(name: &str) -> Result<i32> {
    let path = PathBuf::from(format!("/proc/self/task/{}/children", crate::sys::gettid()));
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        name: name.to_string(),
        path: path.clone(),
        source,
    })?;
    let pids: Vec<i32> = text
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    match pids.as_slice() {
        [pid] => Ok(*pid),
        _ => Err(Error::Unsupported {
            name: name.to_string(),
            what: "the restored init".into(),
            why: format!(
                "criu restore succeeded, but {} lists {pids:?} (one child expected)",
                path.display()
            ),
        }),
    }
}
