//! `Container::mount` / `Container::umount` on a running container: the caller's half.
//!
//! What the caller does itself, in the host's namespaces: check the request, open the
//! container's init (its pidfd) and root (`/proc/<init>/root`), and for a bind clone the
//! host's source into a detached mount (`open_tree(OPEN_TREE_CLONE)`, where a missing source
//! fails at once) with the flags asked for set on it (`mount_setattr`). The rest happens in a
//! child forked for the request ([`crate::child`]): it enters the container's mount namespace
//! (and user namespace, as the container's root, when it has one), makes a new filesystem
//! there if one was asked for, resolves the target beneath the container's root, makes a
//! missing target as LXC does, and moves the mount onto it.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use lxc_core::inject::MountRequest;
use lxc_core::Container;

use crate::child::{self, NewFs, Plan, Report, Step, Work};
use crate::error::{errno_text, InjectError, Result};
use crate::request::{self, Kind, Target};
use crate::sys;

/// The API extension that allows a single file (not a directory) as a bind's source.
pub const FILE_EXTENSION: &str = "mount_injection_file";

/// The container's init and root, as the caller holds them.
struct Running {
    pidfd: OwnedFd,
    root: OwnedFd,
    userns: bool,
}

/// The pid a pidfd stands for (`-1` once it has exited), from /proc/self/fdinfo.
fn pidfd_pid(fd: &OwnedFd) -> Option<i32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|v| v.trim().parse().ok())
}

fn not_running(c: &Container) -> InjectError {
    InjectError::Container(lxc_core::Error::NotRunning {
        name: c.name().to_string(),
    })
}

impl Running {
    fn open(c: &Container) -> Result<Running> {
        let pidfd = c.init_pidfd()?;
        let pid = pidfd_pid(&pidfd)
            .filter(|p| *p > 0)
            .ok_or_else(|| not_running(c))?;
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        let root = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(proc_dir.join("root"))
            .map(OwnedFd::from)
            .map_err(|e| InjectError::sys("the container's root", "open", e))?;
        let ns = |p: &Path| std::fs::metadata(p).map(|m| (m.dev(), m.ino()));
        let theirs = ns(&proc_dir.join("ns/user"))
            .map_err(|e| InjectError::sys("the container's user namespace", "stat", e))?;
        let ours = ns(Path::new("/proc/self/ns/user"))
            .map_err(|e| InjectError::sys("this process's user namespace", "stat", e))?;
        // The pid named the container's init while the root was opened: the pidfd proves it
        // (a pid reused after a stop is not alive under it).
        lxc_core::sys::pidfd_send_signal(pidfd.as_fd(), 0).map_err(|_| not_running(c))?;
        Ok(Running {
            pidfd,
            root,
            userns: theirs != ours,
        })
    }
}

/// Changing another mount namespace takes CAP_SYS_ADMIN over it, and the caller's root is
/// what LXC requires too.
fn require_root() -> Result<()> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(InjectError::invalid(
            "mount injection",
            "needs root on the host",
            libc::EPERM,
        ))
    }
}

fn cstring(what: &str, s: impl AsRef<[u8]>) -> Result<CString> {
    CString::new(s.as_ref())
        .map_err(|_| InjectError::invalid(what.to_string(), "contains a NUL byte", libc::EINVAL))
}

/// `mount`, through the registry seam.
pub fn mount(c: &Container, req: &MountRequest<'_>) -> Result<(), lxc_core::Error> {
    do_mount(c, req).map_err(|e| e.into_core(c.name(), "mount", req.target))
}

/// `umount`, through the registry seam.
pub fn umount(c: &Container, target: &Path, flags: i32) -> Result<(), lxc_core::Error> {
    do_umount(c, target, flags).map_err(|e| e.into_core(c.name(), "umount", target))
}

fn do_mount(c: &Container, req: &MountRequest<'_>) -> Result<()> {
    let kind = request::classify(req)?;
    let target = Target::parse(req.target)?;
    require_root()?;
    let running = Running::open(c)?;
    let work = match &kind {
        Kind::Bind {
            source,
            recursive,
            attrs,
        } => {
            let shown = format!("source {}", source.display());
            let path = cstring(&shown, source.as_os_str().as_bytes())?;
            let extra = if *recursive {
                libc::AT_RECURSIVE as u32
            } else {
                0
            };
            let tree = sys::open_tree_clone(libc::AT_FDCWD, &path, extra)
                .map_err(|e| InjectError::sys(&shown, "", e))?;
            let kind = sys::file_type(tree.as_raw_fd())
                .map_err(|e| InjectError::sys(&shown, "stat", e))?;
            let is_dir = kind == libc::S_IFDIR;
            if !is_dir && !lxc_core::has_api_extension(FILE_EXTENSION) {
                return Err(InjectError::NotInBuild {
                    what: format!("{shown}: mounting a single file"),
                    extension: FILE_EXTENSION,
                });
            }
            if attrs.set != 0 || attrs.clr != 0 {
                lxc_mount::sys::mount_setattr(
                    tree.as_fd(),
                    *recursive,
                    attrs.set,
                    attrs.clr,
                    nix::mount::MsFlags::empty(),
                )
                .map_err(|e| InjectError::sys(&shown, "set the mount flags", e))?;
            }
            Work::Bind { tree, is_dir }
        }
        Kind::NewFs {
            fstype,
            source,
            options,
            sb_flags,
            attrs,
        } => Work::NewFs(NewFs {
            fstype: cstring("filesystem type", fstype)?,
            source: source
                .as_deref()
                .map(|s| cstring("source", s))
                .transpose()?,
            options: options
                .iter()
                .map(|o| {
                    Ok((
                        cstring("option", &o.key)?,
                        o.value
                            .as_deref()
                            .map(|v| cstring("option", v))
                            .transpose()?,
                    ))
                })
                .collect::<Result<_>>()?,
            sb_flags: sb_flags
                .iter()
                .map(|f| cstring("flag", f))
                .collect::<Result<_>>()?,
            attrs: *attrs,
        }),
    };
    let plan = Plan {
        pidfd: running.pidfd,
        root: running.root,
        userns: running.userns,
        names: target.names.clone(),
        prefixes: target.prefixes.clone(),
        plain: target.plain.clone(),
        work,
    };
    let report = fork_run(&plan)?;
    explain(&report, &kind, &target, plan.userns)?;
    tracing::info!(
        container = c.name(),
        source = ?req.source,
        target = %target.shown.display(),
        fstype = ?req.fstype,
        flags = %request::flag_names(req.flags),
        "mounted into the running container"
    );
    Ok(())
}

fn do_umount(c: &Container, target: &Path, flags: i32) -> Result<()> {
    let flags = request::umount_flags(flags)?;
    let t = Target::parse(target)?;
    require_root()?;
    let running = Running::open(c)?;
    let plan = Plan {
        pidfd: running.pidfd,
        root: running.root,
        userns: running.userns,
        names: t.names.clone(),
        prefixes: t.prefixes.clone(),
        plain: t.plain.clone(),
        work: Work::Umount { flags },
    };
    let report = fork_run(&plan)?;
    explain_umount(&report, &t)?;
    tracing::info!(
        container = c.name(),
        target = %t.shown.display(),
        "unmounted in the running container"
    );
    Ok(())
}

/// Fork the child for `plan`, and wait for its report.
fn fork_run(plan: &Plan) -> Result<Report> {
    let helper = |op: &str, e| InjectError::sys("the helper process", op.to_string(), e);
    let (rd, wr) = lxc_core::sys::pipe().map_err(|e| helper("pipe", e))?;
    let pid = match sys::fork().map_err(|e| helper("fork", e))? {
        None => child::run(plan, wr.as_raw_fd()),
        Some(pid) => pid,
    };
    drop(wr);
    let mut buf = Vec::new();
    let read = std::fs::File::from(rd).read_to_end(&mut buf);
    // A caller that ignores SIGCHLD has its children reaped for it (ECHILD): the report says
    // all there is.
    let status = match sys::wait_child(pid) {
        Ok(status) => Some(status),
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => None,
        Err(e) => return Err(helper("wait", e)),
    };
    read.map_err(|e| helper("read its report", e))?;
    Report::decode(&buf).ok_or_else(|| {
        let how = match status {
            Some(st) if libc::WIFSIGNALED(st) => {
                format!("was killed by signal {}", libc::WTERMSIG(st))
            }
            Some(st) => format!("exited with status {}", libc::WEXITSTATUS(st)),
            None => "ended".to_string(),
        };
        InjectError::invalid(
            "the helper process",
            format!("{how} without a report"),
            libc::EIO,
        )
    })
}

/// A path of the container (`shown`) that could not be resolved or used.
fn path_error(shown: String, errno: i32) -> InjectError {
    let why = match errno {
        libc::EXDEV => {
            "leads out of the container's root (through `..` or a symlink): refused".into()
        }
        libc::ELOOP => "too many symlinks, or a /proc magic link, in the container: refused".into(),
        libc::ENOTDIR => "is not a directory in the container".into(),
        e => format!("{} in the container", errno_text(e)),
    };
    InjectError::invalid(shown, why, errno)
}

fn join_error(r: &Report) -> Option<InjectError> {
    let op = match r.step {
        Step::DieWithParent => "set the helper's parent-death signal",
        Step::Groups => "drop the helper's groups",
        Step::JoinUser => "enter the container's user namespace",
        Step::SetIds => "become the container's root",
        Step::JoinMount => "enter the container's mount namespace",
        _ => return None,
    };
    Some(InjectError::sys(
        "the container's namespaces",
        op,
        std::io::Error::from_raw_os_error(r.errno),
    ))
}

fn with_log(r: &Report) -> String {
    let log = r.log_text();
    if log.is_empty() {
        errno_text(r.errno)
    } else {
        format!("{} ({log})", errno_text(r.errno))
    }
}

fn explain(r: &Report, kind: &Kind<'_>, t: &Target, userns: bool) -> Result<()> {
    if r.step == Step::Done {
        return Ok(());
    }
    if let Some(e) = join_error(r) {
        return Err(e);
    }
    let target = t.shown.display().to_string();
    let errno = r.errno;
    let fs = |what: String| InjectError::invalid(what, with_log(r), errno);
    let i = r.index as usize;
    Err(match (r.step, kind) {
        (s, Kind::Bind { source, .. }) if s.locking() => InjectError::sys(
            format!("source {}", source.display()),
            format!("lock the bind for the container's user namespace ({s:?})"),
            std::io::Error::from_raw_os_error(errno),
        ),
        (Step::FsOpen, Kind::NewFs { fstype, .. }) => match errno {
            libc::ENODEV => InjectError::invalid(
                format!("filesystem type {fstype}"),
                "not known to this kernel (see /proc/filesystems)",
                errno,
            ),
            libc::EPERM if userns => InjectError::invalid(
                format!("filesystem type {fstype}"),
                "the container's root may not make a new one (the kernel leaves that to the \
                 host's root); bind a host path instead",
                errno,
            ),
            _ => fs(format!("filesystem type {fstype}")),
        },
        (Step::FsSource, Kind::NewFs { source, .. }) => {
            fs(format!("source {}", source.as_deref().unwrap_or_default()))
        }
        (Step::FsFlag, Kind::NewFs { sb_flags, .. }) => {
            fs(format!("flag {}", sb_flags.get(i).copied().unwrap_or("?")))
        }
        (Step::FsOption, Kind::NewFs { options, .. }) => fs(match options.get(i) {
            Some(o) => match &o.value {
                Some(v) => format!("option {}={v}", o.key),
                None => format!("option {}", o.key),
            },
            None => "an option".into(),
        }),
        (Step::FsCreate | Step::FsMount, Kind::NewFs { fstype, .. }) => {
            if errno == libc::EPERM && userns {
                InjectError::invalid(
                    format!("filesystem type {fstype}"),
                    "the container's root may not make a new one (the kernel leaves that to \
                     the host's root); bind a host path instead",
                    errno,
                )
            } else {
                fs(format!("new {fstype} filesystem"))
            }
        }
        (Step::Resolve, _) => path_error(t.shown_prefix(i), errno),
        (Step::Mkdir, _) => InjectError::invalid(
            t.shown_prefix(i),
            format!("mkdir in the container: {}", errno_text(errno)),
            errno,
        ),
        (Step::CreateTarget, _) if errno == libc::EEXIST => InjectError::invalid(
            target,
            "is a symlink to a missing path in the container (or appeared meanwhile): left as \
             it is",
            errno,
        ),
        (Step::CreateTarget, _) => InjectError::invalid(
            target,
            format!("create in the container: {}", errno_text(errno)),
            errno,
        ),
        (Step::OpenTarget, _) => path_error(target, errno),
        (Step::TargetType, _) if r.index == 1 => InjectError::invalid(
            target,
            "is a directory in the container, and a single file is mounted on a file",
            errno,
        ),
        (Step::TargetType, _) => InjectError::invalid(
            target,
            "is not a directory in the container, and a directory (or a new filesystem) is \
             mounted on a directory",
            errno,
        ),
        (Step::Move, _) => InjectError::invalid(
            target,
            format!("move the mount there: {}", errno_text(errno)),
            errno,
        ),
        (s, _) => InjectError::invalid(target, format!("step {s:?}: {}", errno_text(errno)), errno),
    })
}

fn explain_umount(r: &Report, t: &Target) -> Result<()> {
    if r.step == Step::Done {
        return Ok(());
    }
    if let Some(e) = join_error(r) {
        return Err(e);
    }
    let target = t.shown.display().to_string();
    let errno = r.errno;
    Err(match r.step {
        Step::Resolve => path_error(t.shown_prefix(r.index as usize), errno),
        Step::Umount => match errno {
            libc::EINVAL => InjectError::invalid(
                target,
                "is not a mount point in the container (or one its root may not unmount)",
                errno,
            ),
            libc::EBUSY => InjectError::invalid(
                target,
                "is busy in the container (a lazy unmount, MNT_DETACH, detaches it anyway)",
                errno,
            ),
            e => path_error(target, e),
        },
        s => InjectError::invalid(target, format!("step {s:?}: {}", errno_text(errno)), errno),
    })
}
