//! Snapshots as LXC 5.0 keeps them: `<snapshot dir>/snapN/` is a container (config, rootfs)
//! with its creation time in `ts` (`%Y:%m:%d %H:%M:%S`, local time) and an optional `comment`.

use std::fs;
use std::path::{Path, PathBuf};

use super::clone::copy_file;
use super::{
    destroy_storage, has_fs_snapshots, manage_err, mod_all_rdeps, storage_of, CLONE_KEEPBDEVTYPE,
    CLONE_KEEPMACADDR, CLONE_KEEPNAME, CLONE_MAYBE_SNAPSHOT, CLONE_SNAPSHOT, OVERLAY_RESTORE,
};
use crate::container::Container;
use crate::error::{Error, Result};

/// One snapshot, as liblxc's `struct lxc_snapshot` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `snapN`.
    pub name: String,
    /// The directory the snapshots are in (the snapshot's lxcpath).
    pub lxcpath: PathBuf,
    /// When it was taken, as written in its `ts` file (None without one).
    pub timestamp: Option<String>,
    /// Where its comment is (the file need not exist).
    pub comment_pathname: PathBuf,
}

impl Snapshot {
    /// The comment, if the snapshot has one.
    pub fn comment(&self) -> Option<String> {
        fs::read_to_string(&self.comment_pathname).ok()
    }
}

/// Local time as LXC writes it into `ts`.
fn timestamp_now() -> String {
    let mut t: libc::time_t = 0;
    // SAFETY: time(2) writes the current time into the valid pointer it is given.
    unsafe { libc::time(&mut t) };
    // SAFETY: an all-zero struct tm is a valid value for localtime_r to overwrite.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the thread-safe variant.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return String::new();
    }
    let mut buf = [0u8; 25];
    let fmt = c"%Y:%m:%d %H:%M:%S";
    // SAFETY: `buf` is writable for its length, `fmt` is NUL-terminated, `tm` was filled above.
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// The number in `snapN`, for ordering.
fn snap_number(name: &str) -> Option<u64> {
    name.strip_prefix("snap")?.parse().ok()
}

impl Container {
    /// liblxc's `snapshot`: a new snapshot `snapN` (N the first free number) of this container
    /// in its snapshot directory, with `commentfile` copied as its comment. A `dir` container
    /// gets a full copy (as LXC's, which advises an overlay clone to snapshot instead); an
    /// overlay or btrfs container a snapshot of its own kind. Returns N.
    pub fn snapshot(&self, commentfile: Option<&Path>) -> Result<u32> {
        self.require_defined()?;
        let snappath = self.snapshot_dir();
        let mut i = 0u32;
        while snappath.join(format!("snap{i}")).exists() {
            i += 1;
        }
        fs::create_dir_all(&snappath)
            .map_err(|e| Error::io("create snapshot directory", &snappath, e))?;
        let name = format!("snap{i}");
        let mut flags = CLONE_SNAPSHOT
            | CLONE_KEEPMACADDR
            | CLONE_KEEPNAME
            | CLONE_KEEPBDEVTYPE
            | CLONE_MAYBE_SNAPSHOT;
        if storage_of(self)?.is_none_or(|s| s.kind() == lxc_storage::Kind::Dir) {
            tracing::warn!(
                container = self.name(),
                "snapshot of a directory-backed container: making a copy; for snapshots, make an \
                 overlay clone first, snapshot that and keep the original pristine"
            );
            flags &= !CLONE_SNAPSHOT;
        }
        self.clone_container(Some(&name), Some(&snappath), flags, None, 0, &[])?;
        let dir = snappath.join(&name);
        let ts = dir.join("ts");
        fs::write(&ts, timestamp_now()).map_err(|e| Error::io("write", &ts, e))?;
        if let Some(c) = commentfile {
            let dst = dir.join("comment");
            copy_file(c, &dst).map_err(|e| Error::io("copy comment", c, e))?;
        }
        tracing::info!(container = self.name(), snapshot = name, "snapshot taken");
        Ok(i)
    }

    /// liblxc's `snapshot_list`: the snapshots in the snapshot directory (those with a config),
    /// by number.
    pub fn snapshot_list(&self) -> Result<Vec<Snapshot>> {
        self.require_defined()?;
        let snappath = self.snapshot_dir();
        let rd = match fs::read_dir(&snappath) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read snapshot directory", &snappath, e)),
        };
        let mut out: Vec<Snapshot> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("config").is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .map(|name| Snapshot {
                timestamp: fs::read_to_string(snappath.join(&name).join("ts"))
                    .ok()
                    .filter(|t| !t.is_empty()),
                comment_pathname: snappath.join(&name).join("comment"),
                lxcpath: snappath.clone(),
                name,
            })
            .collect();
        out.sort_by(|a, b| (snap_number(&a.name), &a.name).cmp(&(snap_number(&b.name), &b.name)));
        Ok(out)
    }

    /// liblxc's `snapshot_restore`: the snapshot `snapname` becomes the container `newname`
    /// (default: this one, which is replaced; an overlay container's lower rootfs stays). Refused
    /// while other containers depend on this one's rootfs.
    pub fn snapshot_restore(&self, snapname: &str, newname: Option<&str>) -> Result<Container> {
        if has_fs_snapshots(self.config_path(), self.name()) {
            return Err(manage_err(
                self.name(),
                "restore snapshot",
                "the container's rootfs has dependent snapshots",
                libc::EBUSY,
            ));
        }
        let storage = storage_of(self)?;
        let kind = storage
            .as_ref()
            .map_or(lxc_storage::Kind::Dir, |s| s.kind());
        let overlay = kind == lxc_storage::Kind::Overlay;
        let newname = newname.unwrap_or(self.name());
        let snap = Container::new(snapname, Some(&self.snapshot_dir()))?;
        if !snap.is_defined() {
            return Err(manage_err(
                self.name(),
                "restore snapshot",
                format!("no snapshot {snapname}"),
                libc::ENOENT,
            ));
        }
        if newname == self.name() {
            let _lock = self.lock_config()?;
            if self.is_running() {
                return Err(Error::AlreadyRunning {
                    name: self.name().to_string(),
                });
            }
            self.refuse_if_run_by_lxc()?;
            self.destroy_keeping_snapshots(overlay)?;
        }
        let mut flags = 0;
        if !matches!(kind, lxc_storage::Kind::Dir | lxc_storage::Kind::Loop) {
            flags = CLONE_SNAPSHOT | CLONE_MAYBE_SNAPSHOT;
        }
        if overlay {
            flags |= OVERLAY_RESTORE;
        }
        snap.clone_container(
            Some(newname),
            Some(self.config_path()),
            flags,
            Some(kind.name()),
            0,
            &[],
        )
    }

    /// LXC's `container_destroy` for a restore in place: everything but the snapshots goes
    /// (of an overlay container, only the config: its rootfs is the snapshots' lower layer).
    fn destroy_keeping_snapshots(&self, overlay: bool) -> Result<()> {
        let dir = self.dir();
        if overlay {
            let cfg = dir.join("config");
            return fs::remove_file(&cfg).map_err(|e| Error::io("remove", &cfg, e));
        }
        destroy_storage(self)?;
        mod_all_rdeps(self.config_path(), self.name(), false);
        let rd = fs::read_dir(&dir).map_err(|e| Error::io("read directory", &dir, e))?;
        for e in rd.filter_map(|e| e.ok()) {
            if e.file_name() == "snaps" {
                continue;
            }
            lxc_storage::remove_tree(&e.path()).map_err(|err| {
                Error::io("remove", e.path(), std::io::Error::other(err.to_string()))
            })?;
        }
        Ok(())
    }

    /// liblxc's `snapshot_destroy`: destroy one snapshot (refused while others depend on it).
    pub fn snapshot_destroy(&self, snapname: &str) -> Result<()> {
        let snap = Container::new(snapname, Some(&self.snapshot_dir()))?;
        snap.destroy()
    }

    /// liblxc's `snapshot_destroy_all`: every snapshot, then the snapshot directory. A missing
    /// directory is an error, as LXC's.
    pub fn snapshot_destroy_all(&self) -> Result<()> {
        let snappath = self.snapshot_dir();
        let rd = fs::read_dir(&snappath)
            .map_err(|e| Error::io("read snapshot directory", &snappath, e))?;
        let mut first_err = None;
        for e in rd.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Err(err) = self.snapshot_destroy(&name) {
                tracing::warn!(snapshot = name, error = %err, "snapshot not destroyed");
                first_err.get_or_insert(err);
            }
        }
        if let Err(e) = fs::remove_dir(&snappath) {
            tracing::warn!(path = %snappath.display(), error = %e, "removing the snapshot directory");
        }
        first_err.map_or(Ok(()), Err)
    }

    /// liblxc's `destroy_with_snapshots`: the snapshots, then the container.
    pub fn destroy_with_snapshots(&self) -> Result<()> {
        self.snapshot_destroy_all()?;
        self.destroy()
    }
}
