//! `attach`: run a command (or a closure) inside a running container, as LXC's `lxc-attach`
//! and `attach_run_wait` do.
//!
//! The caller prepares everything (namespaces, cgroups, credentials, environment, argv) and
//! forks a helper. The helper joins the init's namespaces with one `setns` on the init's pidfd
//! (from the monitor), changes directory and forks the attached process, which is therefore
//! inside the container's pid namespace. The attached process joins the container's cgroups
//! through `cgroup.procs` files the caller opened on the host, drops the bounding capabilities
//! init does not have, switches ids and execs. The helper waits for it and exits the same way
//! (a signal death is raised again), so the caller's wait sees the command's own status.
//!
//! Semantics taken from LXC 5.0 (`src/lxc/attach.c`):
//! - namespaces: by default every namespace of init that differs from the caller's;
//! - environment: kept by default; `container=lxc`, then `lxc.environment`, then the extra
//!   variables are set on top; a cleared environment keeps only the named variables and gets
//!   a default `PATH`; `HOME` is not touched;
//! - uid/gid: 0, or with a user namespace root of it when mapped, else init's own id there;
//! - the bounding set is cut to init's (`CapBnd`), `lxc.no_new_privs` and `lxc.arch` are read
//!   from the running container; `lxc.prlimit.*` and `lxc.proc.*` are applied as at start;
//! - the initial directory is the caller's when it exists in the container, else `/`;
//! - exec failures are the command's exit status: 127 (not found), 126 (ENOEXEC),
//!   255 (anything else).
//!
//! Unlike LXC, whose transient process clones the attached one with CLONE_PARENT and exits,
//! the helper stays until the command ends: a raw clone would leave the C library's thread
//! data stale in the attached process (which matters for the closure form), and the helper
//! is not in the container's cgroups, so it never keeps them busy. [`Attached`] still gives
//! the attached process's own pid and pidfd for signals.
//!
//! With a pty, the attached process opens the container's `/dev/ptmx` (its own devpts), makes
//! the peer its controlling terminal and stdio, and sends the master to the caller, which
//! copies between it and the caller's terminal in raw mode.
//!
//! `--elevated-privileges` comes in LXC's three parts (capabilities, cgroup, LSM), each
//! skipping only its own step. `--remount-sys-proc` mounts /proc and /sys afresh in the
//! attached process (after its fork into the pid namespace, as LXC), only when the mount
//! namespace is not joined.
//!
//! The seccomp policy and the core-scheduling cookie come from attach hooks their crates
//! register. Not done yet: LSM labels (this kernel has no AppArmor or SELinux),
//! supplementary groups.

mod child;
mod pty;
mod sys;

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::container::Container;
use crate::error::Error;
use crate::start::spec::{self, Ns, NAMESPACES};

use child::{kind, CStrArray, ExecPlan, Plan, PtyPlan, Step};

/// The `PATH` a cleared environment gets, as LXC sets it.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What happens to the caller's environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EnvPolicy {
    /// Keep it (LXC's default), with the container's variables set on top.
    #[default]
    KeepEnv,
    /// Start empty but for `keep_vars` and a default `PATH`.
    ClearEnv,
}

/// The attached command's stdin, stdout and stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AttachStdio {
    /// The caller's (or the explicit `stdin`/`stdout`/`stderr` of the options).
    #[default]
    Inherit,
    /// A new pty inside the container, joined to the caller's stdio.
    Pty,
    /// A pty when any of the three is a terminal, as `lxc-attach` decides.
    Auto,
}

/// How to attach; `Default` is LXC's `LXC_ATTACH_OPTIONS_DEFAULT`.
#[derive(Debug, Default)]
pub struct AttachOptions {
    /// Namespaces to join by name (`mnt`, `pid`, `uts`, `ipc`, `net`, `cgroup`, `user`,
    /// `time`, any case; `MOUNT`, `NETWORK`, `UTSNAME` as `lxc-attach -s` spells them).
    /// `None`: every namespace of init that differs from the caller's.
    pub namespaces: Option<Vec<String>>,
    pub env_policy: EnvPolicy,
    /// `VAR=VALUE` set in the command's environment (a bare `VAR` removes it).
    pub extra_env: Vec<String>,
    /// Variables kept from the caller's environment with [`EnvPolicy::ClearEnv`].
    pub keep_vars: Vec<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// The initial directory (default: the caller's, or `/` if the container lacks it).
    pub cwd: Option<PathBuf>,
    /// LXC's `--elevated-privileges` with every part: no capability drop, no cgroup join,
    /// no LSM (which, as in LXC, includes the seccomp policy).
    pub elevated_privileges: bool,
    /// `-e CAP`: keep the caller's bounding set instead of cutting it to init's.
    pub elevate_capabilities: bool,
    /// `-e CGROUP`: stay in the caller's cgroups instead of joining the container's.
    pub elevate_cgroup: bool,
    /// `-e LSM`: no LSM label change and no seccomp policy.
    pub elevate_lsm: bool,
    /// `--remount-sys-proc`: when the mount namespace is not joined (`namespaces` without
    /// `mnt`), the attached process gets a mount namespace of its own with `/proc` and `/sys`
    /// mounted afresh, so they show the namespaces it did join. Ignored otherwise, as in LXC.
    pub remount_proc_sys: bool,
    /// The personality (see [`personality_of_arch`]) instead of the container's `lxc.arch`.
    pub personality: Option<libc::c_ulong>,
    /// With a pty: a copy of everything the command writes to it (`lxc-attach -L`).
    pub pty_log: Option<OwnedFd>,
    pub stdio: AttachStdio,
    /// The command's stdin instead of the caller's (with a pty: where the input comes from).
    pub stdin: Option<OwnedFd>,
    /// The command's stdout instead of the caller's (with a pty: where its output goes).
    pub stdout: Option<OwnedFd>,
    /// The command's stderr instead of the caller's (unused with a pty).
    pub stderr: Option<OwnedFd>,
}

impl AttachOptions {
    /// Whether the bounding set is cut to init's.
    pub fn drops_capabilities(&self) -> bool {
        !(self.elevated_privileges || self.elevate_capabilities)
    }

    /// Whether the attached process joins the container's cgroups.
    pub fn moves_to_cgroup(&self) -> bool {
        !(self.elevated_privileges || self.elevate_cgroup)
    }

    /// Whether the container's LSM confinement (and seccomp policy) applies.
    pub fn applies_lsm(&self) -> bool {
        !(self.elevated_privileges || self.elevate_lsm)
    }

    /// Whether `/proc` and `/sys` are mounted afresh: asked for, and the mount namespace is
    /// not joined (LXC checks the namespaces asked for, not those that differ).
    fn remounts_proc_sys(&self) -> bool {
        self.remount_proc_sys
            && self.namespaces.as_ref().is_some_and(|ns| {
                !ns.iter()
                    .any(|n| parse_ns(n).is_some_and(|ns| ns.flag == libc::CLONE_NEWNS))
            })
    }
}

/// The personality an `lxc.arch` (or `lxc-attach -a`) name selects, e.g. `linux32` or
/// `i686` -> `PER_LINUX32`; `None` for a name LXC does not know.
pub fn personality_of_arch(arch: &str) -> Option<libc::c_ulong> {
    personality_of(arch)
}

/// The closure form: runs in the attached process, returns its exit code.
///
/// It runs in a process forked from the caller: if the caller has other threads, the closure
/// must only do what is safe after a fork (no locks another thread may have held).
pub type AttachFn<'a> = Box<dyn FnOnce() -> i32 + 'a>;

/// What an attach hook's `prepare` sees: the container and how it is attached to.
pub struct AttachCtx<'a> {
    pub container: &'a Container,
    pub options: &'a AttachOptions,
    /// The container's init, as the host sees it.
    pub init_pid: i32,
}

/// An attach hook's work in the attached process, made by its `prepare` before the fork.
/// `apply` runs after the capabilities are dropped and no_new_privs is set, before the uid
/// and gid change and exec; the process is a fork of a possibly multi-threaded caller, so it
/// must not allocate, lock or log: only system calls on what `prepare` made. An error is an
/// errno, reported to the caller as this hook's failure.
pub trait AttachApply: Send + Sync {
    fn apply(&self) -> Result<(), i32>;
}

/// A hook's owner and the step it prepared.
pub(crate) type PreparedHook = (&'static str, Box<dyn AttachApply>);

/// Ask every registered attach hook to prepare, in order; those that take part (`Some`) run
/// their apply step in the attached process.
fn prepare_hooks(ctx: &AttachCtx<'_>) -> Result<Vec<PreparedHook>, Error> {
    let mut hooks: Vec<&crate::registry::AttachHook> =
        crate::registry::ATTACH_HOOKS.iter().collect();
    hooks.sort_by_key(|h| (h.order, h.owner));
    let mut out = Vec::new();
    for h in hooks {
        if let Some(apply) = (h.prepare)(ctx)? {
            out.push((h.owner, apply));
        }
    }
    Ok(out)
}

/// A started attach: the attached process and the helper whose exit carries its status.
///
/// Like `std::process::Child`, dropping it does not wait: call [`wait`](Attached::wait), or
/// the helper stays a zombie until the caller exits; with a pty, dropping it closes the
/// master and the command gets SIGHUP.
#[derive(Debug)]
pub struct Attached {
    name: String,
    pid: i32,
    pidfd: OwnedFd,
    helper_pid: i32,
    helper_pidfd: OwnedFd,
    pty: Option<pty::Session>,
    warnings: Vec<AttachWarning>,
}

/// Something the attach did differently from what was asked, and went on (LXC logs these as
/// warnings): the caller may show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachWarning {
    /// The initial directory could not be entered in the container: the command runs in `/`.
    CwdFallback { cwd: PathBuf, errno: i32 },
}

impl std::fmt::Display for AttachWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttachWarning::CwdFallback { cwd, errno } => write!(
                f,
                "cannot enter {} in the container ({}): running in /",
                cwd.display(),
                io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

impl Attached {
    /// The attached process's pid, as the caller sees it.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// A pidfd of the attached process: poll it for its exit, signal it.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// The pid of the helper process the caller waits for.
    pub fn helper_pid(&self) -> i32 {
        self.helper_pid
    }

    /// With a pty: its master, for callers that copy the terminal themselves instead of
    /// letting [`wait`](Attached::wait) do it.
    pub fn pty_master(&self) -> Option<BorrowedFd<'_>> {
        self.pty.as_ref().map(|s| s.master.as_fd())
    }

    /// What the attach did differently from what was asked (e.g. a missing initial
    /// directory): known once this handle exists.
    pub fn warnings(&self) -> &[AttachWarning] {
        &self.warnings
    }

    /// [`wait`](Attached::wait) the way [`attach_run_wait`] does: ignoring SIGINT and SIGQUIT
    /// meanwhile when the command shares the caller's stdin.
    pub fn run_wait(self, opts: &AttachOptions) -> Result<i32, Error> {
        let _ignore = opts.stdin.is_none().then(sys::IgnoreInterrupts::new);
        self.wait()
    }

    /// Send `sig` to the attached process.
    pub fn kill(&self, sig: i32) -> Result<(), Error> {
        crate::sys::pidfd_send_signal(self.pidfd.as_fd(), sig)
            .map_err(|e| sys_err(&self.name, "attach: signal the attached process", e))
    }

    /// Wait for the command; with a pty, copy between it and the caller's stdio until it is
    /// done. Returns the exit code, or 128 + the signal that killed it.
    pub fn wait(mut self) -> Result<i32, Error> {
        if let Some(s) = self.pty.take() {
            if let Err(e) = pty::proxy(&s, self.pidfd.as_fd()) {
                tracing::warn!(container = %self.name, error = %e, "attach: pty copy failed");
            }
        }
        match crate::sys::pidfd_wait(self.helper_pidfd.as_fd(), false) {
            Ok(Some(exit)) => Ok(exit.status()),
            Ok(None) => Err(sys_err(
                &self.name,
                "attach: wait",
                io::Error::other("no exit status"),
            )),
            Err(e) => Err(sys_err(&self.name, "attach: wait", e)),
        }
    }
}

/// `attach_run_wait`: run `argv` in the container and wait; returns its exit code (128 + N
/// when signal N killed it). While waiting, the caller ignores SIGINT and SIGQUIT when the
/// command shares its stdin, as LXC does, so that ^C reaches the command only.
pub fn attach_run_wait(c: &Container, opts: &AttachOptions, argv: &[String]) -> Result<i32, Error> {
    attach_command(c, opts, argv)?.run_wait(opts)
}

/// Start `argv` in the container (searched in the command's `PATH` when it has no `/`).
pub fn attach_command(
    c: &Container,
    opts: &AttachOptions,
    argv: &[String],
) -> Result<Attached, Error> {
    let name = c.name();
    let Some(cmd) = argv.first() else {
        return Err(sys_err(
            name,
            "attach",
            io::Error::new(io::ErrorKind::InvalidInput, "no command to run"),
        ));
    };
    let env = environment(opts, c);
    let argv_c = argv
        .iter()
        .map(|a| cstring(name, a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix(b"PATH="))
        .map(|p| p.to_vec())
        .unwrap_or_else(|| DEFAULT_PATH.as_bytes().to_vec());
    let candidates = exec_candidates(cmd.as_bytes(), &path)
        .into_iter()
        .map(|p| cstring(name, &p))
        .collect::<Result<Vec<_>, _>>()?;
    let exec = ExecPlan {
        candidates,
        argv: CStrArray::new(argv_c),
    };
    start(c, opts, env, Some(exec), None, cmd)
}

/// Run `f` in the container, in an attached process set up like a command's; its C
/// environment (`getenv`) is the one [`AttachOptions`] describes.
pub fn attach(c: &Container, opts: &AttachOptions, f: AttachFn<'_>) -> Result<Attached, Error> {
    let env = environment(opts, c);
    start(c, opts, env, None, Some(f), "<closure>")
}

fn sys_err(name: &str, op: &'static str, source: io::Error) -> Error {
    Error::Sys {
        name: name.to_string(),
        op,
        source,
    }
}

fn cstring(name: &str, bytes: &[u8]) -> Result<CString, Error> {
    CString::new(bytes).map_err(|_| {
        sys_err(
            name,
            "attach",
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{:?} contains a NUL byte",
                    String::from_utf8_lossy(bytes).replace('\0', "\\0")
                ),
            ),
        )
    })
}

/// What execvp would try for `cmd`, given `PATH`.
fn exec_candidates(cmd: &[u8], path: &[u8]) -> Vec<Vec<u8>> {
    if cmd.contains(&b'/') {
        return vec![cmd.to_vec()];
    }
    path.split(|b| *b == b':')
        .map(|dir| {
            // An empty entry is the current directory.
            let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
            let mut p = dir.to_vec();
            if !p.ends_with(b"/") {
                p.push(b'/');
            }
            p.extend_from_slice(cmd);
            p
        })
        .collect()
}

/// The command's environment, `NAME=VALUE` entries in order.
fn environment(opts: &AttachOptions, c: &Container) -> Vec<Vec<u8>> {
    let caller: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    build_env(
        opts.env_policy,
        &caller,
        &opts.keep_vars,
        &spec::environment(c.config()),
        &opts.extra_env,
    )
}

/// LXC's `lxc_attach_set_environment`: the base (kept or cleared), then `container=lxc` and
/// `lxc.environment` (`config_env`, as the start computes it), then the extra variables.
fn build_env(
    policy: EnvPolicy,
    caller: &[(OsString, OsString)],
    keep: &[String],
    config_env: &[String],
    extra: &[String],
) -> Vec<Vec<u8>> {
    let mut env: Vec<Vec<u8>> = Vec::new();
    fn name_of(entry: &[u8]) -> &[u8] {
        entry.split(|b| *b == b'=').next().unwrap_or(entry)
    }
    fn set(env: &mut Vec<Vec<u8>>, entry: &[u8]) {
        let name = name_of(entry).to_vec();
        env.retain(|e| name_of(e) != name.as_slice());
        if entry.contains(&b'=') {
            env.push(entry.to_vec());
        }
    }
    let pair = |k: &OsStr, v: &OsStr| {
        let mut e = k.as_bytes().to_vec();
        e.push(b'=');
        e.extend_from_slice(v.as_bytes());
        e
    };
    match policy {
        EnvPolicy::KeepEnv => {
            for (k, v) in caller {
                set(&mut env, &pair(k, v));
            }
        }
        EnvPolicy::ClearEnv => {
            for k in keep {
                if let Some((_, v)) = caller.iter().find(|(ck, _)| ck.as_bytes() == k.as_bytes()) {
                    set(&mut env, &pair(OsStr::new(k), v));
                }
            }
            if !env.iter().any(|e| name_of(e) == b"PATH") {
                set(&mut env, format!("PATH={DEFAULT_PATH}").as_bytes());
            }
        }
    }
    // Config values (and extras, which may carry the same escapes) as their bytes.
    for e in config_env.iter().chain(extra) {
        set(&mut env, &crate::config::bytes::encode(e));
    }
    env
}

/// A namespace by `lxc-attach -s` name.
fn parse_ns(name: &str) -> Option<Ns> {
    let lower = name.to_ascii_lowercase();
    let std_name = match lower.as_str() {
        "mount" => "mnt",
        "network" => "net",
        "utsname" => "uts",
        other => other,
    };
    spec::ns_by_name(std_name)
}

/// CLONE_NEW* flags of the namespaces to join: those asked for (all by default) in which
/// init is not where we are already.
fn ns_flags(name: &str, wanted: Option<&[String]>, init_pid: i32) -> Result<i32, Error> {
    let list: Vec<Ns> = match wanted {
        None => NAMESPACES.to_vec(),
        Some(names) => names
            .iter()
            .map(|n| {
                parse_ns(n).ok_or_else(|| {
                    sys_err(
                        name,
                        "attach",
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("unknown namespace {n:?}"),
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let mut flags = 0;
    for ns in list {
        let theirs_path = format!("/proc/{init_pid}/ns/{}", ns.proc_name);
        let theirs = match std::fs::metadata(&theirs_path) {
            Ok(m) => m,
            // This kernel does not have that namespace kind.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("attach: stat namespace", theirs_path, e)),
        };
        let same = std::fs::metadata(format!("/proc/self/ns/{}", ns.proc_name))
            .is_ok_and(|ours| ours.dev() == theirs.dev() && ours.ino() == theirs.ino());
        if !same {
            flags |= ns.flag;
        }
    }
    Ok(flags)
}

/// The pid behind a pidfd, from its fdinfo (-1 once the process is gone).
pub(crate) fn pidfd_pid(name: &str, pidfd: BorrowedFd<'_>) -> Result<i32, Error> {
    let path = format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd());
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("attach: read", &path, e))?;
    let pid = text
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|v| v.trim().parse::<i32>().ok())
        .unwrap_or(-1);
    if pid <= 0 {
        return Err(Error::NotRunning {
            name: name.to_string(),
        });
    }
    Ok(pid)
}

/// What /proc/PID/status says about init.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct InitStatus {
    uid: u32,
    gid: u32,
    cap_bnd: u64,
}

fn parse_status(text: &str) -> Option<InitStatus> {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
    };
    Some(InitStatus {
        uid: field("Uid:")?.parse().ok()?,
        gid: field("Gid:")?.parse().ok()?,
        cap_bnd: u64::from_str_radix(&field("CapBnd:")?, 16).ok()?,
    })
}

/// LXC's setup id in a user namespace: root when the map has it, else the id init runs
/// with (`host_id`) mapped into the namespace.
fn setup_id(map: &str, host_id: u32) -> Option<u32> {
    let mut found = None;
    for line in map.lines() {
        let f: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let [ns, host, range] = f[..] else { continue };
        if ns == 0 && range > 0 {
            return Some(0);
        }
        let h = u64::from(host_id);
        if h >= host && h < host + range {
            found = u32::try_from(h - host + ns).ok();
        }
    }
    found
}

/// Bounding capabilities to drop: those init does not have.
fn caps_to_drop(cap_bnd: u64, last_cap: u32) -> Vec<u32> {
    (0..=last_cap.min(63))
        .filter(|c| cap_bnd & (1u64 << c) == 0)
        .collect()
}

/// `lxc.arch` of the running container as a personality, if set.
fn personality_of(arch: &str) -> Option<libc::c_ulong> {
    crate::keys::parse::ARCHES
        .iter()
        .find(|(n, _)| *n == arch.trim())
        .map(|(_, p)| p.persona())
}

fn open_host_pty(name: &str) -> Result<(OwnedFd, OwnedFd), Error> {
    let (master, path) = crate::sys::openpty().map_err(|e| sys_err(name, "attach: openpty", e))?;
    let peer = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| Error::io("attach: open pty", &path, e))?;
    Ok((master, peer.into()))
}

fn dup_fd(name: &str, fd: BorrowedFd<'_>) -> Result<OwnedFd, Error> {
    fd.try_clone_to_owned()
        .map_err(|e| sys_err(name, "attach: dup stdio", e))
}

/// Prepare, fork the helper, and collect what it and the attached process report.
fn start(
    c: &Container,
    opts: &AttachOptions,
    env: Vec<Vec<u8>>,
    exec: Option<ExecPlan>,
    f: Option<AttachFn<'_>>,
    what: &str,
) -> Result<Attached, Error> {
    let name = c.name();
    let init_pidfd = c.init_pidfd().map_err(|e| e.with_lxc_tool("lxc-attach"))?;
    let init_pid = pidfd_pid(name, init_pidfd.as_fd())?;
    crate::sys::pidfd_send_signal(init_pidfd.as_fd(), 0).map_err(|_| Error::NotRunning {
        name: name.to_string(),
    })?;

    let ns_flags = ns_flags(name, opts.namespaces.as_deref(), init_pid)?;
    let status_path = format!("/proc/{init_pid}/status");
    let status = std::fs::read_to_string(&status_path)
        .map_err(|e| Error::io("attach: read", &status_path, e))
        .and_then(|t| {
            parse_status(&t).ok_or_else(|| {
                Error::io(
                    "attach: parse",
                    &status_path,
                    io::Error::new(io::ErrorKind::InvalidData, "no Uid, Gid or CapBnd line"),
                )
            })
        })?;

    let setup_ids = if ns_flags & libc::CLONE_NEWUSER != 0 {
        let read = |file: &str| {
            let p = format!("/proc/{init_pid}/{file}");
            std::fs::read_to_string(&p).map_err(|e| Error::io("attach: read", p, e))
        };
        let uid = setup_id(&read("uid_map")?, status.uid);
        let gid = setup_id(&read("gid_map")?, status.gid);
        match (uid, gid) {
            (Some(u), Some(g)) => Some((u, g)),
            _ => {
                return Err(sys_err(
                    name,
                    "attach",
                    io::Error::other(
                        "the container's user namespace maps neither root nor init's ids",
                    ),
                ))
            }
        }
    } else {
        None
    };
    let uid = opts.uid.unwrap_or_else(|| setup_ids.map_or(0, |(u, _)| u));
    let gid = opts.gid.unwrap_or_else(|| setup_ids.map_or(0, |(_, g)| g));

    let cgroup_dirs: Vec<String> = if opts.moves_to_cgroup() {
        c.cgroup_paths()?
    } else {
        Vec::new()
    };
    // LXC's monitor runs it when lxc-rs's does not (init's pidfd came from somewhere): then
    // join its cgroup2 directory's leaf `.lxc`, as LXC's own attach does (a cgroup2
    // directory with controllers enabled below it takes no processes).
    let lxc_run = !c.is_running();
    let mut cgroup_procs = Vec::new();
    for dir in &cgroup_dirs {
        let dir = Path::new(dir);
        let leaf = dir.join(".lxc");
        let v2 = dir.join("cgroup.controllers").exists();
        let use_leaf = lxc_run
            && v2
            && match std::fs::create_dir(&leaf) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => true,
                Err(e) => {
                    tracing::debug!(dir = %leaf.display(), error = %e, "attach: no .lxc leaf: joining the cgroup itself");
                    false
                }
            };
        // In cgroup1 the attached process writes its own thread to `tasks`, which takes no
        // global lock (`cgroup.procs` waits for an RCU grace period after an idle gap, see
        // phase::CgroupEntry); it is single-threaded, so its thread is all of it.
        let file = if v2 { "cgroup.procs" } else { "tasks" };
        let p = if use_leaf { leaf } else { dir.to_path_buf() }.join(file);
        let fd = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&p)
            .map_err(|e| Error::io("attach: open", &p, e))?;
        cgroup_procs.push(OwnedFd::from(fd));
    }

    let cwd_path = opts.cwd.clone().or_else(|| std::env::current_dir().ok());
    let cwd = cwd_path
        .as_ref()
        .map(|p| cstring(name, p.as_os_str().as_bytes()))
        .transpose()?;

    // `-a` wins over the running container's lxc.arch (LXC_ATTACH_DETECT_PERSONALITY).
    let personality = match opts.personality {
        Some(p) => Some(p),
        None => match c.get_running_config_item("lxc.arch") {
            Ok(v) => personality_of(&v),
            Err(e) => {
                tracing::debug!(container = name, error = %e, "attach: lxc.arch unknown, personality unchanged");
                None
            }
        },
    };
    let no_new_privs = c
        .get_running_config_item("lxc.no_new_privs")
        .is_ok_and(|v| v.trim() == "1");
    let prlimits = spec::prlimits(c.config())?
        .into_iter()
        .map(|l| (l.resource, l.soft, l.hard))
        .collect();
    let proc_writes = c
        .config()
        .with_prefix("lxc.proc.")
        .map(|e| {
            let file = &e.key["lxc.proc.".len()..];
            Ok((
                cstring(name, format!("/proc/self/{file}").as_bytes())?,
                crate::config::bytes::encode(&e.value).into_owned(),
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let drop_caps = if opts.drops_capabilities() {
        caps_to_drop(status.cap_bnd, crate::sys::caps::last_cap())
    } else {
        Vec::new()
    };

    // The fds the command would get, and so the caller's side of a pty session.
    let std_in = std::io::stdin();
    let std_out = std::io::stdout();
    let std_err = std::io::stderr();
    let fds: [BorrowedFd<'_>; 3] = [
        opts.stdin.as_ref().map_or(std_in.as_fd(), |f| f.as_fd()),
        opts.stdout.as_ref().map_or(std_out.as_fd(), |f| f.as_fd()),
        opts.stderr.as_ref().map_or(std_err.as_fd(), |f| f.as_fd()),
    ];
    let use_pty = match opts.stdio {
        AttachStdio::Inherit => false,
        AttachStdio::Pty => true,
        AttachStdio::Auto => fds.iter().any(|f| sys::isatty(f.as_raw_fd())),
    };
    let mut host_master = None;
    let pty_plan = if use_pty {
        let (master, peer) = open_host_pty(name)?;
        host_master = Some(master);
        Some(PtyPlan {
            ptmx: c"/dev/ptmx".to_owned(),
            host_peer: peer,
            winsize: sys::get_winsize(fds[0].as_raw_fd()),
        })
    } else {
        None
    };
    let session_io = if use_pty {
        Some((dup_fd(name, fds[0])?, dup_fd(name, fds[1])?))
    } else {
        None
    };

    let hooks = prepare_hooks(&AttachCtx {
        container: c,
        options: opts,
        init_pid,
    })?;
    let hook_owners: Vec<&'static str> = hooks.iter().map(|(o, _)| *o).collect();

    let (ours, theirs) =
        crate::sys::seqpacket_pair().map_err(|e| sys_err(name, "attach: socketpair", e))?;
    tracing::debug!(
        container = name,
        init_pid,
        ns_flags = format_args!("{ns_flags:#x}"),
        uid,
        gid,
        pty = use_pty,
        command = what,
        "attach"
    );
    let plan = Plan {
        sock: theirs,
        init_pidfd,
        ns_flags,
        cgroup_procs,
        cwd,
        remount_proc_sys: opts.remounts_proc_sys(),
        personality,
        prlimits,
        proc_writes,
        drop_caps,
        setup_ids,
        uid,
        gid,
        no_new_privs,
        stdio: [
            opts.stdin.as_ref().map(|f| f.as_raw_fd()),
            opts.stdout.as_ref().map(|f| f.as_raw_fd()),
            opts.stderr.as_ref().map(|f| f.as_raw_fd()),
        ],
        pty: pty_plan,
        envp: CStrArray::new(
            env.iter()
                .map(|e| cstring(name, e))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        exec,
        hooks,
    };

    let helper_pid = match crate::sys::fork() {
        Ok(Some(pid)) => pid,
        Ok(None) => {
            sys::close_raw(ours.as_raw_fd());
            if let Some(m) = &host_master {
                sys::close_raw(m.as_raw_fd());
            }
            child::helper(&plan, f)
        }
        Err(e) => return Err(sys_err(name, "attach: fork", e)),
    };
    // Our copies of the child's ends: the socket must be closed for end-of-stream to come.
    drop(plan);
    let helper_pidfd = crate::sys::pidfd_open(helper_pid)
        .map_err(|e| sys_err(name, "attach: pidfd_open of the helper", e))?;

    let mut attached_pid = None;
    let mut failure: Option<Error> = None;
    let mut container_master = None;
    let mut used_host_pty = false;
    let mut warnings = Vec::new();
    loop {
        let (rec, fd) = match sys::recv_record(ours.as_fd()) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                failure.get_or_insert(sys_err(name, "attach: read from the helper", e));
                break;
            }
        };
        match rec.kind {
            kind::PID => attached_pid = Some((rec.arg, fd)),
            kind::PTY if rec.arg == 0 => container_master = fd,
            kind::PTY => {
                used_host_pty = true;
                tracing::info!(
                    container = name,
                    error = %io::Error::from_raw_os_error(rec.errno),
                    "attach: cannot open the container's /dev/ptmx: using a pty of the host"
                );
            }
            kind::CWD_FALLBACK => {
                let w = AttachWarning::CwdFallback {
                    cwd: cwd_path.clone().unwrap_or_default(),
                    errno: rec.errno,
                };
                tracing::warn!(container = name, "attach: {w}");
                warnings.push(w);
            }
            kind::EXEC_FAILED => tracing::error!(
                container = name,
                command = what,
                error = %io::Error::from_raw_os_error(rec.errno),
                "attach: exec failed"
            ),
            kind::FAILED => {
                failure.get_or_insert(step_error(name, &rec, &cgroup_dirs, &hook_owners));
            }
            other => {
                failure.get_or_insert(sys_err(
                    name,
                    "attach: read from the helper",
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("unknown record kind {other}"),
                    ),
                ));
            }
        }
    }

    let attached = match (failure, attached_pid) {
        (None, Some((pid, Some(pidfd)))) => Some((pid, pidfd)),
        (Some(e), _) => {
            let _ = crate::sys::pidfd_wait(helper_pidfd.as_fd(), false);
            return Err(e);
        }
        (None, _) => None,
    };
    let Some((pid, pidfd)) = attached else {
        let exit = crate::sys::pidfd_wait(helper_pidfd.as_fd(), false);
        return Err(sys_err(
            name,
            "attach",
            io::Error::other(format!(
                "the helper ended ({exit:?}) before starting the attached process"
            )),
        ));
    };

    let pty = match session_io {
        Some((input, output)) => {
            let master = if used_host_pty {
                host_master.take()
            } else {
                container_master.take()
            };
            let log = opts
                .pty_log
                .as_ref()
                .map(|f| dup_fd(name, f.as_fd()))
                .transpose()?;
            master.map(|master| pty::Session {
                master,
                input,
                output,
                log,
            })
        }
        None => None,
    };
    Ok(Attached {
        name: name.to_string(),
        pid,
        pidfd,
        helper_pid,
        helper_pidfd,
        pty,
        warnings,
    })
}

/// The error for a step the helper or the attached process reported as failed.
fn step_error(
    name: &str,
    rec: &sys::Record,
    cgroup_dirs: &[String],
    hook_owners: &[&str],
) -> Error {
    let source = io::Error::from_raw_os_error(rec.errno);
    match Step::from_u32(rec.step) {
        Some(Step::Hook) => {
            let owner = hook_owners.get(rec.arg as usize).copied().unwrap_or("?");
            Error::AttachHook {
                name: name.to_string(),
                owner: owner.to_string(),
                source,
            }
        }
        Some(Step::JoinCgroup) => {
            let dir = cgroup_dirs
                .get(rec.arg as usize)
                .cloned()
                .unwrap_or_default();
            Error::io(
                "attach: join cgroup",
                Path::new(&dir).join("cgroup.procs"),
                source,
            )
        }
        Some(Step::DropCapability) => sys_err(
            name,
            Step::DropCapability.describe(),
            io::Error::new(source.kind(), format!("capability {}: {source}", rec.arg)),
        ),
        Some(Step::RemountProcSys) => {
            let what = ["unshare the mount namespace", "/proc", "/sys"];
            let what = what.get(rec.arg as usize).copied().unwrap_or("?");
            sys_err(
                name,
                Step::RemountProcSys.describe(),
                io::Error::new(source.kind(), format!("{what}: {source}")),
            )
        }
        Some(Step::TargetUid | Step::TargetGid | Step::SetupIds) => {
            let step = Step::from_u32(rec.step).unwrap_or(Step::TargetUid);
            sys_err(
                name,
                step.describe(),
                io::Error::new(source.kind(), format!("id {}: {source}", rec.arg)),
            )
        }
        Some(step) => sys_err(name, step.describe(), source),
        None => sys_err(name, "attach", source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(k: &str, v: &str) -> (OsString, OsString) {
        (OsString::from(k), OsString::from(v))
    }

    fn strings(env: Vec<Vec<u8>>) -> Vec<String> {
        env.into_iter()
            .map(|e| String::from_utf8(e).unwrap())
            .collect()
    }

    #[test]
    fn keep_env_layers_container_then_extra() {
        let caller = [os("PATH", "/x"), os("HOME", "/root"), os("container", "no")];
        let env = build_env(
            EnvPolicy::KeepEnv,
            &caller,
            &[],
            &["container=lxc".into(), "A=1".into()],
            &["A=2".into(), "HOME".into()],
        );
        assert_eq!(strings(env), ["PATH=/x", "container=lxc", "A=2"]);
    }

    #[test]
    fn clear_env_keeps_named_and_default_path() {
        let caller = [os("PATH", "/x"), os("SECRET", "s"), os("TERM", "xterm")];
        let env = build_env(
            EnvPolicy::ClearEnv,
            &caller,
            &["TERM".into(), "MISSING".into()],
            &["container=lxc".into()],
            &["FOO=bar".into()],
        );
        assert_eq!(
            strings(env),
            [
                "TERM=xterm".to_string(),
                format!("PATH={DEFAULT_PATH}"),
                "container=lxc".into(),
                "FOO=bar".into()
            ]
        );
        let kept = build_env(EnvPolicy::ClearEnv, &caller, &["PATH".into()], &[], &[]);
        assert_eq!(strings(kept), ["PATH=/x"]);
    }

    #[test]
    fn namespace_names_as_lxc_attach_spells_them() {
        assert_eq!(parse_ns("MOUNT").unwrap().flag, libc::CLONE_NEWNS);
        assert_eq!(parse_ns("NETWORK").unwrap().flag, libc::CLONE_NEWNET);
        assert_eq!(parse_ns("UTSNAME").unwrap().flag, libc::CLONE_NEWUTS);
        assert_eq!(parse_ns("pid").unwrap().flag, libc::CLONE_NEWPID);
        assert_eq!(parse_ns("Cgroup").unwrap().flag, libc::CLONE_NEWCGROUP);
        assert!(parse_ns("bogus").is_none());
    }

    #[test]
    fn setup_ids_follow_lxc() {
        assert_eq!(setup_id("0 100000 65536\n", 100000), Some(0));
        assert_eq!(setup_id("1000 5000 10\n", 5003), Some(1003));
        assert_eq!(setup_id("1000 5000 10\n", 42), None);
        assert_eq!(setup_id("", 0), None);
    }

    #[test]
    fn status_and_caps() {
        let text = "Name:\tinit\nUid:\t1000\t1000\t1000\t1000\nGid:\t5\t5\t5\t5\n\
                    CapBnd:\t000001fffeffffff\n";
        let s = parse_status(text).unwrap();
        assert_eq!((s.uid, s.gid), (1000, 5));
        assert_eq!(caps_to_drop(s.cap_bnd, 40), [24]);
        assert_eq!(caps_to_drop(u64::MAX, 40), Vec::<u32>::new());
    }

    #[test]
    fn exec_search_like_execvp() {
        assert_eq!(exec_candidates(b"/bin/sh", b"/a:/b"), [b"/bin/sh".to_vec()]);
        assert_eq!(
            exec_candidates(b"id", b"/a::/b/"),
            [b"/a/id".to_vec(), b"./id".to_vec(), b"/b/id".to_vec()]
        );
    }

    #[test]
    fn arch_names() {
        assert_eq!(personality_of("i686"), Some(0x0008));
        assert_eq!(personality_of("x86_64"), Some(0));
        assert_eq!(personality_of(""), None);
    }
}
