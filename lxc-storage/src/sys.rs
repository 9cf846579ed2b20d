//! The raw kernel calls of the storage backends, one safe wrapper each: the new mount API
//! (fsopen / fsconfig / fsmount, open_tree), loop devices, btrfs subvolume ioctls, statfs and
//! extended attributes. Everything returns `io::Result`; callers add the path.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cstr(s: &[u8]) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

pub fn cpath(p: &Path) -> io::Result<CString> {
    cstr(p.as_os_str().as_bytes())
}

fn owned(ret: libc::c_long) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as libc::c_int) })
}

fn check(ret: libc::c_long) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

// linux/mount.h values; not in every libc we build with.
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const OPEN_TREE_CLONE: libc::c_uint = 1;

/// fsopen(2): a filesystem context for `fstype`.
pub fn fsopen(fstype: &str) -> io::Result<OwnedFd> {
    let t = cstr(fstype.as_bytes())?;
    // SAFETY: `t` is a NUL-terminated string that outlives the call.
    owned(unsafe { libc::syscall(libc::SYS_fsopen, t.as_ptr(), FSOPEN_CLOEXEC) })
}

/// fsconfig(2) FSCONFIG_SET_STRING (`value` Some) or FSCONFIG_SET_FLAG (None).
pub fn fsconfig(fs: BorrowedFd<'_>, key: &str, value: Option<&[u8]>) -> io::Result<()> {
    let k = cstr(key.as_bytes())?;
    let v = value.map(cstr).transpose()?;
    let (cmd, vptr) = match &v {
        Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
        None => (FSCONFIG_SET_FLAG, std::ptr::null()),
    };
    // SAFETY: key and value are NUL-terminated strings (or NULL for a flag) that outlive the
    // call, on a live fs context fd.
    check(unsafe { libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), cmd, k.as_ptr(), vptr, 0) })
}

/// fsconfig(2) FSCONFIG_CMD_CREATE then fsmount(2): the configured filesystem as a detached
/// mount, gone when its last fd is closed.
pub fn fsmount(fs: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: a command with no key or value on a live fs context fd.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    })?;
    // SAFETY: plain integer arguments on a live, created fs context fd.
    owned(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) })
}

/// open_tree(2) OPEN_TREE_CLONE | AT_RECURSIVE of `path`: a detached copy of the tree there.
pub fn open_tree_clone(path: &Path) -> io::Result<OwnedFd> {
    let p = cpath(path)?;
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | libc::AT_RECURSIVE as u32;
    // SAFETY: `p` is a NUL-terminated path that outlives the call.
    owned(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, p.as_ptr(), flags) })
}

const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;

/// move_mount(2) of the detached mount `from` onto the directory `to`, in the caller's mount
/// namespace.
pub fn move_mount(from: BorrowedFd<'_>, to: &Path) -> io::Result<()> {
    let t = cpath(to)?;
    // SAFETY: a live fd with the empty path its EMPTY_PATH flag asks for, and a NUL-terminated
    // target path that outlives the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
}

// linux/loop.h
const LOOP_SET_FD: libc::c_ulong = 0x4C00;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LOOP_SET_STATUS64: libc::c_ulong = 0x4C04;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
pub const LO_FLAGS_AUTOCLEAR: u32 = 4;

#[repr(C)]
#[derive(Clone, Copy)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

/// LOOP_CTL_GET_FREE on /dev/loop-control: the number of a free loop device.
pub fn loop_get_free(ctl: BorrowedFd<'_>) -> io::Result<u32> {
    // SAFETY: the request takes no argument; `ctl` is a live fd.
    let n = unsafe { libc::ioctl(ctl.as_raw_fd(), LOOP_CTL_GET_FREE) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as u32)
}

/// Bind `backing` to the loop device `dev` with `flags` (LOOP_CONFIGURE; LOOP_SET_FD and
/// LOOP_SET_STATUS64 on kernels without it). `name` is recorded as the backing file's name.
pub fn loop_attach(
    dev: BorrowedFd<'_>,
    backing: BorrowedFd<'_>,
    flags: u32,
    name: &[u8],
) -> io::Result<()> {
    let mut info = LoopInfo64 {
        lo_device: 0,
        lo_inode: 0,
        lo_rdevice: 0,
        lo_offset: 0,
        lo_sizelimit: 0,
        lo_number: 0,
        lo_encrypt_type: 0,
        lo_encrypt_key_size: 0,
        lo_flags: flags,
        lo_file_name: [0; 64],
        lo_crypt_name: [0; 64],
        lo_encrypt_key: [0; 32],
        lo_init: [0; 2],
    };
    let n = name.len().min(63);
    info.lo_file_name[..n].copy_from_slice(&name[..n]);
    let cfg = LoopConfig {
        fd: backing.as_raw_fd() as u32,
        block_size: 0,
        info,
        reserved: [0; 8],
    };
    // SAFETY: `cfg` is a properly laid out struct loop_config that outlives the call.
    let ret = unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_CONFIGURE, &cfg as *const LoopConfig) };
    if ret == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EINVAL) && err.raw_os_error() != Some(libc::ENOTTY) {
        return Err(err);
    }
    // SAFETY: LOOP_SET_FD takes the backing fd as an integer argument.
    let ret = unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_SET_FD, backing.as_raw_fd()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `info` is a properly laid out struct loop_info64 that outlives the call.
    let ret = unsafe {
        libc::ioctl(
            dev.as_raw_fd(),
            LOOP_SET_STATUS64,
            &info as *const LoopInfo64,
        )
    };
    if ret < 0 {
        let err = io::Error::last_os_error();
        // SAFETY: LOOP_CLR_FD takes no argument.
        unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_CLR_FD, 0) };
        return Err(err);
    }
    Ok(())
}

/// LOOP_CLR_FD: detach the loop device (with autoclear, once nothing uses it).
pub fn loop_detach(dev: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: LOOP_CLR_FD takes no argument.
    check(unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_CLR_FD, 0) } as libc::c_long)
}

// linux/btrfs.h: _IOW(0x94, nr, 4096-byte args)
const BTRFS_IOC_SUBVOL_CREATE: libc::c_ulong = 0x5000_940E;
const BTRFS_IOC_SNAP_DESTROY: libc::c_ulong = 0x5000_940F;
const BTRFS_IOC_SNAP_CREATE_V2: libc::c_ulong = 0x5000_9417;
pub const BTRFS_SUPER_MAGIC: i64 = 0x9123_683E;
/// The inode number of every btrfs subvolume's root directory.
pub const BTRFS_FIRST_FREE_OBJECTID: u64 = 256;

#[repr(C)]
struct BtrfsVolArgs {
    fd: i64,
    name: [u8; 4088],
}

#[repr(C)]
struct BtrfsVolArgsV2 {
    fd: i64,
    transid: u64,
    flags: u64,
    unused: [u64; 4],
    name: [u8; 4040],
}

fn btrfs_name<const N: usize>(name: &[u8]) -> io::Result<[u8; N]> {
    if name.len() >= N || name.contains(&0) || name.contains(&b'/') {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut out = [0u8; N];
    out[..name.len()].copy_from_slice(name);
    Ok(out)
}

/// A `struct btrfs_ioctl_vol_args` request naming `name` in the directory `parent`.
fn btrfs_vol_ioctl(parent: BorrowedFd<'_>, request: libc::c_ulong, name: &[u8]) -> io::Result<()> {
    let args = BtrfsVolArgs {
        fd: 0,
        name: btrfs_name(name)?,
    };
    // SAFETY: `args` is a properly laid out struct btrfs_ioctl_vol_args, which both requests
    // this is used for take.
    check(
        unsafe { libc::ioctl(parent.as_raw_fd(), request, &args as *const BtrfsVolArgs) }
            as libc::c_long,
    )
}

/// BTRFS_IOC_SUBVOL_CREATE: a new subvolume `name` in the directory `parent`.
pub fn btrfs_subvol_create(parent: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    btrfs_vol_ioctl(parent, BTRFS_IOC_SUBVOL_CREATE, name)
}

/// BTRFS_IOC_SNAP_DESTROY: delete the subvolume `name` in the directory `parent`.
pub fn btrfs_subvol_destroy(parent: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    btrfs_vol_ioctl(parent, BTRFS_IOC_SNAP_DESTROY, name)
}

/// BTRFS_IOC_SNAP_CREATE_V2: a snapshot of the subvolume `src` as `name` in `parent`.
pub fn btrfs_snapshot(src: BorrowedFd<'_>, parent: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let args = BtrfsVolArgsV2 {
        fd: i64::from(src.as_raw_fd()),
        transid: 0,
        flags: 0,
        unused: [0; 4],
        name: btrfs_name(name)?,
    };
    // SAFETY: `args` is a properly laid out struct btrfs_ioctl_vol_args_v2 for the call.
    check(unsafe {
        libc::ioctl(
            parent.as_raw_fd(),
            BTRFS_IOC_SNAP_CREATE_V2,
            &args as *const BtrfsVolArgsV2,
        )
    } as libc::c_long)
}

/// The filesystem magic of `path` (statfs f_type).
pub fn fs_magic(path: &Path) -> io::Result<i64> {
    let p = cpath(path)?;
    // SAFETY: an all-zero statfs is a valid value for the kernel to overwrite.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `p` is NUL-terminated and `st` is a valid out pointer, both outlive the call.
    check(unsafe { libc::statfs(p.as_ptr(), &mut st) } as libc::c_long)?;
    Ok(st.f_type as i64)
}

/// Call `f` with a buffer until it fits (ERANGE: a larger one), as the xattr calls need.
fn sized(mut f: impl FnMut(&mut [u8]) -> isize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = f(&mut buf);
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ERANGE) if buf.len() < (1 << 20) => buf.resize(buf.len() * 4, 0),
            _ => return Err(e),
        }
    }
}

/// The names of the extended attributes of the file open at `fd` (none where the filesystem
/// has none).
pub fn flistxattr(fd: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
    // SAFETY: the buffer is writable for the length passed.
    let list =
        sized(|b| unsafe { libc::flistxattr(fd.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) });
    let buf = match list {
        Ok(b) => b,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(buf
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|n| CString::new(n).ok())
        .collect())
}

/// The value of the extended attribute `name` of the file open at `fd`.
pub fn fgetxattr(fd: BorrowedFd<'_>, name: &CStr) -> io::Result<Vec<u8>> {
    // SAFETY: `name` is NUL-terminated; the buffer is writable for the length passed.
    sized(|b| unsafe {
        libc::fgetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            b.as_mut_ptr().cast(),
            b.len(),
        )
    })
}

/// Set the extended attribute `name` of the file open at `fd`.
pub fn fsetxattr(fd: BorrowedFd<'_>, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated and `value` is a readable buffer of the length passed.
    check(unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    } as libc::c_long)
}
