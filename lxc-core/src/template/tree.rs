//! Walking a container directory without ever leaving it: no symlink is followed and no mount
//! point is entered, so removing or chowning a container cannot reach the host's files.
//!
//! Every step works on directory file descriptors (`openat`/`unlinkat` with `O_NOFOLLOW`), and
//! each entry's device and mount id are compared with the top directory's before it is touched.

use std::collections::HashSet;
use std::ffi::{CStr, CString, OsStr};
use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fchmodat, FchmodatFlags, Mode};
use nix::unistd::{fchownat, unlinkat, Gid, Uid, UnlinkatFlags};

use crate::error::{Error, Result};

mod sys {
    use std::ffi::{CStr, CString};
    use std::io;
    use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};

    /// The identity of a file system object that matters for staying inside one mount.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Ids {
        pub mode: u32,
        pub dev: (u32, u32),
        /// `None` when the kernel does not report mount ids (before 5.8).
        pub mnt_id: Option<u64>,
        pub uid: u32,
        pub gid: u32,
        pub ino: u64,
        pub nlink: u32,
    }

    /// `statx(dirfd, name, flags)`, asking for the mount id as well.
    pub fn statx(dirfd: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<Ids> {
        let mut st = std::mem::MaybeUninit::<libc::statx>::zeroed();
        // SAFETY: `name` is a valid NUL-terminated string, `dirfd` is a live descriptor for the
        // duration of the call, and `st` points to writable memory of the size statx fills.
        let r = unsafe {
            libc::statx(
                dirfd.as_raw_fd(),
                name.as_ptr(),
                flags,
                libc::STATX_BASIC_STATS | libc::STATX_MNT_ID,
                st.as_mut_ptr(),
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: statx returned 0, so it initialised the structure.
        let st = unsafe { st.assume_init() };
        Ok(Ids {
            mode: u32::from(st.stx_mode),
            dev: (st.stx_dev_major, st.stx_dev_minor),
            mnt_id: (st.stx_mask & libc::STATX_MNT_ID != 0).then_some(st.stx_mnt_id),
            uid: st.stx_uid,
            gid: st.stx_gid,
            ino: st.stx_ino,
            nlink: st.stx_nlink,
        })
    }

    /// The names in directory `dir` (a fresh open of it, so `dir`'s offset is untouched),
    /// without `.` and `..`.
    pub fn read_names(dir: OwnedFd) -> io::Result<Vec<CString>> {
        let raw = dir.into_raw_fd();
        // SAFETY: `raw` is an open directory descriptor we own; on success the DIR stream owns
        // it and closedir below closes it.
        let d = unsafe { libc::fdopendir(raw) };
        if d.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: fdopendir failed, so `raw` is still ours to close.
            unsafe { libc::close(raw) };
            return Err(e);
        }
        let mut out = Vec::new();
        let result = loop {
            // SAFETY: readdir distinguishes end of stream from error only through errno.
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: `d` is a valid DIR stream until closedir.
            let ent = unsafe { libc::readdir(d) };
            if ent.is_null() {
                let e = io::Error::last_os_error();
                break match e.raw_os_error() {
                    Some(0) | None => Ok(()),
                    Some(_) => Err(e),
                };
            }
            // SAFETY: a non-null dirent from readdir holds a NUL-terminated d_name that stays
            // valid until the next readdir on this stream; it is copied right away.
            let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) };
            if name.to_bytes() != b"." && name.to_bytes() != b".." {
                out.push(name.to_owned());
            }
        };
        // SAFETY: `d` is a valid DIR stream, closed exactly once.
        unsafe { libc::closedir(d) };
        result.map(|()| out)
    }
}

use sys::Ids;

const EMPTY: &CStr = c"";

fn is_dir(ids: &Ids) -> bool {
    ids.mode & libc::S_IFMT == libc::S_IFDIR
}

fn is_reg(ids: &Ids) -> bool {
    ids.mode & libc::S_IFMT == libc::S_IFREG
}

/// Same file system and same mount as the top of the walk.
fn same_mount(a: &Ids, top: &Ids) -> bool {
    a.dev == top.dev && a.mnt_id == top.mnt_id
}

fn errno(e: nix::errno::Errno) -> io::Error {
    io::Error::from(e)
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

/// Open `path` as a directory, refusing a symlink in its last component.
fn open_dir(path: &Path) -> Result<(OwnedFd, Ids)> {
    let d = nix::fcntl::open(path, DIR_FLAGS, Mode::empty())
        .map_err(|e| Error::io("open directory", path, errno(e)))?;
    let ids = sys::statx(d.as_fd(), EMPTY, libc::AT_EMPTY_PATH)
        .map_err(|e| Error::io("stat directory", path, e))?;
    Ok((d, ids))
}

fn open_child(parent: BorrowedFd<'_>, name: &CStr, path: &Path) -> Result<(OwnedFd, Ids)> {
    let d = openat(parent, name, DIR_FLAGS, Mode::empty())
        .map_err(|e| Error::io("open directory", path, errno(e)))?;
    let ids = sys::statx(d.as_fd(), EMPTY, libc::AT_EMPTY_PATH)
        .map_err(|e| Error::io("stat directory", path, e))?;
    Ok((d, ids))
}

fn names(d: &OwnedFd, path: &Path) -> Result<Vec<CString>> {
    let fresh = openat(d.as_fd(), c".", DIR_FLAGS, Mode::empty())
        .map_err(|e| Error::io("open directory", path, errno(e)))?;
    sys::read_names(fresh).map_err(|e| Error::io("read directory", path, e))
}

fn child_path(path: &Path, name: &CStr) -> PathBuf {
    path.join(OsStr::from_bytes(name.to_bytes()))
}

/// Mount points strictly below `dir`, from the calling thread's mountinfo.
pub fn mounts_below(dir: &Path) -> Result<Vec<PathBuf>> {
    // thread-self: a thread may have its own mount namespace (unshare in one thread).
    let info = "/proc/thread-self/mountinfo";
    let text = fs::read_to_string(info).map_err(|e| Error::io("read", info, e))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(OsStr::from_bytes(&unescape_mountinfo(m))))
        .filter(|m| m != dir && m.starts_with(dir))
        .collect())
}

/// Undo mountinfo's octal escapes (`\040` for a space).
fn unescape_mountinfo(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Remove `dir` and everything below it. Symlinks are removed, never followed; anything on
/// another mount (a bind mount, a different file system) is left in place and reported.
pub fn remove_tree(dir: &Path) -> Result<()> {
    let (d, top) = open_dir(dir)?;
    let mut skipped = Vec::new();
    remove_contents(&d, dir, &top, &mut skipped)?;
    drop(d);
    if let Some(first) = skipped.first() {
        return Err(Error::io(
            "remove",
            first,
            io::Error::other(format!(
                "{} mount point(s) inside {} left in place",
                skipped.len(),
                dir.display()
            )),
        ));
    }
    fs::remove_dir(dir).map_err(|e| Error::io("remove directory", dir, e))
}

fn remove_contents(d: &OwnedFd, path: &Path, top: &Ids, skipped: &mut Vec<PathBuf>) -> Result<()> {
    for name in names(d, path)? {
        let p = child_path(path, &name);
        let ids = match sys::statx(d.as_fd(), &name, libc::AT_SYMLINK_NOFOLLOW) {
            Ok(ids) => ids,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("stat", &p, e)),
        };
        if !same_mount(&ids, top) {
            tracing::warn!(path = %p.display(), "not removing a mount point");
            skipped.push(p);
            continue;
        }
        if is_dir(&ids) {
            let (sub, sub_ids) = open_child(d.as_fd(), &name, &p)?;
            // Checked again on the open descriptor: the entry may have changed since the stat.
            if !same_mount(&sub_ids, top) {
                tracing::warn!(path = %p.display(), "not removing a mount point");
                skipped.push(p);
                continue;
            }
            let before = skipped.len();
            remove_contents(&sub, &p, top, skipped)?;
            drop(sub);
            if skipped.len() > before {
                continue;
            }
            unlinkat(d.as_fd(), name.as_c_str(), UnlinkatFlags::RemoveDir)
                .map_err(|e| Error::io("remove directory", &p, errno(e)))?;
        } else {
            unlinkat(d.as_fd(), name.as_c_str(), UnlinkatFlags::NoRemoveDir)
                .map_err(|e| Error::io("remove", &p, errno(e)))?;
        }
    }
    Ok(())
}

/// Change the owner of `dir` and everything below it (symlinks themselves, not their targets)
/// with `map(uid, gid) -> (uid, gid)`. Setuid/setgid bits, which the kernel clears on chown,
/// are put back.
pub fn chown_tree(
    dir: &Path,
    map: &dyn Fn(u32, u32) -> std::result::Result<(u32, u32), String>,
) -> Result<()> {
    let (d, top) = open_dir(dir)?;
    let (u, g) = map(top.uid, top.gid).map_err(|m| Error::io("chown", dir, io::Error::other(m)))?;
    nix::unistd::fchown(d.as_fd(), Some(Uid::from_raw(u)), Some(Gid::from_raw(g)))
        .map_err(|e| Error::io("chown", dir, errno(e)))?;
    chown_contents(&d, dir, &top, map, &mut HashSet::new())
}

fn chown_contents(
    d: &OwnedFd,
    path: &Path,
    top: &Ids,
    map: &dyn Fn(u32, u32) -> std::result::Result<(u32, u32), String>,
    linked: &mut HashSet<u64>,
) -> Result<()> {
    for name in names(d, path)? {
        let p = child_path(path, &name);
        let ids = sys::statx(d.as_fd(), &name, libc::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| Error::io("stat", &p, e))?;
        if !same_mount(&ids, top) {
            tracing::warn!(path = %p.display(), "not changing owners below a mount point");
            continue;
        }
        // A hard-linked file is changed once: a second visit would map the mapped ids again.
        if !is_dir(&ids) && ids.nlink > 1 && !linked.insert(ids.ino) {
            continue;
        }
        let (u, g) =
            map(ids.uid, ids.gid).map_err(|m| Error::io("chown", &p, io::Error::other(m)))?;
        fchownat(
            d.as_fd(),
            name.as_c_str(),
            Some(Uid::from_raw(u)),
            Some(Gid::from_raw(g)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| Error::io("chown", &p, errno(e)))?;
        if is_reg(&ids) && ids.mode & 0o6000 != 0 {
            fchmodat(
                d.as_fd(),
                name.as_c_str(),
                Mode::from_bits_truncate(ids.mode & 0o7777),
                FchmodatFlags::FollowSymlink,
            )
            .map_err(|e| Error::io("chmod", &p, errno(e)))?;
        }
        if is_dir(&ids) {
            let (sub, sub_ids) = open_child(d.as_fd(), &name, &p)?;
            if same_mount(&sub_ids, top) {
                chown_contents(&sub, &p, top, map, linked)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo(r"/a\040b"), b"/a b");
        assert_eq!(unescape_mountinfo(r"/a\\"), br"/a\\");
        assert_eq!(unescape_mountinfo(r"/x\011"), b"/x\t");
    }

    /// The walk itself (not only destroy's mountinfo check) leaves a bind mount alone.
    #[test]
    fn remove_tree_skips_a_bind_mount() {
        let base = PathBuf::from(format!("/tmp/lxcrs-t-tree-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let (inside, outside) = (base.join("ct"), base.join("outside"));
        fs::create_dir_all(inside.join("a/mnt")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("file"), "keep").unwrap();
        fs::write(inside.join("a/x"), "x").unwrap();
        let (i2, o2) = (inside.clone(), outside.clone());
        let res = std::thread::spawn(move || -> std::result::Result<(), String> {
            use nix::mount::{mount, umount, MsFlags};
            use nix::sched::{unshare, CloneFlags};
            unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare: {e}"))?;
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                None::<&str>,
            )
            .map_err(|e| format!("make-rprivate: {e}"))?;
            let m = i2.join("a/mnt");
            mount(Some(&o2), &m, None::<&str>, MsFlags::MS_BIND, None::<&str>)
                .map_err(|e| format!("bind: {e}"))?;
            let e = remove_tree(&i2).expect_err("a mount point inside must be reported");
            assert!(e.to_string().contains("mount point"), "{e}");
            assert!(o2.join("file").is_file());
            assert!(!i2.join("a/x").exists(), "the rest is removed");
            umount(&m).map_err(|e| format!("umount: {e}"))?;
            Ok(())
        })
        .join()
        .unwrap();
        match res {
            Ok(()) => {
                remove_tree(&inside).unwrap();
                assert!(!inside.exists());
            }
            Err(why) => println!("skip: no private bind mount here: {why}"),
        }
        assert_eq!(fs::read_to_string(outside.join("file")).unwrap(), "keep");
        fs::remove_dir_all(&base).unwrap();
    }
}
