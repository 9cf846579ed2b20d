//! The few kernel calls the driver makes, each returning `io::Result` for the caller to wrap
//! with the path and key. cgroupfs is plain files, so std does the work; no `unsafe` here.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

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

pub(crate) fn mkdir(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new().mode(0o755).create(path)
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
