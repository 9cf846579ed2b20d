//! The console's output path in the monitor: one reactor handler reads the console master
//! whenever it is readable and hands what it read to the attached client (if any), the ring
//! buffer (when `console_log` put one in the start's state), the `lxc.console.path` terminal
//! and `lxc.console.logfile`.
//!
//! The container is never held up by a console nobody reads: the handler reads on every
//! wake-up, and every write it makes is non-blocking (a slow client loses output rather than
//! stall init's writes; the ring buffer and a regular log file never block).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::Terminals;
use lxc_core::keys::parse;
use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx};
use lxc_core::reactor::{self, FdHandler, Next, ReactorCtx};
use lxc_core::registry::{
    CommandDef, EntryKind, KeyDef, KeyPattern, PhaseHook, Registration, ValueKind, REGISTRY,
};
use lxc_core::{Error as CoreError, Phase};

use crate::ring::RingBuffer;
use crate::sys;

/// Bytes read from the console master per wake-up (LXC reads 1 KiB; larger reads cost less
/// per byte and still leave the loop after one read).
const CHUNK: usize = 16384;

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static CONSOLE_IO: Registration = Registration {
    name: "console-io",
    kind: EntryKind::Component,
    keys: &[
        KeyDef {
            pattern: KeyPattern::Exact("lxc.console.logfile"),
            kind: ValueKind::Single,
            parse: parse::path,
            get: None,
            clear: None,
            doc: "a file the console's output is appended to",
        },
        KeyDef {
            pattern: KeyPattern::Exact("lxc.console.size"),
            kind: ValueKind::Single,
            parse: parse_size,
            get: Some(get_number),
            clear: None,
            doc: "the console log file's size limit (bytes, kB, MB, GB or auto; rounded up to a \
                  power of two)",
        },
        KeyDef {
            pattern: KeyPattern::Exact("lxc.console.rotate"),
            kind: ValueKind::Single,
            parse: parse_rotate,
            get: Some(get_number),
            clear: None,
            doc: "1: at lxc.console.size, move the log file to FILE.1 and start a new one; 0: \
                  start it again from empty",
        },
    ],
    hooks: &[PhaseHook {
        phase: Phase::Running,
        order: order::TERMINALS,
        run: running,
    }],
    commands: &[
        CommandDef {
            name: "console",
            handler: crate::attach::serve_console,
        },
        CommandDef {
            name: "console.winsize",
            handler: crate::attach::serve_winsize,
        },
    ],
};

/// `lxc.console.size` and `lxc.console.buffer.size` as LXC stores them: the computed size.
pub fn parse_size(key: &str, value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    crate::size::buffer_size("lxc.console.size", value, sys::page_size() as u64)
        .map(|n| n.to_string())
        .map_err(|_| format!("{key}: a size in bytes (optionally kB, MB or GB), or auto"))
}

/// LXC prints these keys as numbers, 0 when unset or set empty.
pub fn get_number(config: &lxc_core::Config, key: &str) -> String {
    config
        .last(key)
        .filter(|v| !v.is_empty())
        .unwrap_or("0")
        .to_string()
}

fn parse_rotate(_key: &str, value: &str) -> Result<String, String> {
    match value {
        "" => Ok(String::new()),
        "0" | "1" => Ok(value.to_string()),
        _ => Err("0 or 1".into()),
    }
}

/// The console's ring buffer, which `console_log` puts in the start's state (in a `Running`
/// hook ordered before this crate's) when `lxc.console.buffer.size` is set.
pub struct ConsoleRing(pub RingBuffer);

/// The console master as the monitor holds it for writers (attached clients' input).
pub struct ConsoleMaster(pub OwnedFd);

/// The client attached to the console (`console -t 0`): the peer side of the pty whose master
/// it holds. LXC serves one at a time; the next may attach once it left.
pub struct ConsoleClient {
    pub id: u64,
    pub peer: OwnedFd,
}

/// `lxc.console.logfile` with LXC's size and rotation rules (`lxc_terminal_write_log_file`).
pub struct LogFile {
    path: PathBuf,
    file: Option<File>,
    /// `lxc.console.size` (0: no limit).
    size: u64,
    rotate: bool,
}

impl LogFile {
    pub fn open(path: PathBuf, size: u64, rotate: bool) -> std::io::Result<LogFile> {
        let file = Self::create(&path)?;
        Ok(LogFile {
            path,
            file: Some(file),
            size,
            rotate,
        })
    }

    // LXC opens it O_APPEND, mode 0600, and never truncates it at start.
    fn create(path: &std::path::Path) -> std::io::Result<File> {
        std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
    }

    /// Append `buf`. With a size limit, what would not fit goes into a fresh file: FILE.1
    /// keeps the old one when rotating, else the file starts again from empty; a write larger
    /// than the limit keeps its first `size` bytes (LXC's rules, also for that odd case).
    pub fn write(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        if self.size == 0 {
            return file.write_all(buf);
        }
        let meta = file.metadata()?;
        if !meta.file_type().is_file() {
            // No sizes or renames on a fifo or a device: LXC refuses those too.
            return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
        }
        let left = self.size.saturating_sub(meta.len());
        if left == 0 && !self.rotate {
            file.set_len(0)?;
            let n = buf.len().min(self.size as usize);
            return file.write_all(&buf[..n]);
        }
        if buf.len() as u64 <= left {
            return file.write_all(buf);
        }
        let (now, rest) = buf.split_at(left as usize);
        file.write_all(now)?;
        if self.rotate {
            self.file = None;
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, &old)?;
            self.file = Some(Self::create(&self.path)?);
        } else {
            file.set_len(0)?;
        }
        let n = rest.len().min(self.size as usize);
        match self.file.as_mut() {
            Some(f) => f.write_all(&rest[..n]),
            None => Ok(()),
        }
    }
}

/// Reads the console master and hands the bytes on.
pub struct ConsoleIo {
    master: OwnedFd,
    /// The console's peer, held so that the master never hangs up (and polls readable for
    /// ever) while nobody in the container has /dev/console open.
    _peer: Option<OwnedFd>,
    log: Option<LogFile>,
    /// The `lxc.console.path` terminal (`lxc-start -c`), which gets the output too.
    out: Option<File>,
    /// A foreground start's terminal (`lxc-start -F`): this process's stdout.
    fg: Option<OwnedFd>,
    buf: Box<[u8]>,
}

impl ConsoleIo {
    pub fn new(
        master: OwnedFd,
        peer: Option<OwnedFd>,
        log: Option<LogFile>,
        out: Option<File>,
    ) -> Self {
        ConsoleIo {
            master,
            _peer: peer,
            log,
            out,
            fg: None,
            buf: vec![0; CHUNK].into_boxed_slice(),
        }
    }

    /// Hand `data` to the client, the ring buffer and the log file, as LXC's
    /// `lxc_terminal_ptx_io` does (in that order).
    pub fn deliver(&mut self, state: &mut lxc_core::phase::StateMap, n: usize) {
        let data = &self.buf[..n];
        if let Some(c) = state.get::<ConsoleClient>() {
            // Non-blocking: a client that does not keep up loses output, the container does
            // not wait for it.
            let mut rest = data;
            while !rest.is_empty() {
                match sys::write(c.peer.as_fd(), rest) {
                    Ok(0) | Err(_) => break,
                    Ok(w) => rest = &rest[w..],
                }
            }
        }
        if let Some(r) = state.get_mut::<ConsoleRing>() {
            r.0.write(data);
        }
        if let Some(fg) = &self.fg {
            // The caller's own terminal, blocking as LXC's peer writes are: only a terminal
            // held with Ctrl+s stops it.
            let _ = lxc_core::sys::write_all(fg.as_fd(), data);
        }
        if let Some(out) = self.out.as_mut() {
            if let Err(e) = out.write_all(data) {
                tracing::debug!(error = %e, "lxc.console.path write failed");
            }
        }
        if let Some(log) = self.log.as_mut() {
            if let Err(e) = log.write(data) {
                tracing::debug!(path = %log.path.display(), error = %e, "console log write failed");
            }
        }
    }
}

impl FdHandler for ConsoleIo {
    fn name(&self) -> &str {
        "console"
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.master.as_fd()
    }

    fn ready(&mut self, ctx: &mut ReactorCtx<'_>) -> Next {
        // One read per wake-up: a writer that never stops must not keep the loop here.
        match sys::read(self.master.as_fd(), &mut self.buf) {
            Ok(0) => Next::Remove,
            Ok(n) => {
                self.deliver(ctx.state, n);
                Next::Keep
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Next::Keep,
            // EIO: nobody has the peer open (we hold it, so this is the end).
            Err(e) => {
                tracing::debug!(error = %e, "console read failed");
                Next::Remove
            }
        }
    }
}

fn hook_err(ctx: &HookCtx<'_>, key: &str, op: &str, e: std::io::Error) -> CoreError {
    CoreError::Start {
        name: ctx.name.to_string(),
        message: format!("{key}: {op}: {e}"),
    }
}

/// Running: take over the console master from the start's terminals and drain it.
fn running(ctx: &mut HookCtx<'_>) -> Result<(), CoreError> {
    let Some(terms) = ctx.state.get::<Terminals>() else {
        return Ok(());
    };
    let Some((master, _)) = terms.console.as_ref() else {
        return Ok(());
    };
    let master = master.try_clone();
    // The peer the terminal code holds (its path names the pty in the devpts it came from,
    // which need not be the monitor's), and the `lxc.console.path` terminal the console is
    // proxied to.
    let held = terms.console_peer.as_ref().map(OwnedFd::try_clone);
    let proxy = terms.console_proxy.as_ref().map(OwnedFd::try_clone);
    let master = master.map_err(|e| hook_err(ctx, "console", "dup the console master", e))?;
    sys::set_nonblocking(master.as_fd(), true)
        .map_err(|e| hook_err(ctx, "console", "make the console master non-blocking", e))?;
    let keep = held
        .transpose()
        .map_err(|e| hook_err(ctx, "console", "dup the console's peer", e))?;
    let log = match ctx
        .config
        .last("lxc.console.logfile")
        .filter(|p| !p.is_empty())
    {
        None => None,
        Some(p) => {
            let path = lxc_core::config::bytes::to_path(p);
            let size = ctx
                .config
                .last("lxc.console.size")
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
            let rotate = ctx.config.last("lxc.console.rotate") == Some("1");
            Some(
                LogFile::open(path, size, rotate)
                    .map_err(|e| hook_err(ctx, "lxc.console.logfile", "open", e))?,
            )
        }
    };
    let out: Option<File> = match proxy {
        Some(fd) => Some(File::from(fd.map_err(|e| {
            hook_err(
                ctx,
                "lxc.console.path",
                "dup the console path's terminal",
                e,
            )
        })?)),
        None => None,
    };
    let writer = master
        .try_clone()
        .map_err(|e| hook_err(ctx, "console", "dup the console master", e))?;
    let mut io = ConsoleIo::new(master, keep, log, out);
    if let Some(fg) = foreground(ctx, &writer)? {
        io.fg = Some(fg);
    }
    ctx.state.insert(ConsoleMaster(writer));
    reactor::add_handler(ctx.state, Box::new(io));
    Ok(())
}

/// `lxc-start -F` on a terminal: this process (the monitor) is in the foreground with the
/// caller's terminal as its stdin, and the container got a console pty (the CLI asks for one
/// only then): that terminal becomes the console's peer, in raw mode until the monitor ends.
/// A daemonised monitor's stdin is /dev/null, so this never applies to it.
fn foreground(ctx: &mut HookCtx<'_>, console: &OwnedFd) -> Result<Option<OwnedFd>, CoreError> {
    let fg_start = ctx
        .state
        .get::<lxc_core::start::StartInfo>()
        .is_some_and(|i| i.opts.mode == lxc_core::StartMode::Start && !i.opts.inherit_stdio);
    let stdin = std::io::stdin();
    if !fg_start || !sys::isatty(stdin.as_fd()) {
        return Ok(None);
    }
    let dup = |fd: BorrowedFd<'_>| {
        fd.try_clone_to_owned()
            .map_err(|e| hook_err(ctx, "console", "dup the foreground terminal", e))
    };
    let input = dup(stdin.as_fd())?;
    let output = dup(std::io::stdout().as_fd())?;
    let to_console = console
        .try_clone()
        .map_err(|e| hook_err(ctx, "console", "dup the console master", e))?;
    if let Some((rows, cols)) = sys::winsize(input.as_fd()) {
        let _ = sys::set_winsize(console.as_fd(), rows, cols);
    }
    let old = sys::make_raw(input.as_fd())
        .map_err(|e| hook_err(ctx, "console", "raw mode on the foreground terminal", e))?;
    let restore = input
        .try_clone()
        .map_err(|e| hook_err(ctx, "console", "dup the foreground terminal", e))?;
    ctx.state.insert(RestoreTerminal { fd: restore, old });
    reactor::add_handler(
        ctx.state,
        Box::new(crate::attach::InputTo {
            what: "foreground terminal",
            from: input,
            to: to_console,
        }),
    );
    Ok(Some(output))
}

/// Gives the foreground terminal its settings back when the start's state goes away.
struct RestoreTerminal {
    fd: OwnedFd,
    old: libc::termios,
}

impl Drop for RestoreTerminal {
    fn drop(&mut self) {
        let _ = sys::tcsetattr(self.fd.as_fd(), &self.old);
    }
}
