//! The crate's raw kernel calls, one small wrapper each. The rest of the crate never calls
//! `libc` directly; file descriptors are `OwnedFd` from the moment they exist, opened CLOEXEC.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cstr(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn cpath(p: &Path) -> io::Result<CString> {
    cstr(p.as_os_str())
}

/// The `/proc/self/fd/N` path of a descriptor: how the classic mount(2) is pointed at a file
/// we resolved safely (with `openat2`) instead of at a path that could change under us.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// mount(2). `None` source/fstype/data are passed as NULL.
/// Mount what `src` refers to on what `dst` refers to (a bind or a move), both opened inside
/// the rootfs, through their /proc/self/fd paths so no path is resolved again.
pub fn mount_fd_on_fd(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, flags: MsFlags) -> io::Result<()> {
    mount(Some(&fd_path(src)), &fd_path(dst), None, flags, None)
}

pub fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> io::Result<()> {
    let source = source.map(cpath).transpose()?;
    let target = cpath(target)?;
    // fstype and data come from config values: their original bytes (see `config::bytes`).
    let fstype = fstype
        .map(|s| cstr(&lxc_core::config::bytes::to_os(s)))
        .transpose()?;
    let data = data
        .map(|s| cstr(&lxc_core::config::bytes::to_os(s)))
        .transpose()?;
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is NULL or a NUL-terminated string that outlives the call.
    cvt(unsafe {
        libc::mount(
            ptr(&source),
            target.as_ptr(),
            ptr(&fstype),
            flags.bits(),
            ptr(&data).cast(),
        )
    })
    .map(drop)
}

/// umount2(2).
pub fn umount2(target: &Path, flags: libc::c_int) -> io::Result<()> {
    let target = cpath(target)?;
    // SAFETY: target is a NUL-terminated string that outlives the call.
    cvt(unsafe { libc::umount2(target.as_ptr(), flags) }).map(drop)
}

/// `MNT_DETACH` for [`umount2`].
pub const MNT_DETACH: libc::c_int = libc::MNT_DETACH;

/// pivot_root(2) (glibc has no wrapper).
pub fn pivot_root(new_root: &Path, put_old: &Path) -> io::Result<()> {
    let new_root = cpath(new_root)?;
    let put_old = cpath(put_old)?;
    // SAFETY: both arguments are NUL-terminated strings that outlive the call.
    let ret = unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// How `openat2` resolves a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// Symlinks and `..` stay inside the directory passed (a container's rootfs).
    InRoot,
    /// Ordinary resolution (host paths).
    Normal,
}

/// openat2(2) with `O_CLOEXEC` added. `flags` are `O_*` flags (e.g. `O_PATH`).
pub fn openat2(
    dir: Option<BorrowedFd<'_>>,
    path: &Path,
    flags: libc::c_int,
    mode: u32,
    resolve: Resolve,
) -> io::Result<OwnedFd> {
    let c = cpath(if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    })?;
    let mut how: libc::open_how = {
        // SAFETY: open_how is a plain C struct of integers; zero is its documented default.
        unsafe { std::mem::zeroed() }
    };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
        mode as u64
    } else {
        0
    };
    how.resolve = match resolve {
        Resolve::InRoot => libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
        Resolve::Normal => 0,
    };
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // RESOLVE_IN_ROOT may ask us to retry when a rename raced with a `..` lookup.
    for _ in 0..16 {
        // SAFETY: `how` is a valid open_how of the size we pass; `c` is NUL-terminated and
        // outlives the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd,
                c.as_ptr(),
                &mut how as *mut libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if ret >= 0 {
            // SAFETY: the kernel returned a new descriptor that nobody else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(ret as libc::c_int) });
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EAGAIN) {
            return Err(e);
        }
    }
    Err(io::Error::from_raw_os_error(libc::EAGAIN))
}

/// mkdirat(2).
pub fn mkdirat(dir: BorrowedFd<'_>, name: &Path, mode: u32) -> io::Result<()> {
    let c = cpath(name)?;
    // SAFETY: c is NUL-terminated and outlives the call; dir is a live descriptor.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// The kinds of node [`mknodat`] makes.
#[derive(Debug, Clone, Copy)]
pub enum Node {
    Char {
        major: u32,
        minor: u32,
    },
    /// An empty regular file (a bind-mount target).
    File,
}

/// mknodat(2), then the exact permission bits (the umask would reduce them).
pub fn mknodat(dir: BorrowedFd<'_>, name: &Path, node: Node, perm: u32) -> io::Result<()> {
    let c = cpath(name)?;
    let (kind, dev) = match node {
        Node::Char { major, minor } => (libc::S_IFCHR, libc::makedev(major, minor)),
        Node::File => (libc::S_IFREG, 0),
    };
    // SAFETY: c is NUL-terminated and outlives the call; dir is a live descriptor.
    cvt(unsafe {
        libc::mknodat(
            dir.as_raw_fd(),
            c.as_ptr(),
            kind | perm as libc::mode_t,
            dev,
        )
    })?;
    // SAFETY: as above; the node was just made by us, so it is not a symlink to follow.
    cvt(unsafe { libc::fchmodat(dir.as_raw_fd(), c.as_ptr(), perm as libc::mode_t, 0) }).map(drop)
}

/// symlinkat(2): make `dir/name` point at `target`.
pub fn symlinkat(target: &Path, dir: BorrowedFd<'_>, name: &Path) -> io::Result<()> {
    let t = cpath(target)?;
    let n = cpath(name)?;
    // SAFETY: both strings are NUL-terminated and outlive the call; dir is a live descriptor.
    cvt(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), n.as_ptr()) }).map(drop)
}

/// unlinkat(2) of a non-directory.
pub fn unlinkat(dir: BorrowedFd<'_>, name: &Path) -> io::Result<()> {
    let c = cpath(name)?;
    // SAFETY: c is NUL-terminated and outlives the call; dir is a live descriptor.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) }).map(drop)
}

/// fchdir(2).
pub fn fchdir(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fd is a live descriptor.
    cvt(unsafe { libc::fchdir(fd.as_raw_fd()) }).map(drop)
}

/// What [`fstat`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub rdev: u64,
}

impl Stat {
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
    pub fn is_char(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFCHR
    }
    pub fn is_block(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFBLK
    }
    pub fn major(&self) -> u32 {
        libc::major(self.rdev)
    }
    pub fn minor(&self) -> u32 {
        libc::minor(self.rdev)
    }
}

/// fstat(2) (works on `O_PATH` descriptors).
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    // SAFETY: stat is plain data; the kernel fills it in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is live and st is a valid out-pointer.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(Stat {
        dev: st.st_dev,
        ino: st.st_ino,
        mode: st.st_mode,
        rdev: st.st_rdev,
    })
}

/// The `ST_*` mount flags of the filesystem `fd` is on (fstatvfs(2)), as `MS_*` flags: the
/// kernel uses the same bits for nosuid, nodev, noexec, rdonly, noatime, nodiratime, relatime.
pub fn fstatvfs_flags(fd: BorrowedFd<'_>) -> io::Result<MsFlags> {
    // SAFETY: statvfs is plain data; the kernel fills it in.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: fd is live and st is a valid out-pointer.
    cvt(unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) })?;
    let f = st.f_flag;
    let mut out = MsFlags::empty();
    for (st_bit, ms) in [
        (libc::ST_RDONLY, MsFlags::MS_RDONLY),
        (libc::ST_NOSUID, MsFlags::MS_NOSUID),
        (libc::ST_NODEV, MsFlags::MS_NODEV),
        (libc::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (libc::ST_NOATIME, MsFlags::MS_NOATIME),
        (libc::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (libc::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f & st_bit != 0 {
            out |= ms;
        }
    }
    Ok(out)
}

/// `MOUNT_ATTR_*` bits for [`mount_setattr`] (linux/mount.h).
pub mod attr {
    pub const RDONLY: u64 = 0x0000_0001;
    pub const NOSUID: u64 = 0x0000_0002;
    pub const NODEV: u64 = 0x0000_0004;
    pub const NOEXEC: u64 = 0x0000_0008;
    pub const ATIME_MASK: u64 = 0x0000_0070;
    pub const RELATIME: u64 = 0x0000_0000;
    pub const NOATIME: u64 = 0x0000_0010;
    pub const STRICTATIME: u64 = 0x0000_0020;
    pub const NODIRATIME: u64 = 0x0000_0080;
    pub const NOSYMFOLLOW: u64 = 0x0020_0000;
    /// Idmap the mount through the user namespace in `userns_fd`.
    pub const IDMAP: u64 = 0x0010_0000;
}

/// `struct mount_attr` (linux/mount.h); not in every libc version we build against.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) on the mount `fd` is the root of, recursively when asked. `propagation`
/// is one `MS_PRIVATE`/`MS_SLAVE`/`MS_SHARED`/`MS_UNBINDABLE` or empty.
pub fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clear: u64,
    propagation: MsFlags,
) -> io::Result<()> {
    mount_setattr_userns(fd, recursive, set, clear, propagation, None)
}

/// [`mount_setattr`] with a user namespace for [`attr::IDMAP`] in `set`.
pub fn mount_setattr_userns(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clear: u64,
    propagation: MsFlags,
    userns: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let mut a = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation: propagation.bits(),
        userns_fd: userns.map_or(0, |u| u.as_raw_fd() as u64),
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: the path is an empty NUL-terminated string, `a` is a valid mount_attr of the
    // size we pass, and fd (and userns, if any) are live.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &mut a as *mut MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// open_tree(2) flags and move_mount(2) flags (linux/mount.h); not in every libc we build with.
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

/// open_tree(2) with `OPEN_TREE_CLONE`: a detached copy of the mount at `fd` (of the whole
/// tree below it when `recursive`), attached nowhere until [`move_mount`] puts it somewhere,
/// and gone with its last fd.
pub fn open_tree_clone(fd: BorrowedFd<'_>, recursive: bool) -> io::Result<OwnedFd> {
    let mut extra = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        extra |= libc::AT_RECURSIVE as libc::c_uint;
    }
    open_tree_clone_at(fd.as_raw_fd(), c"", extra)
}

/// [`open_tree_clone`] of `path` below `dirfd` (`AT_FDCWD` or a directory), with `extra`
/// flags (`AT_RECURSIVE`, `AT_EMPTY_PATH`, `AT_SYMLINK_NOFOLLOW`). It does not allocate, so
/// a child forked from a threaded caller may use it.
pub fn open_tree_clone_at(dirfd: RawFd, path: &CStr, extra: libc::c_uint) -> io::Result<OwnedFd> {
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | extra;
    // SAFETY: a NUL-terminated path and plain flags; the result is a new fd.
    owned(unsafe { libc::syscall(libc::SYS_open_tree, dirfd, path.as_ptr(), flags) })
}

/// move_mount(2) of the detached (or attached) mount `from` onto what `to` refers to.
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    move_mount_at(from, to.as_raw_fd(), c"")
}

/// [`move_mount`] onto `to_path` below `to` (`to` itself when `to_path` is empty). It does not
/// allocate.
pub fn move_mount_at(from: BorrowedFd<'_>, to: RawFd, to_path: &CStr) -> io::Result<()> {
    let mut flags = MOVE_MOUNT_F_EMPTY_PATH;
    if to_path.is_empty() {
        flags |= MOVE_MOUNT_T_EMPTY_PATH;
    }
    // SAFETY: live fds and NUL-terminated paths, the empty one with its EMPTY_PATH flag.
    cvt_unit(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to,
            to_path.as_ptr(),
            flags,
        )
    })
}

/// fsopen(2), fsconfig(2) and fsmount(2) flags (linux/mount.h).
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;

/// fsopen(2): a filesystem context for a new instance of `fstype`.
pub fn fsopen(fstype: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated name and plain flags; the result is a new fd.
    owned(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) })
}

/// fsconfig(2) `FSCONFIG_SET_STRING` (`value` given) or `FSCONFIG_SET_FLAG`.
pub fn fsconfig_set(fs: BorrowedFd<'_>, key: &CStr, value: Option<&CStr>) -> io::Result<()> {
    let (cmd, v) = match value {
        Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
        None => (FSCONFIG_SET_FLAG, std::ptr::null()),
    };
    // SAFETY: a filesystem context fd, a NUL-terminated key and a NUL-terminated value or
    // NULL for a flag, as fsconfig(2) takes them.
    cvt_unit(unsafe { libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), cmd, key.as_ptr(), v, 0) })
}

/// fsconfig(2) `FSCONFIG_CMD_CREATE`: make the superblock.
pub fn fsconfig_create(fs: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: a filesystem context fd; the command takes no key or value.
    cvt_unit(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })
}

/// fsmount(2): a detached mount of the superblock, with [`attr`] bits `attrs`.
pub fn fsmount(fs: BorrowedFd<'_>, attrs: u64) -> io::Result<OwnedFd> {
    // SAFETY: a filesystem context fd and plain flags; the result is a new fd.
    owned(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) })
}

/// What the kernel logged about a failed filesystem context (`e tmpfs: Bad value for
/// 'size'`), read into `buf`: its length.
pub fn fs_log(fs: BorrowedFd<'_>, buf: &mut [u8]) -> usize {
    // SAFETY: reading into a buffer of the length given.
    let n = unsafe { libc::read(fs.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).unwrap_or(0)
}

/// A syscall that returns a new fd.
fn owned(ret: libc::c_long) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// A syscall that returns 0 or -1.
fn cvt_unit(ret: libc::c_long) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The kind of namespace a namespace fd refers to (`CLONE_NEW*`), by ioctl(NS_GET_NSTYPE).
pub fn ns_type(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    // SAFETY: NS_GET_NSTYPE takes no argument; the kernel refuses fds that are not namespaces.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::NS_GET_NSTYPE, 0) })
}

/// `CLONE_NEWUSER`, what [`ns_type`] says of a user namespace.
pub const CLONE_NEWUSER: libc::c_int = libc::CLONE_NEWUSER;

/// Fill `buf` with random bytes (getrandom(2)).
pub fn getrandom(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let ret = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if ret < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        done += ret as usize;
    }
    Ok(())
}

/// Errno values the rest of the crate matches on, so it needs no `libc` of its own.
pub mod errno {
    pub const ENOENT: i32 = libc::ENOENT;
    pub const EEXIST: i32 = libc::EEXIST;
    pub const EPERM: i32 = libc::EPERM;
    pub const EACCES: i32 = libc::EACCES;
    pub const EINVAL: i32 = libc::EINVAL;
    pub const EROFS: i32 = libc::EROFS;
    pub const ENOTDIR: i32 = libc::ENOTDIR;
}

/// `O_*` flags the rest of the crate opens with.
pub mod oflag {
    pub const PATH: i32 = libc::O_PATH;
    pub const DIRECTORY: i32 = libc::O_DIRECTORY;
    pub const NOFOLLOW: i32 = libc::O_NOFOLLOW;
    pub const RDWR: i32 = libc::O_RDWR;
    pub const RDONLY: i32 = libc::O_RDONLY;
    pub const WRONLY: i32 = libc::O_WRONLY;
    pub const CREAT: i32 = libc::O_CREAT;
    pub const EXCL: i32 = libc::O_EXCL;
    pub const TRUNC: i32 = libc::O_TRUNC;
    pub const NOCTTY: i32 = libc::O_NOCTTY;
}
