//! The container lock: the one LXC's tools and liblxc take (their "disk lock", `c->slock`)
//! around reading, writing and destroying a container's files, so that lxc-rs and LXC
//! serialise on the same container.
//!
//! As LXC 5 takes it (src/lxc/lxclock.c): the file `<rundir>/lxc/lock/<lxcpath>/.<name>`, with
//! the lxcpath as the handle has it (trailing slashes dropped, not made absolute or resolved)
//! and rundir `/run` when the caller's euid owns it or its egid is /run's group, else
//! `$XDG_RUNTIME_DIR`, else `$HOME/.cache/lxc/run/`. The directories are made with mode 0755,
//! the file is opened `O_CREAT|O_RDWR|O_NOFOLLOW|O_NOCTTY` with mode 0600, and locked whole with
//! an OFD write lock (F_OFD_SETLKW), or flock(LOCK_EX) where the kernel has no OFD locks.
//!
//! OFD locks belong to an open file, not to a process: two handles of one process exclude each
//! other like two processes do. So that a thread holding the lock can still call an API that
//! takes it (`save_config` under `lock_config`), a second lock of the same file on the same
//! thread shares the first one's file instead of waiting for itself.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::rc::{Rc, Weak};

use crate::error::{Error, Result};
use crate::sys;

/// LXC's RUNTIME_PATH.
pub const RUNTIME_PATH: &str = "/run";

thread_local! {
    /// The lock files this thread holds, by path.
    static HELD: RefCell<HashMap<PathBuf, Weak<File>>> = RefCell::new(HashMap::new());
}

/// A held container lock; dropping it releases the lock (when it was the last guard of this
/// thread on that file). Not `Send`: the lock is this thread's.
#[derive(Debug)]
pub struct ContainerLock {
    name: String,
    path: PathBuf,
    file: Rc<File>,
}

impl ContainerLock {
    /// Wait until the lock of container `name` in `lxcpath` is ours.
    pub fn lock(lxcpath: &Path, name: &str) -> Result<ContainerLock> {
        match Self::acquire(lxcpath, name, true)? {
            Some(l) => Ok(l),
            // A waiting lock is never refused as busy.
            None => Err(Error::Lock {
                name: name.to_string(),
                op: "lock",
                path: lock_path(lxcpath, name)?,
                source: io::Error::from_raw_os_error(libc::EAGAIN),
            }),
        }
    }

    /// Take the lock if no one else holds it; `None` when someone does.
    pub fn try_lock(lxcpath: &Path, name: &str) -> Result<Option<ContainerLock>> {
        Self::acquire(lxcpath, name, false)
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn acquire(lxcpath: &Path, name: &str, wait: bool) -> Result<Option<ContainerLock>> {
        let path = lock_path(lxcpath, name)?;
        let err = |op, source| Error::Lock {
            name: name.to_string(),
            op,
            path: path.clone(),
            source,
        };
        if let Some(file) = HELD.with(|h| h.borrow().get(&path).and_then(Weak::upgrade)) {
            return Ok(Some(ContainerLock {
                name: name.to_string(),
                path,
                file,
            }));
        }
        if let Some(dir) = path.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)
                .map_err(|e| err("create lock directory", e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY)
            .open(&path)
            .map_err(|e| err("open lock file", e))?;
        match take(&file, false) {
            Ok(()) => {}
            Err(e) if is_busy(&e) && !wait => return Ok(None),
            Err(e) if is_busy(&e) => {
                tracing::info!(container = name, lock = %path.display(),
                    "waiting for the container lock (held by another process)");
                take(&file, true).map_err(|e| err("lock", e))?;
            }
            Err(e) => return Err(err("lock", e)),
        }
        tracing::debug!(container = name, lock = %path.display(), "container locked");
        let file = Rc::new(file);
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            h.retain(|_, w| w.strong_count() > 0);
            h.insert(path.clone(), Rc::downgrade(&file));
        });
        Ok(Some(ContainerLock {
            name: name.to_string(),
            path,
            file,
        }))
    }
}

impl Drop for ContainerLock {
    fn drop(&mut self) {
        if Rc::strong_count(&self.file) == 1 {
            // Closing the file releases the lock; this only says so in the log.
            tracing::debug!(container = %self.name, lock = %self.path.display(), "container unlocked");
        }
    }
}

/// An OFD write lock, or flock where the kernel refuses OFD locks (EINVAL), as LXC does.
fn take(file: &File, wait: bool) -> io::Result<()> {
    match sys::ofd_write_lock(file.as_fd(), wait) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            sys::flock_exclusive(file.as_fd(), wait)
        }
        r => r,
    }
}

fn is_busy(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES))
}

/// LXC's `get_rundir`.
pub fn rundir() -> io::Result<OsString> {
    let m = std::fs::metadata(RUNTIME_PATH)?;
    let (euid, egid) = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    if euid == m.uid() || egid == m.gid() {
        return Ok(RUNTIME_PATH.into());
    }
    if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR") {
        return Ok(x);
    }
    match std::env::var_os("HOME") {
        Some(home) => {
            let mut p = home;
            p.push("/.cache/lxc/run/");
            Ok(p)
        }
        None => Err(io::Error::new(
            io::ErrorKind::NotFound,
            "neither XDG_RUNTIME_DIR nor HOME is set, so there is no run directory for the lock",
        )),
    }
}

/// The lock file of container `name` in `lxcpath`, as LXC names it.
pub fn lock_path(lxcpath: &Path, name: &str) -> Result<PathBuf> {
    let rundir = rundir().map_err(|source| Error::Lock {
        name: name.to_string(),
        op: "find the run directory for",
        path: PathBuf::from(RUNTIME_PATH),
        source,
    })?;
    Ok(lock_path_in(&rundir, lxcpath, name))
}

/// `<rundir>/lxc/lock/<lxcpath>/.<name>`, byte for byte as LXC's `lxclock_name` builds it.
pub fn lock_path_in(rundir: &std::ffi::OsStr, lxcpath: &Path, name: &str) -> PathBuf {
    let mut lp = lxcpath.as_os_str().as_bytes();
    // liblxc's remove_trailing_slashes keeps a lone "/".
    while lp.len() > 1 && lp.ends_with(b"/") {
        lp = &lp[..lp.len() - 1];
    }
    let mut b = rundir.as_bytes().to_vec();
    b.extend_from_slice(b"/lxc/lock/");
    b.extend_from_slice(lp);
    b.extend_from_slice(b"/.");
    b.extend_from_slice(name.as_bytes());
    PathBuf::from(OsString::from_vec(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_lxcs() {
        let p = |lxcpath: &str| {
            lock_path_in("/run".as_ref(), Path::new(lxcpath), "web")
                .display()
                .to_string()
        };
        assert_eq!(p("/var/lib/lxc"), "/run/lxc/lock//var/lib/lxc/.web");
        assert_eq!(p("/var/lib/lxc///"), "/run/lxc/lock//var/lib/lxc/.web");
        assert_eq!(p("rel/path"), "/run/lxc/lock/rel/path/.web");
        assert_eq!(p("/"), "/run/lxc/lock///.web");
    }

    #[test]
    fn a_thread_may_lock_twice_and_others_wait() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: the lock directory under /run needs root");
            return;
        }
        let lxcpath = PathBuf::from(format!("/tmp/lxcrs-t-lock-{}", std::process::id()));
        let name = "lxcrs-t-lock";
        let outer = ContainerLock::lock(&lxcpath, name).unwrap();
        let inner = ContainerLock::lock(&lxcpath, name).unwrap();
        assert_eq!(outer.path(), inner.path());
        drop(outer);
        // Still held through `inner`: another thread cannot have it.
        let lp = lxcpath.clone();
        let other =
            std::thread::spawn(move || ContainerLock::try_lock(&lp, name).unwrap().is_some());
        assert!(!other.join().unwrap(), "another thread took a held lock");
        drop(inner);
        let lp = lxcpath.clone();
        let other =
            std::thread::spawn(move || ContainerLock::try_lock(&lp, name).unwrap().is_some());
        assert!(other.join().unwrap(), "the lock was not released");
        let dir = lock_path(&lxcpath, name).unwrap();
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    }
}
