//! The container's terminals, made as LXC 5.0 makes them (`lxc_terminal_parent`,
//! `lxc_setup_console`, `lxc_create_ttys` in LXC's conf.c and terminal.c):
//!
//! - /dev/console is a pty the monitor holds. With `lxc.pty.max` of 0 or 1 it comes from the
//!   host's devpts, allocated before clone (PreClone); with more it comes from the container's
//!   own devpts instance (its first pty, /dev/pts/0), allocated in the child. Either way its
//!   peer is bound onto /dev/console (through /dev/<tty.dir>/console), mode 0620.
//!   `lxc.console.path = none`: no console, /dev/console is left as it is.
//! - the `lxc.tty.max` ttys come from the container's devpts (the host's when `lxc.pty.max`
//!   is 0, as LXC 5.0 ends up doing) and are bound onto /dev/ttyN (or /dev/<tty.dir>/ttyN with
//!   a /dev/ttyN symlink), in the child between lxc-mount's devpts and its pivot_root
//!   (ChildPivot, `order::TERMINALS`); their masters go to the monitor over the start channel.
//! - a daemonized init gets the console on 0-2 when it is the container's own pty, /dev/null
//!   otherwise (LXC 5.0); foreground starts and execute keep the caller's stdio.
//! - the monitor keeps the masters in [`Terminals`] for `console -t N` clients and does not
//!   read them itself, as LXC: a reader would take output from the client (a getty's prompt
//!   fits in the pty's buffer); the console's reader is the console code's.

mod sys;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx, InitStdio, Phase, StartMode};
use lxc_core::registry::{
    EntryKind, KeyDef, KeyPattern, PhaseHook, Registration, ValueKind, REGISTRY,
};
use lxc_core::start::{spec, sync, StartInfo};
use lxc_mount::sys::{self as msys, oflag, Resolve};
use lxc_mount::{Prepared, Rootfs};
use nix::mount::MsFlags;

static TERMINAL_KEYS: [KeyDef; 4] = crate::keys::terminal_keys(KeyDef {
    pattern: KeyPattern::Exact("lxc.console.path"),
    kind: ValueKind::Single,
    parse: console_path_value,
    get: None,
    clear: None,
    doc: "the host terminal the console is proxied to, or `none` for no console",
});

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static TERMINALS: Registration = Registration {
    name: "terminals",
    kind: EntryKind::Component,
    // (lxc-mount reads `lxc.pty.max` too, for devpts' `max=`.)
    keys: &TERMINAL_KEYS,
    hooks: &[
        PhaseHook {
            phase: Phase::PreClone,
            order: order::TERMINALS,
            run: host_console,
        },
        PhaseHook {
            phase: Phase::ChildPivot,
            order: order::TERMINALS,
            run: child_terminals,
        },
        PhaseHook {
            phase: Phase::ChildFinal,
            order: order::FIRST,
            run: child_stdio,
        },
        PhaseHook {
            phase: Phase::PreExec,
            order: order::DEFAULT,
            run: take_terminals,
        },
    ],
    commands: &[],
};

/// LXC stores any path (`set_config_path_item`); whether it opens is found out at start.
fn console_path_value(_key: &str, value: &str) -> Result<String, String> {
    Ok(value.to_string())
}

/// The start-channel tags the child sends masters and peers under.
const TAG_CONSOLE: &str = "terminals.console";
const TAG_TTY: &str = "terminals.tty";

/// One of the `lxc.tty.max` ttys, as the monitor holds it.
#[derive(Debug)]
pub struct Tty {
    /// /dev/tty`index` in the container (from 1).
    pub index: usize,
    pub master: OwnedFd,
    /// Held so that the master never reads as hung up while nobody in the container has the
    /// tty open.
    pub peer: OwnedFd,
    /// Its number in the devpts instance it came from (/dev/pts/N inside the container).
    pub pts: u32,
}

/// The container's terminals, in the monitor's state once init runs.
#[derive(Debug, Default)]
pub struct Terminals {
    /// /dev/console: the master and the peer's path (`/dev/pts/N` of the host's devpts when
    /// it came from there, of the container's otherwise). None: no console (`lxc.console.path
    /// = none`, or a start that gives init the caller's stdio).
    pub console: Option<(OwnedFd, PathBuf)>,
    /// The console's peer, held by the monitor like a tty's.
    pub console_peer: Option<OwnedFd>,
    /// `lxc.console.path` set to a host terminal: LXC proxies the console to it. Opened and
    /// checked at start (it must be a terminal); the console's reader forwards to it.
    pub console_proxy: Option<OwnedFd>,
    /// /dev/tty1.. /dev/ttyN.
    pub ttys: Vec<Tty>,
}

/// A key as errors name it: with the file and line it came from.
fn key_at(config: &lxc_core::Config, key: &str) -> String {
    match config.origin_of(key) {
        Some(o) if o.line != 0 => format!("{key} ({o})"),
        _ => key.to_string(),
    }
}

fn hook_err(ctx: &HookCtx<'_>, key: &str, message: String) -> lxc_core::Error {
    lxc_core::Error::Hook {
        phase: ctx.phase,
        owner: "terminals",
        key: Some(key_at(ctx.config, key)),
        message,
    }
}

/// Every tty costs the monitor two descriptors (master and peer) for as long as the
/// container runs: refuse a start the monitor's fd limit cannot hold, naming `lxc.tty.max`,
/// before anything is allocated (the kernel would otherwise drop the fds in transit).
fn check_fd_room(ctx: &HookCtx<'_>, ttys: usize) -> Result<(), lxc_core::Error> {
    if ttys == 0 {
        return Ok(());
    }
    let open = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0);
    let limit = sys::fd_limit().unwrap_or(u64::MAX);
    // Room for the console, the channel's and the command socket's own fds.
    let need = open as u64 + 2 * ttys as u64 + 16;
    if need > limit {
        return Err(hook_err(
            ctx,
            "lxc.tty.max",
            format!(
                "{ttys} ttys need {} descriptors in the monitor, which has {open} open and \
                 may have {limit} (ulimit -n)",
                2 * ttys
            ),
        ));
    }
    Ok(())
}

/// Whether this start gives the container a console at all (LXC's `wants_console`; not
/// lxc-rs's foreground starts, which keep the caller's stdio). Execute has one, as
/// lxc-execute's container has, though its command keeps the caller's stdio.
fn wants_console(ctx: &HookCtx<'_>) -> bool {
    let inherit = ctx
        .state
        .get::<StartInfo>()
        .is_none_or(|i| i.opts.inherit_stdio);
    (!inherit || ctx.mode == StartMode::Execute) && console_path(ctx).as_deref() != Some("none")
}

fn console_path(ctx: &HookCtx<'_>) -> Option<String> {
    lxc_core::keys::typed::string(ctx.config, "lxc.console.path")
}

fn daemonized(ctx: &HookCtx<'_>) -> bool {
    ctx.state
        .get::<StartInfo>()
        .is_some_and(|i| !i.opts.inherit_stdio)
}

fn pty_max(ctx: &HookCtx<'_>) -> u32 {
    lxc_core::keys::typed::number(ctx.config, "lxc.pty.max")
}

fn tty_max(ctx: &HookCtx<'_>) -> usize {
    match ctx.mode {
        // An application container has no getty to serve ttys: like lxc-execute, none.
        StartMode::Execute => 0,
        StartMode::Start => lxc_core::keys::typed::number(ctx.config, "lxc.tty.max") as usize,
    }
}

/// The container's root ids on the host (for a user namespace), so that its root can open
/// a pty allocated on the host's devpts, as LXC's `lxc_terminal_map_ids` arranges.
fn mapped_root(ctx: &HookCtx<'_>) -> Option<(Option<u32>, Option<u32>)> {
    let maps = spec::idmaps(ctx.config);
    let userns = spec::namespaces(ctx.config, &ctx.lxcpath, true, Default::default())
        .map(|ns| ns.has(libc::CLONE_NEWUSER))
        .unwrap_or(!maps.is_empty());
    if !userns || maps.is_empty() {
        return None;
    }
    let id = |uid| spec::map_to_host(&maps, uid, 0).and_then(|v| u32::try_from(v).ok());
    Some((id(true), id(false)))
}

/// PreClone: the console from the host's devpts (`lxc.pty.max` 0 or 1), and the
/// `lxc.console.path` proxy.
fn host_console(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    check_fd_room(ctx, tty_max(ctx))?;
    let mut terms = Terminals::default();
    if wants_console(ctx) {
        if let Some(path) = console_path(ctx) {
            let p = lxc_core::config::bytes::to_path(&path);
            let fd = sys::openat(None, &p, libc::O_RDWR | libc::O_NOCTTY).map_err(|e| {
                hook_err(
                    ctx,
                    "lxc.console.path",
                    format!("open the console's terminal {}: {e}", p.display()),
                )
            })?;
            if !sys::is_tty(fd.as_fd()) {
                return Err(hook_err(
                    ctx,
                    "lxc.console.path",
                    format!("{} is not a terminal", p.display()),
                ));
            }
            terms.console_proxy = Some(fd);
        }
        if pty_max(ctx) <= 1 {
            let (master, peer, n) =
                sys::openat(None, Path::new("/dev/ptmx"), libc::O_RDWR | libc::O_NOCTTY)
                    .and_then(sys::new_pty)
                    .map_err(|e| {
                        hook_err(
                            ctx,
                            "lxc.console.path",
                            format!("allocate the console from the host's devpts: {e}"),
                        )
                    })?;
            if let Some((uid, gid)) = mapped_root(ctx) {
                sys::fchown(&peer, uid, gid).map_err(|e| {
                    hook_err(
                        ctx,
                        "lxc.idmap",
                        format!("chown the console /dev/pts/{n} to the container's root: {e}"),
                    )
                })?;
            }
            terms.console = Some((master, PathBuf::from(format!("/dev/pts/{n}"))));
            terms.console_peer = Some(peer);
        }
    }
    ctx.state.insert(terms);
    Ok(())
}

/// Where the child allocates ptys: a devpts directory and its multiplexer.
struct Devpts {
    dir: OwnedFd,
    /// For messages: where `dir` is.
    shown: PathBuf,
    host: bool,
}

impl Devpts {
    fn alloc(&self) -> std::io::Result<(OwnedFd, OwnedFd, u32)> {
        // The host's /dev/pts/ptmx is often mode 000 with /dev/ptmx the one to use (LXC's
        // lax lookup); the container's instance is ours, ptmxmode=0666.
        let ptmx = if self.host {
            sys::openat(None, Path::new("/dev/ptmx"), libc::O_RDWR | libc::O_NOCTTY)?
        } else {
            sys::openat(
                Some(self.dir.as_fd()),
                Path::new("ptmx"),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_NOFOLLOW,
            )?
        };
        sys::new_pty(ptmx)
    }

    /// An O_PATH handle of pty `n`, checked to be the same device as `peer` (LXC's
    /// `open_at_same`): what gets bind-mounted, since a TIOCGPTPEER fd cannot be.
    fn path_of(&self, n: u32, peer: &OwnedFd) -> std::io::Result<OwnedFd> {
        let fd = msys::openat2(
            Some(self.dir.as_fd()),
            Path::new(&n.to_string()),
            oflag::PATH | oflag::NOFOLLOW,
            0,
            Resolve::InRoot,
        )?;
        let want = sys::char_rdev(peer.as_fd())?;
        if want.is_none() || sys::char_rdev(fd.as_fd())? != want {
            return Err(std::io::Error::from_raw_os_error(libc::ENODEV));
        }
        Ok(fd)
    }
}

/// A bind of `src` onto `rel` in the rootfs, creating the target file.
fn bind(root: &Rootfs, src: BorrowedFd<'_>, rel: &str) -> std::io::Result<()> {
    root.create_file(Path::new(rel))?;
    let dst = root.path_fd(Path::new(rel))?;
    msys::mount_fd_on_fd(src, dst.as_fd(), MsFlags::MS_BIND)
}

/// ChildPivot, after the devpts mount and before pivot_root: allocate and bind the console
/// (when it is the container's own) and the ttys; hand their masters to the monitor.
fn child_terminals(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    // Out of the state while we work, so that the state can take what we make.
    let Some(prepared) = ctx.state.remove::<Prepared>() else {
        return Ok(());
    };
    let r = bind_terminals(ctx, &prepared);
    ctx.state.insert(prepared);
    r
}

fn bind_terminals(ctx: &mut HookCtx<'_>, prepared: &Prepared) -> Result<(), lxc_core::Error> {
    let root = &prepared.rootfs;
    let tty_dir = prepared.plan.tty_dir.clone();
    let ttys = tty_max(ctx);
    let own_console = wants_console(ctx) && pty_max(ctx) > 1;
    let rel = |name: &str| match &tty_dir {
        Some(d) => format!("dev/{d}/{name}"),
        None => format!("dev/{name}"),
    };
    let config = ctx.config;
    let fail = |key: &str, what: String, e: std::io::Error| lxc_core::Error::Hook {
        phase: Phase::ChildPivot,
        owner: "terminals",
        key: Some(key_at(config, key)),
        message: format!("{what}: {e}"),
    };

    let devpts = if pty_max(ctx) > 0 {
        let dir = root
            .open(Path::new("dev/pts"), oflag::PATH | oflag::DIRECTORY)
            .map_err(|e| {
                fail(
                    "lxc.pty.max",
                    format!("open {}", root.display(Path::new("dev/pts")).display()),
                    e,
                )
            })?;
        Devpts {
            dir,
            shown: root.display(Path::new("dev/pts")),
            host: false,
        }
    } else {
        let dir = msys::openat2(
            None,
            Path::new("/dev/pts"),
            oflag::PATH | oflag::DIRECTORY,
            0,
            Resolve::Normal,
        )
        .map_err(|e| fail("lxc.tty.max", "open the host's /dev/pts".into(), e))?;
        Devpts {
            dir,
            shown: PathBuf::from("/dev/pts"),
            host: true,
        }
    };
    if (own_console || ttys > 0) && !devpts.host {
        let ok = sys::is_devpts(devpts.dir.as_fd()).unwrap_or(false);
        if !ok {
            return Err(fail(
                "lxc.pty.max",
                format!("{} is not a devpts instance", devpts.shown.display()),
                std::io::Error::from_raw_os_error(libc::ENODEV),
            ));
        }
    }
    if let Some(d) = &tty_dir {
        if !root.is_host() && (ttys > 0 || wants_console(ctx)) {
            root.mkdir_p(&Path::new("dev").join(d), 0o755)
                .map_err(|e| fail("lxc.tty.dir", format!("mkdir /dev/{d}"), e))?;
        }
    }

    // The console first, so that it is the instance's first pty, as in LXC.
    let mut console: Option<(OwnedFd, OwnedFd, PathBuf)> = None;
    if own_console {
        let (m, p, n) = devpts.alloc().map_err(|e| {
            fail(
                "lxc.pty.max",
                format!("allocate the console from {}", devpts.shown.display()),
                e,
            )
        })?;
        let src = devpts
            .path_of(n, &p)
            .map_err(|e| fail("lxc.console.path", format!("open /dev/pts/{n}"), e))?;
        console = Some((m, p, PathBuf::from(format!("/dev/pts/{n}"))));
        if let Some((_, p, _)) = &console {
            bind_console(root, &tty_dir, p, src.as_fd())?;
        }
    } else if wants_console(ctx) {
        let host = ctx
            .state
            .get::<Terminals>()
            .and_then(|t| t.console.as_ref().map(|(_, path)| path.clone()))
            .zip(
                ctx.state
                    .get::<Terminals>()
                    .and_then(|t| t.console_peer.as_ref())
                    .and_then(|p| p.try_clone().ok()),
            );
        if let Some((path, peer)) = host {
            let src = msys::openat2(None, &path, oflag::PATH, 0, Resolve::Normal)
                .and_then(|fd| {
                    let want = sys::char_rdev(peer.as_fd())?;
                    if want.is_some() && sys::char_rdev(fd.as_fd())? == want {
                        Ok(fd)
                    } else {
                        Err(std::io::Error::from_raw_os_error(libc::ENODEV))
                    }
                })
                .map_err(|e| fail("lxc.console.path", format!("open {}", path.display()), e))?;
            bind_console(root, &tty_dir, &peer, src.as_fd())?;
        }
    }

    let link = sync::child_link(ctx.state).ok_or_else(|| lxc_core::Error::Hook {
        phase: Phase::ChildPivot,
        owner: "terminals",
        key: None,
        message: "no start channel in the child".into(),
    })?;
    if let Some((m, p, _)) = &console {
        link.send_fds(TAG_CONSOLE, &[m.as_fd(), p.as_fd()])?;
    }
    for i in 1..=ttys {
        let (m, p, n) = devpts.alloc().map_err(|e| {
            fail(
                "lxc.tty.max",
                format!("allocate tty {i} of {ttys} from {}", devpts.shown.display()),
                e,
            )
        })?;
        // LXC binds the ttys only for a container with a rootfs of its own.
        if !root.is_host() {
            let src = devpts
                .path_of(n, &p)
                .map_err(|e| fail("lxc.tty.max", format!("open /dev/pts/{n}"), e))?;
            let target = rel(&format!("tty{i}"));
            bind(root, src.as_fd(), &target).map_err(|e| {
                fail(
                    "lxc.tty.max",
                    format!(
                        "bind /dev/pts/{n} on {}",
                        root.display(Path::new(&target)).display()
                    ),
                    e,
                )
            })?;
            if let Some(d) = &tty_dir {
                let dev = root
                    .open(Path::new("dev"), oflag::PATH | oflag::DIRECTORY)
                    .map_err(|e| fail("lxc.tty.dir", "open /dev".into(), e))?;
                let name = format!("tty{i}");
                match msys::unlinkat(dev.as_fd(), Path::new(&name)) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                    Err(e) => return Err(fail("lxc.tty.dir", format!("remove /dev/{name}"), e)),
                }
                msys::symlinkat(
                    Path::new(&format!("{d}/{name}")),
                    dev.as_fd(),
                    Path::new(&name),
                )
                .map_err(|e| fail("lxc.tty.dir", format!("symlink /dev/{name}"), e))?;
            }
        }
        link.send_fds(TAG_TTY, &[m.as_fd(), p.as_fd()])?;
    }
    tracing::debug!(ttys, own_console, "terminals bound");

    // Init's stdio for a daemonized start: the console when it is the container's own,
    // else /dev/null (opened in ChildFinal, from the container's /dev once pivoted).
    if daemonized(ctx) {
        if let Some((_, p, _)) = &console {
            let fd = p
                .try_clone()
                .map_err(|e| fail("lxc.console.path", "dup console".into(), e))?;
            ctx.state.insert(InitStdio {
                fd,
                controlling: true,
            });
        } else if root.open(Path::new("dev/null"), oflag::PATH).is_err() {
            // No /dev/null in the container: the host's, as LXC falls back to.
            let fd = sys::openat(None, Path::new("/dev/null"), libc::O_RDWR)
                .map_err(|e| fail("lxc.autodev", "open the host's /dev/null".into(), e))?;
            ctx.state.insert(InitStdio {
                fd,
                controlling: false,
            });
        }
    }
    Ok(())
}

/// /dev/console: `src` (an O_PATH handle of the console's peer) bound onto it, through
/// /dev/<tty.dir>/console when `lxc.tty.dir` is set; earlier mounts on it go first. Not for a
/// container on the host's root, whose console stays the host's.
fn bind_console(
    root: &Rootfs,
    tty_dir: &Option<String>,
    peer: &OwnedFd,
    src: BorrowedFd<'_>,
) -> Result<(), lxc_core::Error> {
    let fail = |what: String, e: std::io::Error| lxc_core::Error::Hook {
        phase: Phase::ChildPivot,
        owner: "terminals",
        key: Some("lxc.console.path".into()),
        message: format!("{what}: {e}"),
    };
    if root.is_host() {
        tracing::debug!("no rootfs: the console stays the host's");
        return Ok(());
    }
    // The container's init may not chmod its console; LXC sets crw--w---- on the pty.
    sys::fchmod(peer, 0o620).map_err(|e| fail("chmod the console".into(), e))?;
    lxc_mount::ops::detach_all(root, Path::new("dev/console"));
    let shown = |rel: &str| root.display(Path::new(rel)).display().to_string();
    match tty_dir {
        None => bind(root, src, "dev/console")
            .map_err(|e| fail(format!("bind the console on {}", shown("dev/console")), e)),
        Some(d) => {
            let inner = format!("dev/{d}/console");
            bind(root, src, &inner)
                .map_err(|e| fail(format!("bind the console on {}", shown(&inner)), e))?;
            let inner_fd = root
                .path_fd(Path::new(&inner))
                .map_err(|e| fail(format!("open {}", shown(&inner)), e))?;
            bind(root, inner_fd.as_fd(), "dev/console")
                .map_err(|e| fail(format!("bind {} on /dev/console", shown(&inner)), e))
        }
    }
}

/// ChildFinal, first: nothing of the monitor's terminals stays in the container's process,
/// and a daemonized init without its own console gets the container's /dev/null.
fn child_stdio(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    drop(ctx.state.remove::<Terminals>());
    if let Some(stdio) = ctx.state.get::<InitStdio>() {
        // LXC's fix_stdio_permissions: a terminal init gets on 0-2 becomes init's own,
        // mode 0700 (/dev/null is left alone).
        let null = sys::char_rdev(stdio.fd.as_fd()).ok().flatten() == Some(libc::makedev(1, 3));
        if !null && sys::is_tty(stdio.fd.as_fd()) {
            let uid = lxc_core::keys::typed::number(ctx.config, "lxc.init.uid");
            let owner = (uid != 0).then_some(uid);
            if let Err(e) =
                sys::fchown(&stdio.fd, owner, None).and_then(|()| sys::fchmod(&stdio.fd, 0o700))
            {
                tracing::warn!(error = %e, "cannot adjust the permissions of init's stdio");
            }
        }
    }
    if daemonized(ctx) && ctx.state.get::<InitStdio>().is_none() {
        let fd = sys::openat(None, Path::new("/dev/null"), libc::O_RDWR)
            .map_err(|e| hook_err(ctx, "lxc.autodev", format!("open /dev/null for init: {e}")))?;
        ctx.state.insert(InitStdio {
            fd,
            controlling: false,
        });
    }
    Ok(())
}

/// PreExec (monitor): the masters and peers the child sent, into [`Terminals`].
fn take_terminals(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    let console = sync::take_fds(ctx.state, TAG_CONSOLE);
    let ttys = sync::take_fds(ctx.state, TAG_TTY);
    let mut terms = ctx.state.remove::<Terminals>().unwrap_or_default();
    let mut it = console.into_iter();
    if let (Some(m), Some(p)) = (it.next(), it.next()) {
        let n = sys::pty_number(&m)
            .map_err(|e| hook_err(ctx, "lxc.console.path", format!("console number: {e}")))?;
        terms.console = Some((m, PathBuf::from(format!("/dev/pts/{n}"))));
        terms.console_peer = Some(p);
    }
    let mut it = ttys.into_iter();
    while let (Some(master), Some(peer)) = (it.next(), it.next()) {
        let pts = sys::pty_number(&master)
            .map_err(|e| hook_err(ctx, "lxc.tty.max", format!("tty number: {e}")))?;
        let index = terms.ttys.len() + 1;
        terms.ttys.push(Tty {
            index,
            master,
            peer,
            pts,
        });
    }
    let want = tty_max(ctx);
    if terms.ttys.len() != want {
        return Err(hook_err(
            ctx,
            "lxc.tty.max",
            format!("the container sent {} of its {want} ttys", terms.ttys.len()),
        ));
    }
    ctx.state.insert(terms);
    Ok(())
}
