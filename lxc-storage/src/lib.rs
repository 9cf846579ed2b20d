//! The rootfs storage backends of LXC 5.0 that lxc-rs serves: `dir`, `overlay` (also spelt
//! `overlayfs`), `btrfs` and `loop`, read from `lxc.rootfs.path` the way LXC's storage layer
//! reads it (a `TYPE:` prefix, else detection of a plain path), with LXC's layouts: an overlay
//! container's upper layer is `<dir>/overlay/delta` beside `<dir>/overlay/work`, a loop
//! container's image is `<dir>/rootdev`.
//!
//! Every backend mounts as a *detached* mount (fsopen/fsmount, open_tree): the caller moves it
//! where it wants it (the rootfs mount point, in a start), or reads through its fd and drops it
//! (a copy), so no process needs a private mount namespace to look inside a backend, and nothing
//! stays mounted when the fd goes. Loop devices are made with `LO_FLAGS_AUTOCLEAR`: they go when
//! their filesystem is unmounted.

pub mod clone;
pub mod copy;
pub mod error;
mod fsops;
pub mod sys;

use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

pub use clone::{clone_storage, CloneRequest, Cloned};
pub use error::{Result, StorageError};
pub use fsops::remove_tree;

/// LXC's size of a new block-backed rootfs when none is given (`--fssize`): 1 GiB.
pub const DEFAULT_FS_SIZE: u64 = 1 << 30;
/// LXC's filesystem for a new block-backed rootfs when none is given (`--fstype`).
pub const DEFAULT_FSTYPE: &str = "ext4";
/// The overlay backend's private directory in the container directory, its upper layer and its
/// work directory (LXC 5.0's `LXC_OVERLAY_*` paths).
pub const OVERLAY_PRIVATE_DIR: &str = "overlay";
pub const OVERLAY_DELTA_PATH: &str = "overlay/delta";
pub const OVERLAY_WORK_PATH: &str = "overlay/work";
/// Storage types LXC has that lxc-rs does not serve (named in the error).
pub const LXC_ONLY_TYPES: &[&str] = &["zfs", "lvm", "rbd", "nbd"];

/// A storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    Overlay,
    Btrfs,
    Loop,
}

impl Kind {
    /// The name LXC gives the type (`overlay`, never `overlayfs`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Dir => "dir",
            Kind::Overlay => "overlay",
            Kind::Btrfs => "btrfs",
            Kind::Loop => "loop",
        }
    }

    /// A type by LXC's name; `overlayfs` is `overlay`. Err for LXC's types lxc-rs does not
    /// serve and for names LXC does not have.
    pub fn from_name(name: &str) -> Result<Kind> {
        match name {
            "dir" => Ok(Kind::Dir),
            "overlay" | "overlayfs" => Ok(Kind::Overlay),
            "btrfs" => Ok(Kind::Btrfs),
            "loop" => Ok(Kind::Loop),
            other => Err(StorageError::Spec {
                value: other.to_string(),
                expected: if LXC_ONLY_TYPES.contains(&other) {
                    format!("a storage type lxc-rs serves (dir, overlay, btrfs, loop); {other} is LXC's but not lxc-rs's")
                } else {
                    "a storage type: dir, overlay, btrfs or loop".into()
                },
            }),
        }
    }

    /// Whether the backend makes snapshot clones natively (LXC's `can_snapshot`).
    pub fn can_snapshot(self) -> bool {
        matches!(self, Kind::Overlay | Kind::Btrfs)
    }
}

/// What `create -B TYPE` is given: `--fstype`, `--fssize`, `--dir`.
#[derive(Debug, Clone, Default)]
pub struct Specs {
    pub fstype: Option<String>,
    /// Bytes; 0 means [`DEFAULT_FS_SIZE`].
    pub fssize: u64,
    pub dir: Option<PathBuf>,
}

/// One container's rootfs storage: its type and its `lxc.rootfs.path` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    kind: Kind,
    src: String,
}

/// A backend mounted nowhere yet (see the crate docs): move it with move_mount, or read
/// through [`Mounted::root`]. Dropping it unmounts it.
#[derive(Debug)]
pub struct Mounted {
    root: OwnedFd,
    /// Held until the filesystem is made; the device clears itself when that goes.
    _loop: Option<OwnedFd>,
}

impl Mounted {
    /// The root of the mounted tree.
    pub fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// Attach the tree on the directory `at` in the caller's mount namespace (a private one:
    /// it stays mounted until that namespace goes).
    pub fn attach_at(&self, at: &Path) -> Result<()> {
        sys::move_mount(self.root.as_fd(), at).map_err(|e| StorageError::io("mount on", at, e))
    }
}

fn strip_type<'a>(src: &'a str, names: &[&str]) -> &'a str {
    for n in names {
        if let Some(rest) = src.strip_prefix(n).and_then(|r| r.strip_prefix(':')) {
            return rest;
        }
    }
    src
}

impl Storage {
    /// Read an `lxc.rootfs.path` value as LXC's storage layer does: a known `TYPE:` prefix
    /// names the backend; otherwise the path is looked at, in LXC's order (a directory is
    /// `dir`, a regular file is `loop`).
    pub fn parse(value: &str) -> Result<Storage> {
        if value.is_empty() {
            return Err(StorageError::Spec {
                value: value.into(),
                expected: "a rootfs path".into(),
            });
        }
        if let Some((prefix, _)) = value.split_once(':') {
            if LXC_ONLY_TYPES.contains(&prefix) {
                Kind::from_name(prefix)?;
            }
            if let Ok(kind) = Kind::from_name(prefix) {
                return Ok(Storage {
                    kind,
                    src: value.to_string(),
                });
            }
        }
        Self::detect(value)
    }

    /// What LXC's detection makes of a plain path: `dir` for a directory (it is tried first,
    /// so a btrfs subvolume named without `btrfs:` is a directory too), `loop` for a regular
    /// file.
    pub fn detect(path: &str) -> Result<Storage> {
        let kind = match fs::metadata(path) {
            Ok(m) if m.is_dir() => Kind::Dir,
            Ok(m) if m.is_file() => Kind::Loop,
            Ok(_) => {
                return Err(StorageError::Spec {
                    value: path.into(),
                    expected: "a directory or an image file".into(),
                })
            }
            Err(e) => return Err(StorageError::io("look at rootfs", path, e)),
        };
        Ok(Storage {
            kind,
            src: path.to_string(),
        })
    }

    /// A storage of `kind` at `src` (an `lxc.rootfs.path` value), as a backend made it.
    fn new(kind: Kind, src: String) -> Storage {
        Storage { kind, src }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The `lxc.rootfs.path` value.
    pub fn src(&self) -> &str {
        &self.src
    }

    /// The value without its type prefix (LXC's `lxc_storage_get_path`).
    pub fn path(&self) -> &str {
        match self.kind {
            Kind::Overlay => strip_type(&self.src, &["overlay", "overlayfs"]),
            k => strip_type(&self.src, &[k.name()]),
        }
    }

    /// An overlay's lower layer(s) and upper layer: the value splits at its last `:/`, so
    /// the lower part may name several layers.
    pub fn overlay_layers(&self) -> Result<(&str, &str)> {
        let rest = self.path();
        match rest.rfind(":/") {
            Some(i) if self.kind == Kind::Overlay && i > 0 => Ok((&rest[..i], &rest[i + 1..])),
            _ => Err(StorageError::Spec {
                value: self.src.clone(),
                expected: "overlay:LOWER:UPPER with absolute paths".into(),
            }),
        }
    }

    /// The directory a snapshot or copy of this rootfs reads: the lower layer of an overlay,
    /// the path of the others.
    pub fn rootfs_dir(&self) -> Result<&str> {
        match self.kind {
            Kind::Overlay => self.overlay_layers().map(|(lower, _)| lower),
            _ => Ok(self.path()),
        }
    }

    /// Make the storage for a new container whose rootfs would be `dest`
    /// (`<lxcpath>/<name>/rootfs`), as `lxc-create -B TYPE` does. Undone on failure.
    pub fn create(kind: Kind, dest: &Path, specs: &Specs) -> Result<Storage> {
        let dest_s = dest.to_string_lossy();
        match kind {
            Kind::Dir => {
                let dir = specs.dir.as_deref().unwrap_or(dest);
                mkdir_p(dest)?;
                mkdir_p(dir)?;
                Ok(Storage::new(kind, format!("dir:{}", dir.display())))
            }
            Kind::Overlay => {
                let parent = container_dir_of(dest, kind)?;
                let delta = parent.join(OVERLAY_DELTA_PATH);
                mkdir_p(&delta)?;
                mkdir_p(dest)?;
                Ok(Storage::new(
                    kind,
                    format!("overlay:{dest_s}:{}", delta.display()),
                ))
            }
            Kind::Btrfs => {
                btrfs_subvol_create(dest)?;
                Ok(Storage::new(kind, format!("btrfs:{dest_s}")))
            }
            Kind::Loop => {
                let parent = container_dir_of(dest, kind)?;
                let image = parent.join("rootdev");
                mkdir_p(dest)?;
                let size = if specs.fssize == 0 {
                    DEFAULT_FS_SIZE
                } else {
                    specs.fssize
                };
                let fstype = specs.fstype.as_deref().unwrap_or(DEFAULT_FSTYPE);
                make_image(&image, size, fstype)?;
                Ok(Storage::new(kind, format!("loop:{}", image.display())))
            }
        }
    }

    /// Mount the backend, detached (see [`Mounted`]). `data` is filesystem data from
    /// `lxc.rootfs.options` (`key=value,flag`), given to overlay and to the loop image's
    /// filesystem.
    pub fn mount(&self, data: Option<&str>) -> Result<Mounted> {
        match self.kind {
            Kind::Dir | Kind::Btrfs => {
                let p = Path::new(self.path());
                let root = sys::open_tree_clone(p).map_err(|e| StorageError::io("open", p, e))?;
                Ok(Mounted { root, _loop: None })
            }
            Kind::Overlay => self.mount_overlay(data),
            Kind::Loop => mount_loop(Path::new(self.path()), data),
        }
    }

    fn mount_overlay(&self, data: Option<&str>) -> Result<Mounted> {
        let (lower, upper) = self.overlay_layers()?;
        let upper_p = Path::new(upper);
        // As LXC: the work directory sits beside the upper one, both made when missing.
        let work = upper_p
            .parent()
            .map(|p| p.join("work"))
            .ok_or_else(|| StorageError::Spec {
                value: self.src.clone(),
                expected: "an upper directory below a parent".into(),
            })?;
        mkdir_p(upper_p)?;
        mkdir_p(&work)?;
        let op = |e| StorageError::io("mount overlay (lower, then upper)", upper_p, e);
        let fs = sys::fsopen("overlay").map_err(op)?;
        let set = |k: &str, v: &[u8]| sys::fsconfig(fs.as_fd(), k, Some(v));
        set("lowerdir", lower.as_bytes())
            .map_err(|e| StorageError::io("overlay lowerdir", lower, e))?;
        set("upperdir", upper.as_bytes()).map_err(op)?;
        set("workdir", work.as_os_str().as_bytes())
            .map_err(|e| StorageError::io("overlay workdir", &work, e))?;
        fs_data(fs.as_fd(), data).map_err(op)?;
        let root = sys::fsmount(fs.as_fd()).map_err(op)?;
        tracing::debug!(lower, upper, "overlay mounted");
        Ok(Mounted { root, _loop: None })
    }

    /// Remove the storage (LXC's `destroy` of the backend): a directory's tree, an overlay's
    /// upper layer, a btrfs subvolume, a loop image.
    pub fn destroy(&self) -> Result<()> {
        match self.kind {
            Kind::Dir => remove_tree(Path::new(self.path())),
            Kind::Overlay => remove_tree(Path::new(self.overlay_layers()?.1)),
            Kind::Btrfs => {
                let p = Path::new(self.path());
                if is_btrfs_subvol(p) {
                    btrfs_subvol_destroy(p)
                } else {
                    remove_tree(p)
                }
            }
            Kind::Loop => match fs::remove_file(self.path()) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(StorageError::io("remove loop image", self.path(), e)),
            },
        }
    }
}

/// The container directory a backend's files go in: `dest` must be `<dir>/rootfs`, as LXC
/// requires for overlay and loop.
fn container_dir_of(dest: &Path, kind: Kind) -> Result<PathBuf> {
    match (dest.file_name(), dest.parent()) {
        (Some(n), Some(p)) if n == "rootfs" => Ok(p.to_path_buf()),
        _ => Err(StorageError::Unsupported {
            kind: kind.name(),
            value: dest.display().to_string(),
            why: "the rootfs must be <container dir>/rootfs".into(),
        }),
    }
}

pub(crate) fn mkdir_p(p: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(p)
        .map_err(|e| StorageError::io("create directory", p, e))
}

/// `key=value,flag` filesystem data, one fsconfig call each.
fn fs_data(fs: BorrowedFd<'_>, data: Option<&str>) -> io::Result<()> {
    for item in data
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
    {
        match item.split_once('=') {
            Some((k, v)) => sys::fsconfig(fs, k, Some(v.as_bytes()))?,
            None => sys::fsconfig(fs, item, None)?,
        }
    }
    Ok(())
}

/// A sparse image of `size` bytes (plus the byte LXC writes at its end) with a `fstype`
/// filesystem made by `mkfs.<fstype>`. Removed again if mkfs fails.
fn make_image(image: &Path, size: u64, fstype: &str) -> Result<()> {
    if fstype.is_empty() || fstype.contains('/') {
        return Err(StorageError::Spec {
            value: fstype.into(),
            expected: "a filesystem type such as ext4".into(),
        });
    }
    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(image)
        .map_err(|e| StorageError::io("create loop image", image, e))?;
    let sized = {
        use std::os::unix::fs::FileExt;
        f.write_at(b"1", size)
    };
    drop(f);
    let undo = |e: StorageError| {
        let _ = fs::remove_file(image);
        e
    };
    sized.map_err(|e| undo(StorageError::io("size loop image", image, e)))?;
    let program = format!("mkfs.{fstype}");
    let out = Command::new(&program)
        .arg(image)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| undo(StorageError::io(format!("run {program}"), image, e)))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(undo(StorageError::Command {
            program,
            path: image.to_path_buf(),
            why: format!("{}: {why}", out.status),
        }));
    }
    tracing::info!(image = %image.display(), size, fstype, "loop image made");
    Ok(())
}

/// A free loop device bound to `image` with autoclear: (device fd, /dev/loopN).
pub fn attach_loop(image: &Path) -> Result<(OwnedFd, PathBuf)> {
    let backing = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(image)
        .map_err(|e| StorageError::io("open loop image", image, e))?;
    let ctl_path = Path::new("/dev/loop-control");
    let ctl = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(ctl_path)
        .map_err(|e| StorageError::io("open", ctl_path, e))?;
    // Another process may take the free device between the question and the bind: ask again.
    let mut last = None;
    for _ in 0..16 {
        let n = sys::loop_get_free(ctl.as_fd())
            .map_err(|e| StorageError::io("LOOP_CTL_GET_FREE", ctl_path, e))?;
        let dev_path = PathBuf::from(format!("/dev/loop{n}"));
        let dev = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&dev_path)
            .map_err(|e| StorageError::io("open", &dev_path, e))?;
        match sys::loop_attach(
            dev.as_fd(),
            backing.as_fd(),
            sys::LO_FLAGS_AUTOCLEAR,
            image.as_os_str().as_bytes(),
        ) {
            Ok(()) => {
                tracing::debug!(image = %image.display(), dev = %dev_path.display(), "loop device attached");
                return Ok((dev.into(), dev_path));
            }
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => last = Some(e),
            Err(e) => return Err(StorageError::io("attach loop device", &dev_path, e)),
        }
    }
    Err(StorageError::io(
        "attach loop device",
        image,
        last.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EBUSY)),
    ))
}

/// The filesystem types worth trying on a block device, as LXC's `mount_unknown_fs` tries
/// them: /etc/filesystems, then /proc/filesystems, skipping `nodev` ones.
fn candidate_fstypes() -> Vec<String> {
    let mut out = Vec::new();
    for f in ["/etc/filesystems", "/proc/filesystems"] {
        let Ok(text) = fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines() {
            if line.contains("nodev") {
                continue;
            }
            let t = line.trim();
            if !t.is_empty() && !t.starts_with('#') && t != "*" && !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
        }
    }
    out
}

fn mount_loop(image: &Path, data: Option<&str>) -> Result<Mounted> {
    let (dev, dev_path) = attach_loop(image)?;
    let mut tried = Vec::new();
    for fstype in candidate_fstypes() {
        let attempt = (|| -> io::Result<OwnedFd> {
            let fs = sys::fsopen(&fstype)?;
            sys::fsconfig(fs.as_fd(), "source", Some(dev_path.as_os_str().as_bytes()))?;
            fs_data(fs.as_fd(), data)?;
            sys::fsmount(fs.as_fd())
        })();
        match attempt {
            Ok(root) => {
                tracing::debug!(image = %image.display(), fstype, "loop image mounted");
                return Ok(Mounted {
                    root,
                    _loop: Some(dev),
                });
            }
            Err(_) => tried.push(fstype),
        }
    }
    // Nothing mounted it: the device is ours alone, give it back now.
    let _ = sys::loop_detach(dev.as_fd());
    Err(StorageError::Unsupported {
        kind: "loop",
        value: image.display().to_string(),
        why: format!("no filesystem type mounts it (tried {})", tried.join(", ")),
    })
}

/// Whether `path` is on a btrfs filesystem.
pub fn is_btrfs_fs(path: &Path) -> bool {
    sys::fs_magic(path).is_ok_and(|m| m == sys::BTRFS_SUPER_MAGIC)
}

/// Whether `path` is the root of a btrfs subvolume.
pub fn is_btrfs_subvol(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .is_ok_and(|m| m.is_dir() && m.ino() == sys::BTRFS_FIRST_FREE_OBJECTID)
        && is_btrfs_fs(path)
}

fn parent_and_name(path: &Path) -> Result<(fs::File, &[u8])> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(StorageError::Spec {
            value: path.display().to_string(),
            expected: "a path with a parent directory".into(),
        });
    };
    let dir = fs::File::open(parent).map_err(|e| StorageError::io("open", parent, e))?;
    Ok((dir, name.as_bytes()))
}

/// A new btrfs subvolume at `path` (its parent must be on btrfs).
pub fn btrfs_subvol_create(path: &Path) -> Result<()> {
    let (dir, name) = parent_and_name(path)?;
    sys::btrfs_subvol_create(dir.as_fd(), name)
        .map_err(|e| StorageError::io("create btrfs subvolume", path, e))
}

/// Delete the btrfs subvolume at `path`.
pub fn btrfs_subvol_destroy(path: &Path) -> Result<()> {
    let (dir, name) = parent_and_name(path)?;
    sys::btrfs_subvol_destroy(dir.as_fd(), name)
        .map_err(|e| StorageError::io("delete btrfs subvolume", path, e))
}

/// A snapshot of the subvolume `src` at `dst` (an empty directory there is replaced).
pub fn btrfs_snapshot(src: &Path, dst: &Path) -> Result<()> {
    match fs::remove_dir(dst) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(StorageError::io("remove", dst, e)),
    }
    let s = fs::File::open(src).map_err(|e| StorageError::io("open", src, e))?;
    let (dir, name) = parent_and_name(dst)?;
    sys::btrfs_snapshot(s.as_fd(), dir.as_fd(), name)
        .map_err(|e| StorageError::io("snapshot btrfs subvolume", dst, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_prefix() {
        let s = Storage::parse("overlayfs:/a/rootfs:/b/overlay/delta").unwrap();
        assert_eq!(s.kind(), Kind::Overlay);
        assert_eq!(
            s.overlay_layers().unwrap(),
            ("/a/rootfs", "/b/overlay/delta")
        );
        let s = Storage::parse("overlay:/l1:/l2:/up").unwrap();
        assert_eq!(s.overlay_layers().unwrap(), ("/l1:/l2", "/up"));
        assert_eq!(
            Storage::parse("loop:/x/rootdev").unwrap().path(),
            "/x/rootdev"
        );
        assert_eq!(
            Storage::parse("btrfs:/x/rootfs").unwrap().kind(),
            Kind::Btrfs
        );
        assert_eq!(Storage::parse("dir:/x").unwrap().path(), "/x");
        assert!(Storage::parse("zfs:tank/c1").is_err());
        assert!(Storage::parse("overlay:/only")
            .unwrap()
            .overlay_layers()
            .is_err());
    }

    #[test]
    fn detection_of_plain_paths() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            Storage::parse(d.path().to_str().unwrap()).unwrap().kind(),
            Kind::Dir
        );
        let f = d.path().join("img");
        fs::write(&f, b"x").unwrap();
        assert_eq!(
            Storage::parse(f.to_str().unwrap()).unwrap().kind(),
            Kind::Loop
        );
        assert!(Storage::parse(d.path().join("nope").to_str().unwrap()).is_err());
    }
}
