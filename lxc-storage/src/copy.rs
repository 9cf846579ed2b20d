//! Copying a rootfs tree from one mounted backend into another, keeping what LXC's
//! `rsync -aHXS` keeps: file types (device nodes, FIFOs, sockets, symlinks), owners, modes,
//! times, hard links, extended attributes and holes in sparse files. Works on directory fds
//! (a detached mount's root is one), never following a symlink.

use std::collections::HashMap;
use std::ffi::{CStr, OsStr};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{copy_file_range, openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{
    fchmodat, fstatat, mkdirat, mknodat, utimensat, FchmodatFlags, FileStat, Mode, SFlag,
    UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, linkat, lseek, symlinkat, Gid, Uid, Whence};

use crate::error::{Result, StorageError};
use crate::fsops::{entries, errno};
use crate::sys;

struct Copy<'a> {
    dst_root: BorrowedFd<'a>,
    /// First copy of each multiply-linked inode: (dev, ino) → its path below `dst_root`.
    links: HashMap<(u64, u64), PathBuf>,
    /// The source's path, for messages.
    shown: PathBuf,
}

/// Copy everything below the directory `src` into the (empty) directory `dst`, then give `dst`
/// the owner, mode and times of `src`. `shown` names the source in errors.
pub fn copy_tree(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, shown: &Path) -> Result<()> {
    let mut c = Copy {
        dst_root: dst,
        links: HashMap::new(),
        shown: shown.to_path_buf(),
    };
    c.dir(src, dst, Path::new(""))?;
    let st = fstatat(src, ".", AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(|e| StorageError::io("look at", shown, errno(e)))?;
    c.xattrs(src, dst, Path::new(""));
    c.attrs(dst, c".", &st, Path::new(""))
}

/// Copy a regular file's data regions only (SEEK_DATA/SEEK_HOLE), as `rsync -S` keeps a sparse
/// file sparse; the holes stay holes because nothing is written there, and the final size is
/// set with a truncate. A filesystem that does not report holes reports one data region.
fn copy_sparse(src: &File, dst: &File, size: i64) -> std::io::Result<()> {
    let mut pos: i64 = 0;
    while pos < size {
        let start = match lseek(src.as_fd(), pos, Whence::SeekData) {
            Ok(o) => o,
            // No data after `pos`: the rest is a hole.
            Err(nix::errno::Errno::ENXIO) => break,
            Err(e) => return Err(errno(e)),
        };
        let end = lseek(src.as_fd(), start, Whence::SeekHole).map_err(errno)?;
        copy_range(src, dst, start, end.min(size))?;
        pos = end;
    }
    dst.set_len(u64::try_from(size).unwrap_or(0))
}

/// Copy bytes `[start, end)` of `src` to the same offsets of `dst`: in the kernel
/// (copy_file_range, which can share extents), else through a buffer where the kernel cannot
/// copy between these two filesystems.
fn copy_range(src: &File, dst: &File, start: i64, end: i64) -> std::io::Result<()> {
    let (mut off_in, mut off_out) = (start, start);
    while off_in < end {
        let len = usize::try_from(end - off_in)
            .unwrap_or(usize::MAX)
            .min(1 << 30);
        match copy_file_range(src, Some(&mut off_in), dst, Some(&mut off_out), len) {
            // The file shrank under us: what is left is a hole.
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(
                nix::errno::Errno::EXDEV
                | nix::errno::Errno::EINVAL
                | nix::errno::Errno::ENOSYS
                | nix::errno::Errno::EOPNOTSUPP,
            ) if off_in == start => return copy_range_buffered(src, dst, start, end),
            Err(e) => return Err(errno(e)),
        }
    }
    Ok(())
}

fn copy_range_buffered(src: &File, dst: &File, start: i64, end: i64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 1 << 17];
    let mut off = u64::try_from(start).unwrap_or(0);
    let end = u64::try_from(end).unwrap_or(0);
    while off < end {
        let want = usize::try_from(end - off)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = src.read_at(&mut buf[..want], off)?;
        if n == 0 {
            break;
        }
        dst.write_all_at(&buf[..n], off)?;
        off += n as u64;
    }
    Ok(())
}

fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT
}

fn open_dir(dir: BorrowedFd<'_>, name: &CStr) -> nix::Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

impl Copy<'_> {
    fn err(&self, op: &str, rel: &Path, e: nix::errno::Errno) -> StorageError {
        StorageError::io(op, self.shown.join(rel), errno(e))
    }

    fn dir(&mut self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, rel: &Path) -> Result<()> {
        let names = entries(src).map_err(|e| self.err("read directory", rel, e))?;
        for name in names {
            let child = rel.join(OsStr::from_bytes(name.to_bytes()));
            self.entry(src, dst, &name, &child)?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &CStr,
        rel: &Path,
    ) -> Result<()> {
        let st = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| self.err("look at", rel, e))?;
        let k = kind(&st);
        if k != SFlag::S_IFDIR && st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key) {
                return linkat(self.dst_root, first.as_path(), dst, name, AtFlags::empty())
                    .map_err(|e| self.err("hard link", rel, e));
            }
            self.links.insert(key, rel.to_path_buf());
        }
        let perm = Mode::from_bits_truncate(0o600);
        match k {
            SFlag::S_IFDIR => {
                mkdirat(dst, name, Mode::from_bits_truncate(0o700))
                    .map_err(|e| self.err("create directory", rel, e))?;
                let s = open_dir(src, name).map_err(|e| self.err("open", rel, e))?;
                let d = open_dir(dst, name).map_err(|e| self.err("open copy of", rel, e))?;
                self.dir(s.as_fd(), d.as_fd(), rel)?;
                self.xattrs(s.as_fd(), d.as_fd(), rel);
            }
            SFlag::S_IFREG => {
                let s = openat(
                    src,
                    name,
                    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| self.err("open", rel, e))?;
                let d = openat(
                    dst,
                    name,
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    perm,
                )
                .map_err(|e| self.err("create copy of", rel, e))?;
                let (sf, df) = (File::from(s), File::from(d));
                copy_sparse(&sf, &df, st.st_size)
                    .map_err(|e| StorageError::io("copy", self.shown.join(rel), e))?;
                self.xattrs(sf.as_fd(), df.as_fd(), rel);
            }
            SFlag::S_IFLNK => {
                let target = readlinkat(src, name).map_err(|e| self.err("read link", rel, e))?;
                symlinkat(target.as_os_str(), dst, name)
                    .map_err(|e| self.err("create link", rel, e))?;
            }
            SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO | SFlag::S_IFSOCK => {
                mknodat(dst, name, k, perm, st.st_rdev)
                    .map_err(|e| self.err("create node", rel, e))?;
            }
            _ => {
                tracing::warn!(path = %self.shown.join(rel).display(), "skipping a file of unknown type");
                return Ok(());
            }
        }
        self.attrs(dst, name, &st, rel)
    }

    /// Owner, then mode (a chown clears set-id bits), then times.
    fn attrs(&self, dst: BorrowedFd<'_>, name: &CStr, st: &FileStat, rel: &Path) -> Result<()> {
        fchownat(
            dst,
            name,
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| self.err("chown copy of", rel, e))?;
        if kind(st) != SFlag::S_IFLNK {
            fchmodat(
                dst,
                name,
                Mode::from_bits_truncate(st.st_mode & 0o7777),
                FchmodatFlags::FollowSymlink,
            )
            .map_err(|e| self.err("chmod copy of", rel, e))?;
        }
        let at = TimeSpec::new(st.st_atime, st.st_atime_nsec);
        let mt = TimeSpec::new(st.st_mtime, st.st_mtime_nsec);
        utimensat(dst, name, &at, &mt, UtimensatFlags::NoFollowSymlink)
            .map_err(|e| self.err("set times of copy of", rel, e))
    }

    /// Extended attributes, as `rsync -X` keeps them; one that cannot be set (a namespace the
    /// target refuses) is reported and left out.
    fn xattrs(&self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, rel: &Path) {
        let names = match sys::flistxattr(src) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(path = %self.shown.join(rel).display(), error = %e, "cannot list extended attributes");
                return;
            }
        };
        for n in names {
            let r = sys::fgetxattr(src, &n).and_then(|v| sys::fsetxattr(dst, &n, &v));
            if let Err(e) = r {
                tracing::warn!(path = %self.shown.join(rel).display(), xattr = ?n, error = %e, "extended attribute not copied");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileExt, MetadataExt};

    const SIZE: u64 = 64 << 20;
    const AT: u64 = 1 << 20;

    /// A 64 MiB file with 4 KiB of data at 1 MiB and holes around it.
    fn sparse(path: &Path) {
        let f = File::create(path).unwrap();
        f.set_len(SIZE).unwrap();
        f.write_all_at(&[0xa5; 4096], AT).unwrap();
    }

    fn same_data_and_holes(src: &Path, dst: &Path) {
        assert_eq!(std::fs::read(src).unwrap(), std::fs::read(dst).unwrap());
        let (s, d) = (
            std::fs::metadata(src).unwrap(),
            std::fs::metadata(dst).unwrap(),
        );
        assert_eq!(d.len(), SIZE);
        // st_blocks counts 512-byte units: a filled-in copy would have 131072.
        assert!(
            d.blocks() <= s.blocks().max(64),
            "the copy has {} blocks, the original {}",
            d.blocks(),
            s.blocks()
        );
    }

    #[test]
    fn sparse_files_keep_their_holes() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
        std::fs::create_dir(&src).unwrap();
        std::fs::create_dir(&dst).unwrap();
        sparse(&src.join("img"));
        // All hole, and a hole at the end after data.
        File::create(src.join("empty"))
            .unwrap()
            .set_len(SIZE)
            .unwrap();
        let s = File::open(&src).unwrap();
        let d = File::open(&dst).unwrap();
        copy_tree(s.as_fd(), d.as_fd(), &src).unwrap();
        same_data_and_holes(&src.join("img"), &dst.join("img"));
        same_data_and_holes(&src.join("empty"), &dst.join("empty"));
    }

    #[test]
    fn the_buffered_fallback_writes_only_the_range() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
        sparse(&src);
        let s = File::open(&src).unwrap();
        let d = File::create(&dst).unwrap();
        copy_range_buffered(&s, &d, AT as i64, (AT + 4096) as i64).unwrap();
        d.set_len(SIZE).unwrap();
        same_data_and_holes(&src, &dst);
    }
}
