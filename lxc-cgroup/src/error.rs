//! The crate's one error type. Every variant names what broke: the config key, the cgroup file
//! and the errno, so a failed start says which line of the config to fix.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// An errno printed the way `strerror` does ("Invalid argument"), without Rust's
/// "(os error 22)" suffix, so messages read like LXC's.
pub(crate) struct Errno<'a>(pub &'a io::Error);

impl fmt::Display for Errno<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.raw_os_error() {
            Some(n) => f.write_str(nix::errno::Errno::from_raw(n).desc()),
            None => write!(f, "{}", self.0),
        }
    }
}

fn errno(e: &io::Error) -> Errno<'_> {
    Errno(e)
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or parsing the kernel's description of the cgroup mounts failed.
    #[error("{}: {why}", path.display())]
    Detect { path: PathBuf, why: String },

    /// A cgroup file operation outside any config key (create, read, attach, remove).
    #[error("{op} {}: {}", path.display(), errno(source))]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Writing (or reading) a file on behalf of a config key or an item key.
    #[error("{key}: {op} {}: {}", path.display(), errno(source))]
    Key {
        key: String,
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Moving a process into one of the container's cgroups failed.
    #[error("attach pid {pid}: write {}: {}", path.display(), errno(source))]
    Attach {
        pid: i32,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The key names a controller no hierarchy in use has.
    #[error("{key}: no cgroup hierarchy in use has the {controller:?} controller")]
    UnknownController { key: String, controller: String },

    /// The key is not a plain file name below the container's cgroup.
    #[error("{key}: {why}")]
    InvalidKey { key: String, why: &'static str },

    /// A value that cannot be used (a device path that is not a device, say).
    #[error("{key}: invalid value {}: {why}", lxc_core::config::bytes::quote(.value))]
    InvalidValue {
        key: String,
        value: String,
        why: String,
    },

    /// `lxc.cgroup.dir*` settings that contradict each other or are not relative paths.
    #[error("{key}: {why}")]
    DirConfig { key: &'static str, why: String },

    /// Every name from `NAME` to `NAME-999` is taken.
    #[error("cannot create a cgroup for {name}: {base} and {base}-1 .. {base}-999 all exist")]
    NameExhausted { name: String, base: String },

    /// An explicitly configured cgroup (`lxc.cgroup.dir.container`) already exists.
    #[error("{key}: cgroup {} already exists", path.display())]
    Exists { key: &'static str, path: PathBuf },

    /// A handle rebuilt from paths that do not describe cgroups we could have made.
    #[error("{}: {why}", path.display())]
    BadPath { path: PathBuf, why: &'static str },

    /// No hierarchy is usable for the operation (no freezer, say).
    #[error("{what}: no cgroup hierarchy of the container provides it")]
    Unsupported { what: &'static str },

    /// Freezing or thawing did not settle in time.
    #[error("{}: still {state} after {waited_ms} ms", path.display())]
    FreezeTimeout {
        path: PathBuf,
        state: String,
        waited_ms: u64,
    },

    /// Enabling controllers for the container's cgroup in a cgroup on its way failed.
    #[error("enable {controllers} in {}: {}{}", path.display(), errno(source), delegate_hint(source))]
    Delegate {
        /// The `cgroup.subtree_control` file written.
        path: PathBuf,
        /// What was written (`+memory +pids`).
        controllers: String,
        #[source]
        source: io::Error,
    },

    /// A cgroup2 cgroup still had processes when `remove` stopped waiting for it to empty.
    #[error("remove {}: still populated after {waited_ms} ms (pids: {pids})", path.display())]
    Populated {
        path: PathBuf,
        waited_ms: u64,
        pids: String,
    },

    /// The device rules' BPF program (the cgroup2_devices extension) could not be loaded,
    /// attached, replaced or detached on a cgroup; a refused load carries the verifier's log.
    #[error("{what} {}: {}{log}", path.display(), errno(source))]
    DeviceProgram {
        what: String,
        path: PathBuf,
        #[source]
        source: io::Error,
        log: String,
    },

    /// Some cgroups could not be removed (still busy after the retries).
    #[error("remove {}: {} (and {} more left behind)", first.display(), errno(source), more)]
    Remove {
        first: PathBuf,
        #[source]
        source: io::Error,
        more: usize,
    },
}

/// Why EBUSY when handing down controllers: the cgroup2 rule a user must know to fix it.
fn delegate_hint(e: &io::Error) -> &'static str {
    if e.raw_os_error() == Some(libc::EBUSY) {
        " (it holds processes, and cgroup2 lets only a cgroup without processes hand \
         controllers to its children: start from a cgroup of your own, or as root without \
         lxc.cgroup.relative)"
    } else {
        ""
    }
}

impl Error {
    /// The errno a C caller gets: the kernel's, where a kernel call failed.
    pub fn errno(&self) -> i32 {
        use std::error::Error as _;
        let os = self
            .source()
            .and_then(|s| s.downcast_ref::<io::Error>())
            .and_then(io::Error::raw_os_error);
        if matches!(self, Error::Populated { .. }) {
            return libc::EBUSY;
        }
        os.unwrap_or(match self.key() {
            Some(_) => libc::EINVAL,
            None => libc::EIO,
        })
    }

    /// The config key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            Error::Key { key, .. }
            | Error::UnknownController { key, .. }
            | Error::InvalidKey { key, .. }
            | Error::InvalidValue { key, .. } => Some(key),
            Error::DirConfig { key, .. } | Error::Exists { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The message without the leading `key: ` (for errors that carry the key separately).
    pub fn detail(&self) -> String {
        let full = self.to_string();
        match self.key() {
            Some(k) => full
                .strip_prefix(k)
                .and_then(|r| r.strip_prefix(": "))
                .map(str::to_string)
                .unwrap_or(full),
            None => full,
        }
    }

    /// Convert into the core's hook error for `phase`.
    pub fn into_hook(self, phase: lxc_core::Phase) -> lxc_core::Error {
        lxc_core::Error::Hook {
            phase,
            owner: "cgroup",
            key: self.key().map(str::to_string),
            message: self.detail(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
