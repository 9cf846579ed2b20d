//! The start sequence: named phases run in a fixed order by the lifecycle code, and the context
//! that hooks registered for them receive.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use crate::config::Config;
use crate::error::Error;

/// The phases of a container start, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Caller: parse the config, includes and `-s key=value` overrides; validate every key.
    Load,
    /// Caller: spawn the monitor (daemonized unless foreground); the monitor owns the container
    /// from here on.
    MonitorSpawn,
    /// Monitor: create cgroups, compile seccomp, allocate the console pty, open plugin handles.
    PreClone,
    /// Monitor: clone3 with CLONE_PIDFD and the configured namespaces; keep the pidfd.
    Clone,
    /// Monitor: uid/gid maps, network links into the container's netns, cgroup attach, BPF
    /// device program.
    HostSetup,
    /// Child: mount namespace work: rootfs, `lxc.mount.*`, autodev, idmapped mounts.
    ChildMounts,
    /// Monitor, while the child waits: after the child's mounts (fds the child handed over,
    /// idmapped mount fds, device setup from the host).
    PostMounts,
    /// Child: pivot_root, /dev/pts and console, /proc and /sys masks.
    ChildPivot,
    /// Child: hostname, capabilities, no_new_privs, uid/gid, seccomp (last), then exec init.
    ChildFinal,
    /// Monitor, while the child waits to exec: `lxc.hook.start-host`, fds of the finished
    /// child (seccomp listener, devpts).
    PreExec,
    /// Monitor: serve the command socket while the container runs.
    Running,
    /// Monitor: reap, run post-stop hooks, remove what the start made.
    Stop,
}

impl Phase {
    /// Every phase, in run order.
    pub const ALL: [Phase; 12] = [
        Phase::Load,
        Phase::MonitorSpawn,
        Phase::PreClone,
        Phase::Clone,
        Phase::HostSetup,
        Phase::ChildMounts,
        Phase::PostMounts,
        Phase::ChildPivot,
        Phase::ChildFinal,
        Phase::PreExec,
        Phase::Running,
        Phase::Stop,
    ];

    /// Whether the phase runs inside the container's first process rather than the monitor.
    pub fn in_child(self) -> bool {
        matches!(
            self,
            Phase::ChildMounts | Phase::ChildPivot | Phase::ChildFinal
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Phase::Load => "Load",
            Phase::MonitorSpawn => "MonitorSpawn",
            Phase::PreClone => "PreClone",
            Phase::Clone => "Clone",
            Phase::HostSetup => "HostSetup",
            Phase::ChildMounts => "ChildMounts",
            Phase::PostMounts => "PostMounts",
            Phase::ChildPivot => "ChildPivot",
            Phase::ChildFinal => "ChildFinal",
            Phase::PreExec => "PreExec",
            Phase::Running => "Running",
            Phase::Stop => "Stop",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a hook runs within its phase: hooks run by ascending `order`, ties by owner name.
/// The core's own steps are entries here, so a subsystem places itself before or after them
/// (`order::CREDENTIALS_IDS - 10`: after capabilities and no_new_privs, before the uid/gid
/// switch, which is where LXC loads seccomp).
pub mod order {
    /// Before anything of the core's.
    pub const FIRST: i32 = -1000;
    /// No particular place.
    pub const DEFAULT: i32 = 0;
    /// After everything of the core's.
    pub const LAST: i32 = 10_000;

    /// PreClone: the network subsystem decides on the network namespace, before anything
    /// is made, so that a refused start leaves nothing.
    pub const NETWORK: i32 = -100;
    /// PreClone: the cgroup driver makes the container's cgroups.
    pub const CGROUPS: i32 = 0;
    /// PreClone: the console pty (lxc-console). ChildPivot: the console and `lxc.tty.max`
    /// ttys allocated from the container's devpts and bound into /dev, between
    /// [`DEVPTS`] and [`PIVOT`].
    pub const TERMINALS: i32 = 500;
    /// PreClone: `lxc.hook.pre-start`, once everything else is made.
    pub const PRE_START_HOOK: i32 = 900;

    /// ChildMounts: rootfs, `lxc.mount.*`, /dev.
    pub const MOUNTS: i32 = 0;

    /// ChildPivot: the container's devpts instance on /dev/pts and /dev/ptmx (lxc-mount).
    pub const DEVPTS: i32 = 0;
    /// ChildPivot: the /dev symlinks and pivot_root (lxc-mount), after everything that works
    /// on the rootfs from the host's view.
    pub const PIVOT: i32 = 1000;

    /// PreExec: `lxc.hook.start-host`.
    pub const START_HOST_HOOK: i32 = 500;

    /// ChildFinal: hostname, sysctls, `lxc.proc.*`, rlimits, cwd.
    pub const SETTINGS: i32 = 0;
    /// ChildFinal: `lxc.hook.start`.
    pub const START_HOOK: i32 = 500;
    /// ChildFinal: bounding set and no_new_privs.
    pub const CREDENTIALS_CAPS: i32 = 1000;
    /// ChildFinal: the seccomp filter (needs no_new_privs or CAP_SYS_ADMIN, so after the
    /// capabilities and before the ids change).
    pub const SECCOMP: i32 = 1500;
    /// ChildFinal: groups, gid, uid and the capabilities a non-root init keeps.
    pub const CREDENTIALS_IDS: i32 = 2000;
}

/// One way to undo something a start made.
pub struct Undo {
    pub what: String,
    pub run: Box<dyn FnOnce() -> Result<(), String> + Send>,
}

/// Everything a start attempt made, undone in reverse order if the start fails.
#[derive(Default)]
pub struct UndoStack {
    items: Vec<Undo>,
}

impl UndoStack {
    pub fn push(
        &mut self,
        what: impl Into<String>,
        run: impl FnOnce() -> Result<(), String> + Send + 'static,
    ) {
        self.items.push(Undo {
            what: what.into(),
            run: Box::new(run),
        });
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Undo everything, newest first. A failing undo is logged, never raised over the error
    /// that caused the unwind.
    pub fn unwind(&mut self) {
        while let Some(u) = self.items.pop() {
            tracing::debug!(what = %u.what, "undo");
            if let Err(e) = (u.run)() {
                tracing::warn!(what = %u.what, error = %e, "undo failed");
            }
        }
    }

    /// Hand the undo actions over (to the monitor's stop path) instead of running them.
    pub fn take(&mut self) -> UndoStack {
        UndoStack {
            items: std::mem::take(&mut self.items),
        }
    }
}

/// A small type-keyed store so that hooks of one start can hand state to later hooks
/// (a cgroup path, a pty fd, a netns fd) without the core knowing their types.
#[derive(Default)]
pub struct StateMap {
    map: HashMap<TypeId, Box<dyn Any + Send>>,
}

impl StateMap {
    pub fn insert<T: Any + Send>(&mut self, v: T) {
        self.map.insert(TypeId::of::<T>(), Box::new(v));
    }
    pub fn get<T: Any + Send>(&self) -> Option<&T> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|b| b.downcast_ref())
    }
    pub fn get_mut<T: Any + Send>(&mut self) -> Option<&mut T> {
        self.map
            .get_mut(&TypeId::of::<T>())
            .and_then(|b| b.downcast_mut())
    }
    pub fn remove<T: Any + Send>(&mut self) -> Option<T> {
        self.map
            .remove(&TypeId::of::<T>())
            .and_then(|b| b.downcast().ok())
            .map(|b| *b)
    }
}

/// What kind of start this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    /// A system container: exec `lxc.init.cmd` (default `/sbin/init`) as pid 1.
    Start,
    /// An application container (`execute`): a small init runs the command, reaps zombies and
    /// forwards signals; with no rootfs configured it shares the host's filesystem.
    Execute,
}

/// Where the container's root filesystem is, set by the mount code in `ChildMounts` and read by
/// hooks (`LXC_ROOTFS_MOUNT`, `LXC_ROOTFS_PATH`).
#[derive(Debug, Clone, Default)]
pub struct RootfsInfo {
    /// `lxc.rootfs.path` as configured (None: the host's `/`, for `execute` without rootfs).
    pub path: Option<PathBuf>,
    /// Where it is mounted in the child's mount namespace before pivot_root.
    pub mount: PathBuf,
}

/// What the container's init gets as stdin, stdout and stderr, put in the start's state by
/// a subsystem (lxc-console: the console, or /dev/null for a daemonized start) on the monitor's
/// side before clone (the child inherits a copy) or by a child hook. Without one, init keeps
/// the stdio the monitor has (a foreground start's caller's). The core dup()s it onto 0-2
/// right before exec; it holds nothing else of terminals.
#[derive(Debug)]
pub struct InitStdio {
    pub fd: OwnedFd,
    /// Make it the controlling terminal of init's new session (it is a terminal).
    pub controlling: bool,
}

/// The running container's cgroups, as the monitor uses them: freeze and thaw (`lxc-freeze`,
/// a forced stop of a frozen container, the watchdog's cleanup) and the paths `info` shows.
/// The cgroup driver's PreClone hook puts one in the start's [`StateMap`] as a
/// [`CgroupHandle`]; the monitor knows only this interface, not the driver.
pub trait ContainerCgroupOps: Send {
    /// Freeze every process of the container; returns once the kernel says frozen.
    fn freeze(&self) -> Result<(), CommandError>;
    /// Thaw the container; returns once the kernel says thawed.
    fn thaw(&self) -> Result<(), CommandError>;
    /// The container's cgroup in each hierarchy (`GetCgroupPaths`).
    fn paths(&self) -> Vec<PathBuf>;
}

/// The [`StateMap`] slot of a container's [`ContainerCgroupOps`].
pub struct CgroupHandle(pub Box<dyn ContainerCgroupOps>);

impl fmt::Debug for CgroupHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CgroupHandle")
            .field(&self.0.paths())
            .finish()
    }
}

/// What the network subsystem decided before clone (its PreClone hook puts this in the
/// start's `StateMap`): whether the container shares the host's network namespace, and whether
/// the new namespace's loopback device comes up (LXC: only for `type = empty` with `flags = up`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetNamespace {
    pub share_host: bool,
    pub loopback_up: bool,
}

/// How init enters its cgroups without the monitor moving it there. A move of another
/// process (a pid written to `cgroup.procs`) takes the kernel's cgroup_threadgroup_rwsem for
/// writing, which after an idle gap waits out an RCU grace period (5-15 ms here, the whole cold
/// start's excess; docs/decisions.md). Two ways in take no such lock: clone3's
/// CLONE_INTO_CGROUP (cgroup2) and a single-threaded process writing `0` to a cgroup1 `tasks`
/// file, moving only itself. A PreClone hook (the cgroup driver) fills this; the core passes
/// `into` to clone3 and the child writes to every `self_move` file before anything else, then
/// [`CgroupEntered`] tells the driver's HostSetup what is left for it to do.
#[derive(Debug, Default)]
pub struct CgroupEntry {
    /// A cgroup2 directory, opened `O_DIRECTORY`, for CLONE_INTO_CGROUP.
    pub into: Option<std::os::fd::OwnedFd>,
    /// cgroup1 `tasks` files, opened for writing on the host, with their paths for errors.
    pub self_move: Vec<(std::path::PathBuf, std::os::fd::OwnedFd)>,
}

/// What [`CgroupEntry`] did for this init: whether clone3 placed it (`into`) and whether the
/// child moves itself (`self_moved`; a failure there fails the start from the child).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CgroupEntered {
    pub into: bool,
    pub self_moved: bool,
}

/// Namespaces subsystems ask for before clone (a PreClone hook adds to the one in the start's
/// `StateMap`). `default` joins LXC's default set, so `lxc.namespace.clone` and `.keep` still
/// decide over it, as LXC does for a time namespace when `lxc.time.offset.*` is set.
/// `in_child` are left out of clone3 because the asking subsystem's child hook creates them
/// (a time namespace's offsets can only be written before any process is in it, and clone3
/// puts the child in it at once); the final plan says which of them this start makes
/// ([`crate::start::spec::NsPlan::in_child`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NsRequest {
    pub default: i32,
    pub in_child: i32,
}

impl NsRequest {
    /// Add `default` and `in_child` flags to what the start's `StateMap` already asks for.
    pub fn add(state: &mut StateMap, default: i32, in_child: i32) {
        let mut req = state.remove::<NsRequest>().unwrap_or_default();
        req.default |= default;
        req.in_child |= in_child;
        state.insert(req);
    }
}

/// What a phase hook gets to work with.
pub struct HookCtx<'a> {
    pub name: &'a str,
    pub lxcpath: PathBuf,
    /// The container's config file (`LXC_CONFIG_FILE` for hooks).
    pub config_file: PathBuf,
    pub config: &'a Config,
    pub phase: Phase,
    pub mode: StartMode,
    /// The container's init as seen from the host, once cloned.
    pub init_pid: Option<i32>,
    pub undo: &'a mut UndoStack,
    pub state: &'a mut StateMap,
}

pub type HookFn = fn(&mut HookCtx<'_>) -> Result<(), Error>;

/// What a command-socket handler gets: who asked, the config, the file descriptors sent with
/// the request, and where to put those it sends back.
pub struct CommandCtx<'a> {
    pub name: &'a str,
    pub init_pid: Option<i32>,
    pub peer_uid: u32,
    pub config: &'a Config,
    pub state: &'a mut StateMap,
    pub fds_in: Vec<OwnedFd>,
    pub fds_out: Vec<OwnedFd>,
}

/// Why a command failed, with the errno a C caller gets (`EINVAL` for a request that makes
/// no sense, `ENOENT` for something that is not there, the kernel's errno for a failed call).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub errno: i32,
    pub message: String,
}

impl CommandError {
    pub fn new(errno: i32, message: impl Into<String>) -> Self {
        CommandError {
            errno,
            message: message.into(),
        }
    }

    /// A request that makes no sense.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(libc::EINVAL, message)
    }

    /// A failed kernel call: its errno, and what was attempted.
    pub fn io(op: impl fmt::Display, e: &std::io::Error) -> Self {
        Self::new(e.raw_os_error().unwrap_or(libc::EIO), format!("{op}: {e}"))
    }
}

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        CommandError::new(e.errno(), e.to_string())
    }
}

pub type CommandFn = fn(&mut CommandCtx<'_>, &[u8]) -> Result<Vec<u8>, CommandError>;
