//! The few kernel calls the driver makes, each returning `io::Result` for the caller to wrap
//! with the path and key. cgroupfs is plain files, so std does the work; no `unsafe` here.

use std::fs;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, FileExt, PermissionsExt};
use std::path::Path;
use std::time::Instant;

use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC};

/// Which cgroup filesystem a path is on, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FsKind {
    V1,
    V2,
    Other,
}

pub(crate) fn fs_kind(path: &Path) -> io::Result<FsKind> {
    let st = statfs(path).map_err(io::Error::from)?;
    let t = st.filesystem_type();
    Ok(if t == CGROUP_SUPER_MAGIC {
        FsKind::V1
    } else if t == CGROUP2_SUPER_MAGIC {
        FsKind::V2
    } else {
        FsKind::Other
    })
}

pub(crate) fn read(path: &Path) -> io::Result<String> {
    fs::read_to_string(path)
}

/// Write `value` to an existing cgroup file in one write(2): cgroupfs takes each write as one
/// request (one device rule, one pid), so the value must not be split. Values from the config
/// are written as their original bytes (see `lxc_core::config::bytes`).
pub(crate) fn write(path: &Path, value: &str) -> io::Result<()> {
    let value = lxc_core::config::bytes::encode(value);
    let mut f = fs::OpenOptions::new().write(true).open(path)?;
    let n = f.write(&value)?;
    if n != value.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("short write ({n} of {} bytes)", value.len()),
        ));
    }
    Ok(())
}

/// A cgroup file opened for writing (close-on-exec, as std opens everything).
pub(crate) fn open_write(path: &Path) -> io::Result<std::os::fd::OwnedFd> {
    Ok(fs::OpenOptions::new().write(true).open(path)?.into())
}

/// A cgroup directory, for clone3's CLONE_INTO_CGROUP.
pub(crate) fn open_dir(path: &Path) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    Ok(fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)?
        .into())
}

pub(crate) fn mkdir(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new().mode(0o755).create(path)
}

/// `mkdir -p`, mode 0755; `AlreadyExists` when the last component was there already.
pub(crate) fn mkdir_all(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Err(io::ErrorKind::AlreadyExists.into());
    }
    fs::DirBuilder::new()
        .mode(0o755)
        .recursive(true)
        .create(path)
}

/// Give `path` to group `gid` (the owner stays) and set its mode.
pub(crate) fn chgrp_chmod(path: &Path, gid: u32, mode: u32) -> io::Result<()> {
    std::os::unix::fs::chown(path, None, Some(gid))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Wait until the `cgroup.events` file of the cgroup `dir` has the line `KEY WANT`, or until
/// `deadline`; true if it has. The kernel flags every change of the file with POLLPRI, and a
/// read re-arms that, so reading before each poll cannot miss a change.
pub(crate) fn wait_event(dir: &Path, key: &str, want: &str, deadline: Instant) -> io::Result<bool> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let path = dir.join("cgroup.events");
    let file = fs::File::open(&path)?;
    let mut buf = [0u8; 512];
    loop {
        let n = file.read_at(&mut buf, 0)?;
        let text = String::from_utf8_lossy(&buf[..n]);
        let found = text.lines().any(|l| {
            let mut w = l.split_whitespace();
            w.next() == Some(key) && w.next() == Some(want)
        });
        if found {
            return Ok(true);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        // Capped, so that a missed notification only costs a re-read.
        let ms = u16::try_from(left.as_millis().min(1000)).unwrap_or(1000);
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLPRI)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

pub(crate) fn rmdir(path: &Path) -> io::Result<()> {
    fs::remove_dir(path)
}

/// The subdirectories of a cgroup (its child cgroups), by name.
pub(crate) fn subdirs(path: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for ent in fs::read_dir(path)? {
        let ent = ent?;
        if ent.file_type()?.is_dir() {
            out.push(ent.path());
        }
    }
    Ok(out)
}
