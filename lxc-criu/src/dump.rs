//! pre-dump and dump of a running container (LXC's `do_dump`).

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lxc_core::{Container, State};

use crate::argv::{self, Action, DumpPart, Plan, Side};
use crate::error::{Error, Result};
use crate::host;
use crate::run::{self, Prepare};
use crate::MigrateOpts;

/// How long a dump with `stop` waits for the monitor to see the dumped init gone.
const STOPPED_WAIT: Duration = Duration::from_secs(30);

pub fn dump(c: &Container, action: Action, opts: &MigrateOpts) -> Result<()> {
    let name = c.name().to_string();
    if !c.is_running() {
        return Err(Error::NotRunning { name });
    }
    let (criu, version) = crate::criu_ok(c, "checkpoint")?;
    let dir = &opts.directory;
    if action == Action::Dump && dir.join("inventory.img").exists() {
        return Err(Error::NotFresh {
            name,
            dir: dir.clone(),
        });
    }
    let made = make_dir(&name, dir)?;
    let before = listing(dir);
    let result = run_dump(c, action, opts, criu, version);
    if result.is_err() {
        undo_failed(c, dir, made, &before);
    } else if action == Action::Dump && opts.stop {
        // criu killed the tree; the caller sees the container STOPPED, as after `stop`.
        let _ = c.wait(State::Stopped, Some(STOPPED_WAIT));
    }
    result
}

fn run_dump(
    c: &Container,
    action: Action,
    opts: &MigrateOpts,
    criu: PathBuf,
    version: String,
) -> Result<()> {
    let name = c.name();
    let init_pid = c.init_pid()?;
    let paths: Vec<PathBuf> = c.cgroup_paths()?.into_iter().map(PathBuf::from).collect();
    let tty_id = host::save_tty(c, &opts.directory, init_pid)?;
    let plan = Plan {
        criu,
        action,
        user: opts.clone(),
        criu_version: version,
        cgroups: host::cgroup_roots(&paths),
        binds: host::bind_entries(c)?,
        side: Side::Dump(DumpPart {
            init_pid,
            freezer: host::freezer_path(name, &paths)?,
            tty_id,
        }),
    };
    let argv = argv::build(&plan).map_err(|e| Error::Unsupported {
        name: name.to_string(),
        what: format!("criu {}", action.as_str()),
        why: e.to_string(),
    })?;
    let prep = Prepare {
        escape: host::open_escape(name, &paths, host::cgroup_relative(c))?,
        ..Prepare::default()
    };
    run::criu(name, &argv, &argv::log_path(&opts.directory, action), prep)
}

/// `mkdir -p` with mode 0700; whether the last component was made here.
fn make_dir(name: &str, dir: &Path) -> Result<bool> {
    if dir.is_dir() {
        return Ok(false);
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| Error::Io {
            name: name.to_string(),
            path: dir.to_path_buf(),
            source,
        })?;
    Ok(true)
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// After a failed dump: the container runs on (thawed, if criu left it frozen), and of what
/// this attempt wrote in the directory only criu's log stays, for its reasons.
fn undo_failed(c: &Container, dir: &Path, made: bool, before: &[PathBuf]) {
    if c.state() == State::Frozen {
        if let Err(e) = c.unfreeze() {
            tracing::warn!(container = c.name(), error = %e, "cannot thaw after a failed dump");
        }
    }
    let mut kept_log = false;
    for p in listing(dir) {
        if before.contains(&p) {
            continue;
        }
        if p.extension().is_some_and(|e| e == "log") {
            kept_log = true;
            continue;
        }
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        if let Err(e) = r {
            tracing::warn!(path = %p.display(), error = %e, "cannot remove after a failed dump");
        }
    }
    if made && !kept_log {
        let _ = std::fs::remove_dir(dir);
    }
}
