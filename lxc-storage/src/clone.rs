//! The storage half of a clone (LXC's `storage_copy`): which backend the copy gets, its new
//! `lxc.rootfs.path`, and the copy or snapshot itself.

use std::path::Path;

use crate::copy::copy_tree;
use crate::error::{Result, StorageError};
use crate::{mkdir_p, Kind, Specs, Storage, OVERLAY_DELTA_PATH, OVERLAY_WORK_PATH};

/// What a clone asks of the storage.
#[derive(Debug, Clone)]
pub struct CloneRequest<'a> {
    pub orig: &'a Storage,
    pub old_name: &'a str,
    pub old_lxcpath: &'a Path,
    pub new_name: &'a str,
    pub new_lxcpath: &'a Path,
    /// `-B`: the new backend; None lets LXC's rules choose.
    pub bdevtype: Option<Kind>,
    pub snapshot: bool,
    pub maybe_snapshot: bool,
    pub keep_bdevtype: bool,
    /// Bytes for a new block-backed rootfs; 0: the default.
    pub newsize: u64,
}

/// The new storage, and whether the clone depends on the original (an overlay over its
/// rootfs: recorded in the original's `lxc_snapshots`).
#[derive(Debug, Clone)]
pub struct Cloned {
    pub storage: Storage,
    pub needs_rdep: bool,
}

fn unsupported(kind: Kind, value: &str, why: impl Into<String>) -> StorageError {
    StorageError::Unsupported {
        kind: kind.name(),
        value: value.to_string(),
        why: why.into(),
    }
}

/// Clean a path the way LXC's `path_simplify` does for the comparisons below: no `//`, no
/// trailing `/`.
fn simplify(p: &Path) -> String {
    let s = p.to_string_lossy();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    while out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// LXC's rule for an overlay snapshot of an overlay container kept in the container's own
/// `snaps` directory (or restored from there): no dependency is recorded.
fn inside_own_snaps(req: &CloneRequest<'_>) -> bool {
    let old = simplify(req.old_lxcpath);
    let new = simplify(req.new_lxcpath);
    let last = |s: &str| {
        s.rsplit('/')
            .next()
            .unwrap_or_default()
            .starts_with("snaps")
    };
    let (outer, inner, name) = if last(&old) {
        (new, old, req.new_name)
    } else if last(&new) {
        (old, new, req.old_name)
    } else {
        return false;
    };
    match inner.strip_prefix(&outer).and_then(|r| r.strip_prefix('/')) {
        Some(rest) if !rest.is_empty() => rest.starts_with(name),
        _ => false,
    }
}

/// Copy or snapshot `req.orig` for a new container `<new_lxcpath>/<new_name>`, as LXC 5.0's
/// `storage_copy` decides: a snapshot of a `dir` container becomes an overlay over it, a copy
/// into another lxcpath becomes a `dir` unless a type is asked for, btrfs snapshots btrfs.
/// `<new_lxcpath>/<new_name>/rootfs` must exist (the clone makes it). Undone on failure.
pub fn clone_storage(req: &CloneRequest<'_>) -> Result<Cloned> {
    let orig = req.orig;
    if !orig.src().contains(req.old_name) {
        return Err(unsupported(
            orig.kind(),
            orig.src(),
            format!("the rootfs path does not include the container name {:?}, so no new path can be made from it", req.old_name),
        ));
    }
    let mut snap = req.snapshot;
    let mut bdevtype = req.bdevtype;
    if req.maybe_snapshot && req.keep_bdevtype && bdevtype.is_none() && !orig.kind().can_snapshot()
    {
        snap = false;
    }
    if bdevtype.is_none() && !req.keep_bdevtype && snap && orig.kind() == Kind::Dir {
        bdevtype = Some(Kind::Overlay);
    }
    let new_kind = match bdevtype {
        Some(k) => k,
        None if !snap && req.old_lxcpath != req.new_lxcpath => Kind::Dir,
        None => orig.kind(),
    };
    let mut needs_rdep = new_kind == Kind::Overlay;
    let cdir = req.new_lxcpath.join(req.new_name);
    let dest = cdir.join("rootfs");
    let _span = tracing::info_span!(
        "clone storage",
        from = orig.src(),
        to = new_kind.name(),
        snap
    )
    .entered();

    let new = match new_kind {
        Kind::Dir => {
            if snap {
                return Err(unsupported(
                    Kind::Dir,
                    orig.src(),
                    "directories cannot be snapshotted",
                ));
            }
            Storage::new(Kind::Dir, format!("dir:{}", dest.display()))
        }
        Kind::Overlay => {
            if !snap {
                return Err(unsupported(
                    Kind::Overlay,
                    orig.src(),
                    "the overlay storage driver can only be used for snapshots",
                ));
            }
            let delta = cdir.join(OVERLAY_DELTA_PATH);
            mkdir_p(&delta)?;
            mkdir_p(&cdir.join(OVERLAY_WORK_PATH))?;
            match orig.kind() {
                Kind::Dir => Storage::new(
                    Kind::Overlay,
                    format!("overlay:{}:{}", orig.path(), delta.display()),
                ),
                Kind::Overlay => {
                    let (lower, odelta) = orig.overlay_layers()?;
                    let s = Storage::new(
                        Kind::Overlay,
                        format!("overlay:{lower}:{}", delta.display()),
                    );
                    copy_dirs(Path::new(odelta), &delta)?;
                    if inside_own_snaps(req) {
                        needs_rdep = false;
                    }
                    return Ok(Cloned {
                        storage: s,
                        needs_rdep,
                    });
                }
                other => {
                    return Err(unsupported(
                        Kind::Overlay,
                        orig.src(),
                        format!(
                            "an overlay clone of a {} container is not supported",
                            other.name()
                        ),
                    ))
                }
            }
        }
        Kind::Btrfs => {
            if orig.kind() != Kind::Btrfs && snap {
                return Err(unsupported(
                    Kind::Btrfs,
                    orig.src(),
                    format!(
                        "a btrfs snapshot of a {} container is not supported",
                        orig.kind().name()
                    ),
                ));
            }
            Storage::new(Kind::Btrfs, format!("btrfs:{}", dest.display()))
        }
        Kind::Loop => {
            if snap {
                return Err(unsupported(
                    Kind::Loop,
                    orig.src(),
                    "the loop storage driver does not support snapshots",
                ));
            }
            Storage::create(
                Kind::Loop,
                &dest,
                &Specs {
                    fssize: req.newsize,
                    ..Specs::default()
                },
            )?
        }
    };

    let undo = |e: StorageError| {
        if new.kind() != Kind::Dir {
            if let Err(u) = new.destroy() {
                tracing::warn!(error = %u, "removing the storage of a failed clone");
            }
        }
        e
    };

    if new.kind() == Kind::Btrfs {
        if orig.kind() == Kind::Btrfs {
            let from = Path::new(orig.path());
            if snap || same_btrfs(from, &cdir) {
                crate::btrfs_snapshot(from, &dest)?;
                return Ok(Cloned {
                    storage: new,
                    needs_rdep,
                });
            }
        }
        // A copy onto btrfs goes into a new subvolume where the clone's rootfs directory was.
        match std::fs::remove_dir(&dest) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StorageError::io("remove", &dest, e))
            }
            _ => {}
        }
        crate::btrfs_subvol_create(&dest)?;
    }
    if snap {
        return Ok(Cloned {
            storage: new,
            needs_rdep,
        });
    }
    let from = orig.mount(None).map_err(undo)?;
    let to = new.mount(None).map_err(undo)?;
    copy_tree(
        from.root(),
        to.root(),
        Path::new(orig.rootfs_dir().unwrap_or(orig.src())),
    )
    .map_err(undo)?;
    Ok(Cloned {
        storage: new,
        needs_rdep,
    })
}

/// Copy the directory `from` into the directory `to` (an overlay's upper layer).
fn copy_dirs(from: &Path, to: &Path) -> Result<()> {
    let open = |p: &Path| {
        std::fs::File::open(p)
            .map(std::os::fd::OwnedFd::from)
            .map_err(|e| StorageError::io("open", p, e))
    };
    let (s, d) = (open(from)?, open(to)?);
    use std::os::fd::AsFd;
    copy_tree(s.as_fd(), d.as_fd(), from)
}

/// Whether two paths are on the same btrfs filesystem (the same device number is the same
/// filesystem; subvolumes of one filesystem differ in it, so compare the fsid through statfs
/// f_fsid).
pub fn same_btrfs(a: &Path, b: &Path) -> bool {
    let fsid = |p: &Path| -> Option<[i32; 2]> {
        let c = crate::sys::cpath(p).ok()?;
        // SAFETY: an all-zero statfs is a valid value for the kernel to overwrite.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is NUL-terminated and `st` a valid out pointer, both outlive the call.
        if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
            return None;
        }
        // SAFETY: fsid_t is two ints; reading it as such is what it is.
        Some(unsafe { std::mem::transmute::<libc::fsid_t, [i32; 2]>(st.f_fsid) })
    };
    crate::is_btrfs_fs(a) && crate::is_btrfs_fs(b) && fsid(a).is_some() && fsid(a) == fsid(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(
        orig: &'a Storage,
        old: &'a str,
        oldp: &'a Path,
        new: &'a str,
        newp: &'a Path,
    ) -> CloneRequest<'a> {
        CloneRequest {
            orig,
            old_name: old,
            old_lxcpath: oldp,
            new_name: new,
            new_lxcpath: newp,
            bdevtype: None,
            snapshot: true,
            maybe_snapshot: false,
            keep_bdevtype: false,
            newsize: 0,
        }
    }

    #[test]
    fn snaps_of_own_container_record_no_dependency() {
        let o = Storage::parse("overlay:/p/base/rootfs:/p/c1/overlay/delta").unwrap();
        assert!(inside_own_snaps(&req(
            &o,
            "c1",
            Path::new("/p"),
            "snap0",
            Path::new("/p/c1/snaps")
        )));
        assert!(inside_own_snaps(&req(
            &o,
            "snap0",
            Path::new("/p/c1/snaps/"),
            "c1",
            Path::new("/p")
        )));
        assert!(!inside_own_snaps(&req(
            &o,
            "c1",
            Path::new("/p"),
            "c2",
            Path::new("/p")
        )));
    }
}
