//! Console attach, both ends.
//!
//! Monitor: the `console` request. For a tty (`-t N`, N ≥ 1, or -1 for the first one) the
//! client gets a dup of the tty's master, as LXC's `LXC_CMD_CONSOLE` hands it. For the console
//! (`-t 0`) the monitor makes a pty for the client and proxies between its peer and the console
//! master, so the console's output still reaches the ring buffer and the log file while a
//! client is attached; one client at a time, as LXC.
//!
//! Client: [`ConsoleExt::console`] puts the caller's terminal in raw mode, forwards its window
//! size, copies both ways, and detaches on `<escape> q` (`<escape> <escape>` sends the escape
//! character itself), with lxc-console's rules and its banner.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Terminals;
use lxc_core::commands::body;
use lxc_core::phase::{CommandCtx, CommandError};
use lxc_core::reactor::{self, FdHandler, Next, ReactorCtx};
use lxc_core::{Container, Error};

use crate::io::{ConsoleClient, ConsoleMaster};
use crate::sys;

/// The default escape character, Ctrl+a (as lxc-console).
pub const DEFAULT_ESCAPE: i32 = 1;

/// lxc-console's `-e` value: `^x` is Ctrl+x, anything else its first character.
pub fn escape_char(spec: &str) -> Option<i32> {
    let b = spec.as_bytes();
    match b {
        [b'^', c, ..] if c.is_ascii_alphabetic() => {
            Some(i32::from(c.to_ascii_lowercase() - b'a') + 1)
        }
        [c, ..] => Some(i32::from(*c)),
        [] => None,
    }
}

static NEXT_CLIENT: AtomicU64 = AtomicU64::new(1);

/// Monitor: a client's input on the console proxy's peer, written into the console master.
struct ProxyInput {
    id: u64,
    peer: OwnedFd,
    console: OwnedFd,
}

impl FdHandler for ProxyInput {
    fn name(&self) -> &str {
        "console client"
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.peer.as_fd()
    }

    fn ready(&mut self, ctx: &mut ReactorCtx<'_>) -> Next {
        if forward_once(self.peer.as_fd(), self.console.as_fd()) {
            return Next::Keep;
        }
        // EOF or EIO: the client closed its end.
        if ctx
            .state
            .get::<ConsoleClient>()
            .is_some_and(|c| c.id == self.id)
        {
            ctx.state.remove::<ConsoleClient>();
        }
        tracing::debug!(client = self.id, "console client left");
        Next::Remove
    }
}

/// Monitor: copies what arrives on `from` (a foreground start's terminal) into `to` (the
/// console master), never waiting for the console.
pub(crate) struct InputTo {
    pub what: &'static str,
    pub from: OwnedFd,
    pub to: OwnedFd,
}

impl FdHandler for InputTo {
    fn name(&self) -> &str {
        self.what
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.from.as_fd()
    }

    fn ready(&mut self, _ctx: &mut ReactorCtx<'_>) -> Next {
        if forward_once(self.from.as_fd(), self.to.as_fd()) {
            Next::Keep
        } else {
            Next::Remove
        }
    }
}

/// One read from `from`, written to `to` without waiting: what `to` does not take now is
/// lost, never waited for (the monitor serves everyone from one loop). False when `from` is
/// gone (end of file, EIO of a pty whose other side closed).
fn forward_once(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 4096];
    match sys::read(from, &mut buf) {
        Ok(n) if n > 0 => {
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                match sys::write(to, rest) {
                    Ok(0) | Err(_) => break,
                    Ok(w) => rest = &rest[w..],
                }
            }
            true
        }
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
        Ok(_) => false,
    }
}

/// The ttys a console client holds (by number), in the monitor's state.
#[derive(Debug, Default)]
struct BusyTtys(std::collections::BTreeSet<usize>);

/// Watches a client's session fd (the read end of a pipe whose write end the client holds):
/// end of file means the client is gone, and its tty is free again (LXC frees it when the
/// client's command connection closes).
struct Session {
    fd: OwnedFd,
    tty: usize,
    what: String,
}

impl FdHandler for Session {
    fn name(&self) -> &str {
        &self.what
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn ready(&mut self, ctx: &mut ReactorCtx<'_>) -> Next {
        let mut buf = [0u8; 64];
        match sys::read(self.fd.as_fd(), &mut buf) {
            Ok(n) if n > 0 => Next::Keep,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Next::Keep,
            _ => {
                if let Some(b) = ctx.state.get_mut::<BusyTtys>() {
                    b.0.remove(&self.tty);
                }
                tracing::debug!(tty = self.tty, "console client gone: tty free");
                Next::Remove
            }
        }
    }
}

fn io_err(op: &str, e: std::io::Error) -> CommandError {
    CommandError::io(op, &e)
}

/// Monitor: the `console` request; body `(tty, rows, cols)` (rows 0: no size to set); answer
/// the tty number served, with its master (or the proxy pty's master) as the one fd.
pub fn serve_console(ctx: &mut CommandCtx<'_>, req: &[u8]) -> Result<Vec<u8>, CommandError> {
    let (tty, rows, cols): (i32, u16, u16) =
        body::decode(req).map_err(|e| CommandError::invalid(format!("console request: {e}")))?;
    if tty == 0 {
        return serve_proxy(ctx, rows, cols);
    }
    // The client's session fd: the tty is its until that reads end of file.
    let session = ctx.fds_in.pop().ok_or_else(|| {
        CommandError::invalid("a tty console request needs the client's session fd")
    })?;
    let n = ctx.state.get::<Terminals>().map_or(0, |t| t.ttys.len());
    let busy = |num: usize, ctx: &CommandCtx<'_>| {
        ctx.state
            .get::<BusyTtys>()
            .is_some_and(|b| b.0.contains(&num))
    };
    let num = if tty < 0 {
        // LXC: the first free tty.
        (1..=n).find(|&i| !busy(i, ctx)).ok_or_else(|| {
            CommandError::new(
                libc::EBUSY,
                format!("every tty of the container ({n}) has a console client"),
            )
        })? as i32
    } else {
        tty
    };
    if num as usize > n {
        return Err(CommandError::new(
            libc::EINVAL,
            format!("no tty {num}: the container has {n} (lxc.tty.max)"),
        ));
    }
    if busy(num as usize, ctx) {
        return Err(CommandError::new(
            libc::EBUSY,
            format!("tty {num} has a console client already"),
        ));
    }
    let terms = ctx.state.get::<Terminals>();
    let master = terms
        .and_then(|t| t.ttys.get(num as usize - 1))
        .map(|t| t.master.try_clone())
        .ok_or_else(|| CommandError::new(libc::ENOENT, format!("no tty {num}")))?
        .map_err(|e| io_err("dup the tty master", e))?;
    if rows > 0 {
        let _ = sys::set_winsize(master.as_fd(), rows, cols);
    }
    if ctx.state.get::<BusyTtys>().is_none() {
        ctx.state.insert(BusyTtys::default());
    }
    if let Some(b) = ctx.state.get_mut::<BusyTtys>() {
        b.0.insert(num as usize);
    }
    reactor::add_handler(
        ctx.state,
        Box::new(Session {
            fd: session,
            tty: num as usize,
            what: format!("console client of tty {num}"),
        }),
    );
    ctx.fds_out.push(master);
    body::encode(&num).map_err(|e| CommandError::invalid(e.to_string()))
}

fn serve_proxy(ctx: &mut CommandCtx<'_>, rows: u16, cols: u16) -> Result<Vec<u8>, CommandError> {
    if ctx.state.get::<ConsoleClient>().is_some() {
        return Err(CommandError::new(
            libc::EBUSY,
            "the console has a client already (one at a time)",
        ));
    }
    let console = ctx
        .state
        .get::<ConsoleMaster>()
        .ok_or_else(|| {
            CommandError::new(
                libc::ENOENT,
                "the container has no console pty (its init has the starter's terminal)",
            )
        })?
        .0
        .try_clone()
        .map_err(|e| io_err("dup the console master", e))?;
    let (master, path) = lxc_core::sys::openpty().map_err(|e| io_err("allocate a pty", e))?;
    let peer = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
        .map(OwnedFd::from)
        .map_err(|e| io_err("open the pty's peer", e))?;
    // The proxy passes bytes untouched: the client's terminal and the container's console
    // do the line discipline.
    sys::make_raw(peer.as_fd()).map_err(|e| io_err("raw mode on the pty's peer", e))?;
    if rows > 0 {
        let _ = sys::set_winsize(master.as_fd(), rows, cols);
        let _ = sys::set_winsize(console.as_fd(), rows, cols);
    }
    let id = NEXT_CLIENT.fetch_add(1, Ordering::Relaxed);
    let writer = peer
        .try_clone()
        .map_err(|e| io_err("dup the pty's peer", e))?;
    ctx.state.insert(ConsoleClient { id, peer: writer });
    reactor::add_handler(ctx.state, Box::new(ProxyInput { id, peer, console }));
    ctx.fds_out.push(master);
    body::encode(&0i32).map_err(|e| CommandError::invalid(e.to_string()))
}

/// Monitor: `console.winsize`, body `(tty, rows, cols)`: the client's terminal changed size.
pub fn serve_winsize(ctx: &mut CommandCtx<'_>, req: &[u8]) -> Result<Vec<u8>, CommandError> {
    let (tty, rows, cols): (i32, u16, u16) =
        body::decode(req).map_err(|e| CommandError::invalid(format!("winsize request: {e}")))?;
    let fd = if tty == 0 {
        ctx.state.get::<ConsoleMaster>().map(|m| m.0.as_fd())
    } else {
        ctx.state
            .get::<Terminals>()
            .and_then(|t| t.ttys.get((tty.max(1) - 1) as usize))
            .map(|t| t.master.as_fd())
    };
    let fd = fd.ok_or_else(|| CommandError::new(libc::ENOENT, format!("no tty {tty}")))?;
    sys::set_winsize(fd, rows, cols).map_err(|e| io_err("set the window size", e))?;
    Ok(Vec::new())
}

/// Console attach on a [`Container`] (liblxc's `console_getfd` and `console`).
pub trait ConsoleExt {
    /// A master fd for tty `tty` (0: the console, through the monitor's proxy; -1: the first
    /// free tty), the tty number it is, and the session fd: the tty stays this caller's until
    /// the session fd is closed (liblxc returns its command socket for that).
    fn console_getfd(&self, tty: i32) -> Result<ConsoleFd, Error>;

    /// Attach `stdin`/`stdout` to tty `tty` until `<escape> q` (escape ≤ 0: no escape, until
    /// stdin ends or the tty hangs up). A terminal `stdin` is put in raw mode and restored
    /// after; its window size is forwarded, also when it changes. `stderr` gets the banner.
    fn console(
        &self,
        tty: i32,
        stdin: BorrowedFd<'_>,
        stdout: BorrowedFd<'_>,
        stderr: BorrowedFd<'_>,
        escape: i32,
    ) -> Result<(), Error>;
}

fn client_err(c: &Container, op: &'static str, e: std::io::Error) -> Error {
    Error::Sys {
        name: c.name().to_string(),
        op,
        source: e,
    }
}

/// What [`ConsoleExt::console_getfd`] gives.
#[derive(Debug)]
pub struct ConsoleFd {
    pub master: OwnedFd,
    pub tty: i32,
    /// Held while attached; closing it frees the tty for the next client.
    pub session: OwnedFd,
}

fn getfd(c: &Container, tty: i32, size: Option<(u16, u16)>) -> Result<ConsoleFd, Error> {
    let (rows, cols) = size.unwrap_or((0, 0));
    let bad = |message: String| Error::Command {
        name: c.name().to_string(),
        request: "console".into(),
        message,
        errno: libc::EPROTO,
    };
    let req = body::encode(&(tty, rows, cols)).map_err(|e| bad(e.to_string()))?;
    // The monitor watches the read end: our write end closing (detach, or this process
    // ending) frees the tty.
    let (watch, session) =
        lxc_core::sys::pipe().map_err(|e| client_err(c, "console session pipe", e))?;
    let (b, fds) = c.ext_request("console", req, &[watch.as_fd()])?;
    drop(watch);
    let num: i32 = body::decode(&b).map_err(|e| bad(e.to_string()))?;
    let master = fds
        .into_iter()
        .next()
        .ok_or_else(|| bad("no fd in the answer".into()))?;
    Ok(ConsoleFd {
        master,
        tty: num,
        session,
    })
}

/// Restores a terminal's settings when the attach ends, however it ends.
struct RawGuard<'a> {
    fd: BorrowedFd<'a>,
    old: libc::termios,
}

impl Drop for RawGuard<'_> {
    fn drop(&mut self) {
        let _ = sys::tcsetattr(self.fd, &self.old);
    }
}

fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match sys::write(fd, buf) {
            Ok(0) => return Err(std::io::Error::from_raw_os_error(libc::EIO)),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let _ = sys::poll_in(&[], 10);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// lxc-console's escape handling on one input chunk: the bytes to send, and whether the user
/// asked to detach.
pub fn filter_escape(input: &[u8], escape: i32, saw: &mut bool, out: &mut Vec<u8>) -> bool {
    for &c in input {
        if escape >= 1 {
            if i32::from(c) == escape && !*saw {
                *saw = true;
                continue;
            }
            if c == b'q' && *saw {
                return true;
            }
            *saw = false;
        }
        out.push(c);
    }
    false
}

impl ConsoleExt for Container {
    fn console_getfd(&self, tty: i32) -> Result<ConsoleFd, Error> {
        getfd(self, tty, None)
    }

    fn console(
        &self,
        tty: i32,
        stdin: BorrowedFd<'_>,
        stdout: BorrowedFd<'_>,
        stderr: BorrowedFd<'_>,
        escape: i32,
    ) -> Result<(), Error> {
        let istty = sys::isatty(stdin);
        let size = if istty { sys::winsize(stdin) } else { None };
        let ConsoleFd {
            master,
            tty: num,
            session: _session,
        } = getfd(self, tty, size)?;
        let winch = if istty {
            Some(sys::sigwinch_fd().map_err(|e| client_err(self, "signalfd SIGWINCH", e))?)
        } else {
            None
        };
        if escape >= 1 {
            let e = (b'a' as i32 + escape - 1) as u8 as char;
            let banner = format!(
                "\nConnected to tty {num}\nType <Ctrl+{e} q> to exit the console, \
                 <Ctrl+{e} Ctrl+{e}> to enter Ctrl+{e} itself\n"
            );
            let _ = write_all(stderr, banner.as_bytes());
        }
        let _guard = if istty {
            let old = sys::make_raw(stdin).map_err(|e| client_err(self, "raw mode", e))?;
            Some(RawGuard { fd: stdin, old })
        } else {
            None
        };
        let mut saw = false;
        let mut buf = vec![0u8; 4096];
        let mut out = Vec::with_capacity(4096);
        loop {
            let mut fds = vec![stdin, master.as_fd()];
            if let Some(w) = &winch {
                fds.push(w.as_fd());
            }
            let ready = sys::poll_in(&fds, -1).map_err(|e| client_err(self, "poll", e))?;
            if ready[1] {
                match sys::read(master.as_fd(), &mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => write_all(stdout, &buf[..n])
                        .map_err(|e| client_err(self, "write stdout", e))?,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    // EIO: the tty hung up.
                    Err(_) => return Ok(()),
                }
            }
            if ready[0] {
                let n = match sys::read(stdin, &mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
                    Err(e) => return Err(client_err(self, "read stdin", e)),
                };
                out.clear();
                let detach = filter_escape(&buf[..n], escape, &mut saw, &mut out);
                write_all(master.as_fd(), &out).map_err(|e| client_err(self, "write tty", e))?;
                if detach {
                    return Ok(());
                }
            }
            if ready.get(2).copied().unwrap_or(false) {
                if let Some(w) = &winch {
                    let mut si = [0u8; 128];
                    let _ = sys::read(w.as_fd(), &mut si);
                }
                if let Some((rows, cols)) = sys::winsize(stdin) {
                    let _ = sys::set_winsize(master.as_fd(), rows, cols);
                    if num == 0 {
                        if let Ok(b) = body::encode(&(0i32, rows, cols)) {
                            let _ = self.ext_request("console.winsize", b, &[]);
                        }
                    }
                }
            }
        }
    }
}
