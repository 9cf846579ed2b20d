//! Managing containers as LXC 5.0 does: clone (copy or snapshot onto a storage backend, with the
//! config rewritten as `lxc-copy` writes it), rename, snapshots under `<dir>/snaps`, destroy
//! with LXC's dependency rules (`lxc_snapshots`, `lxc_rdepends`) and ephemeral containers
//! (`lxc.ephemeral`), on the backends of `lxc-storage`.
//!
//! The dependency files are LXC's: a container that others are overlays over keeps
//! `<dir>/lxc_snapshots` (for each dependant its lxcpath and name, one per line), and each
//! dependant keeps `<dir>/lxc_rdepends` naming what it depends on. A container with dependants
//! is not destroyed.

mod clone;
mod create;
mod snapshot;
pub mod text;

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub use lxc_storage as storage;
pub use snapshot::Snapshot;

use crate::container::Container;
use crate::error::{Error, Result};

/// `LXC_CLONE_KEEPNAME`: keep the hostname (`lxc.uts.name` and the rootfs's /etc/hostname).
pub const CLONE_KEEPNAME: u32 = 1 << 0;
/// `LXC_CLONE_KEEPMACADDR`: keep the network interfaces' hardware addresses.
pub const CLONE_KEEPMACADDR: u32 = 1 << 1;
/// `LXC_CLONE_SNAPSHOT`: snapshot the rootfs (an overlay over a `dir` rootfs) instead of
/// copying it.
pub const CLONE_SNAPSHOT: u32 = 1 << 2;
/// `LXC_CLONE_KEEPBDEVTYPE`: keep the storage type.
pub const CLONE_KEEPBDEVTYPE: u32 = 1 << 3;
/// `LXC_CLONE_MAYBE_SNAPSHOT`: snapshot if the storage can, else copy.
pub const CLONE_MAYBE_SNAPSHOT: u32 = 1 << 4;
/// `LXC_CLONE_ALLOW_RUNNING`: clone a running container.
pub const CLONE_ALLOW_RUNNING: u32 = 1 << 6;
/// LXC's internal `LXC_STORAGE_INTERNAL_OVERLAY_RESTORE`: an overlay container restored from
/// its snapshot keeps its (immutable) lower rootfs.
const OVERLAY_RESTORE: u32 = 1 << 6 << 8;

/// The dependants file of a container (`lxc_snapshots`).
pub const SNAPSHOTS_FILE: &str = "lxc_snapshots";
/// What a container depends on (`lxc_rdepends`).
pub const RDEPENDS_FILE: &str = "lxc_rdepends";

fn manage_err(c: &str, what: impl Into<String>, message: impl Into<String>, errno: i32) -> Error {
    Error::Manage {
        name: c.to_string(),
        what: what.into(),
        message: message.into(),
        errno,
    }
}

fn storage_err(c: &str, what: &str, e: lxc_storage::StorageError) -> Error {
    let errno = e.errno().unwrap_or(libc::EINVAL);
    manage_err(c, what, e.to_string(), errno)
}

/// The `lxc.rootfs.path` value with its storage type, as written (quotes dropped).
fn rootfs_value(c: &Container) -> Option<String> {
    c.config()
        .entries()
        .rfind(|e| e.key == "lxc.rootfs.path")
        .map(|e| crate::config::unquote(&e.raw).to_string())
        .filter(|v| !v.is_empty())
}

/// The container's storage, when it has a rootfs.
fn storage_of(c: &Container) -> Result<Option<lxc_storage::Storage>> {
    rootfs_value(c)
        .map(|v| {
            lxc_storage::Storage::parse(&v).map_err(|e| storage_err(c.name(), "rootfs storage", e))
        })
        .transpose()
}

/// `lxc.rootfs.managed` (default 1): whether LXC manages the rootfs's storage.
fn rootfs_managed(c: &Container) -> bool {
    c.config().last("lxc.rootfs.managed") != Some("0")
}

/// Append `<lxcpath>\n<name>\n` to a dependency file.
fn add_dep(file: &Path, lxcpath: &Path, name: &str) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .open(file)?;
    f.write_all(format!("{}\n{}\n", lxcpath.display(), name).as_bytes())
}

/// The (lxcpath, name) pairs of a dependency file.
fn read_deps(file: &Path) -> Vec<(PathBuf, String)> {
    let Ok(text) = fs::read_to_string(file) else {
        return Vec::new();
    };
    let l: Vec<&str> = text.lines().collect();
    l.chunks(2)
        .filter(|p| p.len() == 2)
        .map(|p| (PathBuf::from(p[0]), p[1].to_string()))
        .collect()
}

/// LXC's `mod_rdep`: add (`inc`) or remove `dep` in `target`'s `lxc_snapshots`; an emptied file
/// goes. The old format (a bare count) is counted up or down.
fn mod_rdep(target_dir: &Path, dep_lxcpath: &Path, dep_name: &str, inc: bool) -> io::Result<()> {
    let path = target_dir.join(SNAPSHOTS_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    if let Ok(n) = text.trim().parse::<i64>() {
        let v = if inc { n + 1 } else { n - 1 };
        if n != 0 {
            return fs::write(&path, format!("{v}\n"));
        }
    }
    let entry = format!("{}\n{}\n", dep_lxcpath.display(), dep_name);
    let new = if inc {
        let mut t = if text.trim().parse::<i64>().is_ok() {
            String::new()
        } else {
            text
        };
        t.push_str(&entry);
        t
    } else {
        text.replace(&entry, "")
    };
    if new.is_empty() {
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => return Ok(()),
        }
    }
    fs::write(&path, new)
}

/// LXC's `mod_all_rdeps`: tell everything `c` depends on that `c` came (`inc`) or went.
fn mod_all_rdeps(lxcpath: &Path, name: &str, inc: bool) {
    for (p, n) in read_deps(&lxcpath.join(name).join(RDEPENDS_FILE)) {
        if let Err(e) = mod_rdep(&p.join(&n), lxcpath, name, inc) {
            tracing::warn!(lxcpath = %p.display(), name = n, error = %e, "updating the snapshots file of a container depended on");
        }
    }
}

/// LXC's `has_fs_snapshots`: other containers are overlays over this one's rootfs.
pub fn has_fs_snapshots(lxcpath: &Path, name: &str) -> bool {
    match fs::read_to_string(lxcpath.join(name).join(SNAPSHOTS_FILE)) {
        Ok(t) if t.is_empty() => false,
        Ok(t) => t.trim().parse::<i64>() != Ok(0),
        Err(_) => false,
    }
}

impl Container {
    /// LXC's snapshot directory: `<lxcpath>snaps/<name>` when the old layout's directory
    /// exists, else `<lxcpath>/<name>/snaps`.
    pub fn snapshot_dir(&self) -> PathBuf {
        let old = PathBuf::from(format!("{}snaps", self.config_path().display()));
        if old.is_dir() {
            old.join(self.name())
        } else {
            self.dir().join("snaps")
        }
    }

    /// Whether the container has snapshots (a non-empty snapshot directory).
    pub fn has_snapshots(&self) -> bool {
        fs::read_dir(self.snapshot_dir()).is_ok_and(|mut d| d.next().is_some())
    }

    /// Whether other containers are overlays over this one's rootfs (`lxc_snapshots`).
    pub fn has_dependants(&self) -> bool {
        has_fs_snapshots(self.config_path(), self.name())
    }
}

/// `destroy` as LXC's: refused while snapshots or dependants exist (for a managed rootfs);
/// the storage goes (an overlay's upper layer, a loop image, a btrfs subvolume; a `dir` rootfs
/// outside the container directory is left, see [`crate::template::destroy`]), what it
/// depended on forgets it, then its directory. The caller holds the lock and checked that it is
/// not running.
pub(crate) fn destroy_container(c: &Container) -> Result<()> {
    // A handle made without reading the config still destroys by it.
    let mut loaded = c.clone();
    if loaded.config().entries().next().is_none() && loaded.is_defined() {
        if let Err(e) = loaded.load_config(None) {
            tracing::warn!(error = %e, "config not read; destroying the directory only");
        }
    }
    let c = &loaded;
    let managed = rootfs_managed(c);
    if managed && c.is_defined() {
        if c.has_snapshots() {
            return Err(manage_err(
                c.name(),
                "destroy",
                "the container has snapshots; not removing it",
                libc::EBUSY,
            ));
        }
        if c.has_dependants() {
            return Err(manage_err(
                c.name(),
                "destroy",
                "the container has snapshots on its rootfs (other containers depend on it)",
                libc::EBUSY,
            ));
        }
    }
    if managed {
        destroy_storage(c)?;
    }
    mod_all_rdeps(c.config_path(), c.name(), false);
    crate::template::destroy(c.config_path(), c.name())
}

/// The backend's own storage (the tree of a `dir` rootfs goes with the container directory).
fn destroy_storage(c: &Container) -> Result<()> {
    // A config that no longer parses still names a container directory to remove.
    match storage_of(c) {
        Ok(Some(s)) if s.kind() != lxc_storage::Kind::Dir => s
            .destroy()
            .map_err(|e| storage_err(c.name(), "destroy rootfs storage", e)),
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "rootfs storage not understood; removing the directory only");
            Ok(())
        }
    }
}

/// `lxc.ephemeral = 1`: the container goes when it stops (not on a reboot), as LXC's monitor
/// removes it. Called by the monitor after the last stop.
pub fn ephemeral_stop(config: &crate::Config, lxcpath: &Path, name: &str) {
    if config.last("lxc.ephemeral") != Some("1") {
        return;
    }
    let c = match Container::new_unloaded(name, Some(lxcpath)) {
        Ok(mut c) => {
            *c.config_mut() = config.clone();
            c
        }
        Err(e) => {
            tracing::warn!(error = %e, "ephemeral container not removed");
            return;
        }
    };
    let r = destroy_storage(&c).and_then(|()| {
        mod_all_rdeps(lxcpath, name, false);
        crate::template::destroy(lxcpath, name)
    });
    match r {
        Ok(()) => tracing::info!(container = name, "ephemeral container destroyed"),
        Err(e) => {
            tracing::warn!(container = name, error = %e, "destroying the ephemeral container")
        }
    }
}
