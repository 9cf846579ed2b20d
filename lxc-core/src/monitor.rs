//! The monitor: the one long-lived process of ours per container. It runs the start sequence,
//! then serves the command socket while init runs, and cleans up when init exits.
//!
//! It is single-threaded on purpose: the container's first process is cloned from it and runs
//! Rust code before exec, which is only safe without other threads.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::commands::{
    self, Conn, Event, Incoming, LxcClients, LxcHost, LxcServer, Parked, Request, Response, Server,
};
use crate::config::Config;
use crate::error::Error;
use crate::phase::{
    CgroupHandle, CommandCtx, CommandError, ContainerCgroupOps, HookCtx, Phase, StartMode,
    StateMap, UndoStack,
};
use crate::reactor::{FdHandler, MonitorHandlers, Next, ReactorCtx};
use crate::registry;
use crate::start::restore::Launch;
use crate::start::{self, spec, StartOptions, Started, Target};
use crate::state::State;
use crate::sys::{self, Exit};

/// Reported to the caller of a daemonized start once the container runs (or failed).
pub struct StatusPipe(pub OwnedFd);

impl StatusPipe {
    fn report(self, result: &Result<(), Error>) {
        let msg = match result {
            Ok(()) => "OK".to_string(),
            Err(e) => format!("ERR {e}"),
        };
        let _ = sys::write_all(self.0.as_fd(), msg.as_bytes());
    }
}

/// What becomes of a connection after a request.
enum After {
    Keep,
    Close,
    /// It registered as a state client for these states.
    Waiter(Vec<State>),
}

struct Monitor<'a> {
    t: Target<'a>,
    opts: StartOptions,
    /// A reboot was asked for (or init died the way a reboot inside the container ends it).
    rebooting: bool,
    mode: StartMode,
    state: State,
    pid: i32,
    pidfd: OwnedFd,
    /// None once the container stopped: new clients must see it gone before the state
    /// clients hear STOPPED.
    server: Option<Server>,
    /// LXC's command socket for the same container (LXC's tools talk to it), gone with
    /// `server`.
    lxc: Option<LxcServer>,
    /// LXC's state clients and held `STOP` connections.
    lxc_clients: LxcClients,
    conns: Vec<Conn>,
    waiters: Vec<(Conn, Vec<State>)>,
    /// Fd handlers of subsystems for the current init.
    handlers: Vec<Box<dyn FdHandler>>,
    /// The listener is not polled until then: accept failed for want of fds.
    accept_paused: Option<Instant>,
    undo: UndoStack,
    statemap: StateMap,
    /// The watchdog's end of our socket pair, and its pidfd.
    watchdog: Option<(OwnedFd, Option<OwnedFd>)>,
    /// Started in the background (`status` given): the watchdog comes before the caller's OK.
    daemonized: bool,
    /// When to fork the watchdog, if not yet ([`WATCHDOG_DELAY`]).
    watchdog_due: Option<Instant>,
    /// Released watchdogs, reaped at the next fork of one (they exit on their own).
    released: Vec<OwnedFd>,
    /// A signal for init held until init catches it, and until when to hold it.
    pending: Option<(i32, std::time::Instant)>,
}

/// How long a foreground monitor (`execute`, `start -F`) runs before it forks its watchdog.
/// A daemonised monitor forks it before `start` returns; a foreground one's caller waits for it
/// anyway, and most foreground runs are short commands that would pay the fork and the release
/// (~0.3 ms) for nothing. A monitor killed within this time leaves its cgroups (decision 95).
const WATCHDOG_DELAY: Duration = Duration::from_millis(50);

/// How long a signal is held for an init that does not catch it yet.
const PENDING_SIGNAL_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Connections waiting for (or in the middle of) a request. When a new one comes beyond
/// this, the one served longest ago goes: a flood of idle peers cannot lock clients out.
pub const MAX_CLIENTS: usize = 256;
/// State clients (`wait`, `reboot2`) at once; more are refused with an error.
pub const MAX_STATE_CLIENTS: usize = 512;
/// Connections accepted per loop turn, so a flood cannot keep the loop from its other work.
const ACCEPT_BATCH: usize = 64;
/// How long the listener rests after accept ran out of fds and nothing could be freed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Whether `pid` takes `sig`: it has a handler (SigCgt), blocks it (SigBlk), or sits in
/// sigtimedwait (busybox's init and execute's small init wait for their signals that way; the
/// kernel shows the waited-for signals as unblocked meanwhile).
fn init_catches(pid: i32, sig: i32) -> bool {
    let waiting = std::fs::read_to_string(format!("/proc/{pid}/wchan"))
        .is_ok_and(|w| w.contains("sigtimedwait"));
    if waiting {
        return true;
    }
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    let mask = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    };
    match (mask("SigCgt:"), mask("SigBlk:")) {
        (Some(caught), Some(blocked)) => {
            (1..=64).contains(&sig) && (caught | blocked) & (1u64 << (sig - 1)) != 0
        }
        _ => true,
    }
}

/// Whether the kernel takes `sig` as a signal number (1..=SIGRTMAX).
fn valid_signal(sig: i32) -> bool {
    (1..=libc::SIGRTMAX()).contains(&sig)
}

/// The error answer for a configured signal the kernel would refuse, sent at once rather than
/// held for an init that could never catch it.
fn invalid_signal(sig: i32, key: &str) -> Option<Response> {
    (!valid_signal(sig)).then(|| {
        Response::error(
            libc::EINVAL,
            format!(
                "{key} = {sig}: not a signal (expected 1..={})",
                libc::SIGRTMAX()
            ),
        )
    })
}

/// Run a container in this process as its monitor, until init exits. `status` (daemon mode)
/// gets "OK" once init runs, or the error.
pub fn run(
    name: &str,
    lxcpath: &Path,
    config_file: &Path,
    config: &Config,
    opts: &StartOptions,
    status: Option<StatusPipe>,
) -> Result<Exit, Error> {
    run_with(
        name,
        lxcpath,
        config_file,
        config,
        opts,
        status,
        Launch::Clone,
    )
}

/// [`run`], with the init cloned or handed over by a restorer ([`Launch`]).
pub fn run_with(
    name: &str,
    lxcpath: &Path,
    config_file: &Path,
    config: &Config,
    opts: &StartOptions,
    status: Option<StatusPipe>,
    launch: Launch,
) -> Result<Exit, Error> {
    let owner_uid = std::fs::metadata(lxcpath.join(name))
        .map(|m| m.uid())
        .unwrap_or(0);
    let server = match Server::bind(lxcpath, name, owner_uid) {
        Ok(s) => s,
        Err(e) => {
            let err = if e.is_already_running() {
                Error::AlreadyRunning {
                    name: name.to_string(),
                }
            } else {
                Error::Command {
                    name: name.to_string(),
                    request: "bind".into(),
                    message: e.to_string(),
                    errno: e.errno(),
                }
            };
            let r = Err(err);
            if let Some(s) = status {
                s.report(&r);
            }
            return r.map(|()| Exit::Code(1));
        }
    };
    // LXC's tools find a running container on LXC's own socket name: listen there too. Taken
    // means LXC's monitor runs this container already.
    let lxc = match LxcServer::bind(lxcpath, name) {
        Ok(l) => Some(l),
        // Anyone can bind an abstract name: a squatter LXC would not trust is not LXC's
        // monitor, and does not stop this start (LXC's tools just do not see it).
        Err(e) if e.is_already_running() && commands::LxcMonitor::find(lxcpath, name).is_none() => {
            tracing::warn!(container = name, error = %e,
                "LXC's command socket name is taken by a process that is not LXC's monitor: \
                 LXC's tools will not see this container");
            None
        }
        Err(e) => {
            let err = if e.is_already_running() {
                Error::AlreadyRunning {
                    name: name.to_string(),
                }
            } else {
                Error::Command {
                    name: name.to_string(),
                    request: "bind LXC's command socket".into(),
                    message: e.to_string(),
                    errno: e.errno(),
                }
            };
            drop(server);
            let r = Err(err);
            if let Some(s) = status {
                s.report(&r);
            }
            return r.map(|()| Exit::Code(1));
        }
    };
    if status.is_some() {
        // As LXC's daemonized monitor: `ps` and scripts find `[lxc monitor] LXCPATH NAME`.
        let title = format!("[lxc monitor] {} {name}", lxcpath.display());
        if let Err(e) = set_process_title(&title) {
            tracing::info!(error = %e, title, "cannot set the monitor's process title");
        }
    }
    let t = Target {
        name,
        lxcpath,
        config_file: config_file.to_path_buf(),
        config,
    };
    crate::statemsg::publish_state(lxcpath, name, State::Starting);
    let started = {
        let _span = tracing::info_span!("start", container = name).entered();
        match launch {
            Launch::Clone => start::start(&t, opts),
            Launch::Restore(mut r) => start::restore::restore(&t, opts, r.as_mut()),
        }
    };
    let Started {
        pid,
        pidfd,
        undo,
        state: statemap,
    } = match started {
        Ok(s) => s,
        Err(e) => {
            // Gone before the caller hears of the failure: a client that asks right after
            // must find no monitor, not one on its way out.
            drop(lxc);
            drop(server);
            crate::statemsg::publish_state(lxcpath, name, State::Stopped);
            let r = Err(e);
            if let Some(s) = status {
                s.report(&r);
            }
            return r.map(|()| Exit::Code(1));
        }
    };
    tracing::info!(container = name, pid, "container running");
    let mut m = Monitor {
        t,
        opts: opts.clone(),
        rebooting: false,
        mode: opts.mode,
        state: State::Running,
        pid,
        pidfd,
        server: Some(server),
        lxc,
        lxc_clients: LxcClients::default(),
        conns: Vec::new(),
        waiters: Vec::new(),
        handlers: Vec::new(),
        accept_paused: None,
        undo,
        statemap,
        watchdog: None,
        daemonized: status.is_some(),
        watchdog_due: None,
        released: Vec::new(),
        pending: None,
    };
    if let Err(e) = m.enter_running() {
        m.abort_running();
        crate::statemsg::publish_state(lxcpath, name, State::Stopped);
        let r = Err(e);
        if let Some(s) = status {
            s.report(&r);
        }
        return r.map(|()| Exit::Code(1));
    }
    m.arm_watchdog(m.daemonized);
    // Before the caller hears OK: a `monitor` watching it sees RUNNING before `start` returns.
    crate::statemsg::publish_state(lxcpath, name, State::Running);
    if let Some(s) = status {
        s.report(&Ok(()));
    }
    loop {
        let running = crate::timing::phase("Running");
        let exit = m.serve();
        drop(running);
        // A reboot from inside a pid namespace ends its init with SIGHUP (reboot(2)).
        let reboot = m.rebooting || exit == Exit::Signal(libc::SIGHUP);
        if reboot {
            match m.restart() {
                Ok(()) => continue,
                Err(e) => {
                    tracing::error!(container = m.t.name, error = %e, "reboot failed");
                    // The cause goes to whoever waits on the reboot, not only to the log.
                    let failed = Event::Failed {
                        message: e.to_string(),
                    };
                    m.waiters.retain_mut(|(c, _)| c.send_event(&failed).is_ok());
                    m.server = None;
                    m.lxc = None;
                    m.set_state(State::Stopped);
                    return Err(e);
                }
            }
        }
        return Ok(m.stop(exit));
    }
}

impl Monitor<'_> {
    /// The watchdog at once (a daemonised monitor, before its caller hears OK), or after
    /// [`WATCHDOG_DELAY`] if init still runs then (the serve loop forks it).
    fn arm_watchdog(&mut self, now: bool) {
        if now {
            self.watchdog = self.spawn_watchdog();
        } else {
            self.watchdog_due = Some(Instant::now() + WATCHDOG_DELAY);
        }
    }

    /// A process that outlives a killed monitor just long enough to remove what the start
    /// made (cgroups). It holds a copy of the undo stack and waits on a socket pair: a byte
    /// means the monitor cleaned up itself; end of file without one means the monitor died.
    /// It first says it has closed its copies of our fds ([`release_watchdog`]).
    ///
    /// Forked once the start's work is done, from a trimmed heap: every page the two share
    /// counts once on the host, and every page either writes afterwards counts twice, so
    /// neither allocates more than it must after the fork (with a thousand containers this
    /// is most of their host memory; docs/decisions.md).
    fn spawn_watchdog(&mut self) -> Option<(OwnedFd, Option<OwnedFd>)> {
        self.watchdog_due = None;
        for old in self.released.drain(..) {
            let _ = sys::pidfd_wait(old.as_fd(), false);
        }
        let (rd, wr) = sys::seqpacket_pair().ok()?;
        // Not to be taken for the monitor, whose title a fork copies.
        let title = format!(
            "[lxc-rs cleanup] {} {}",
            self.t.lxcpath.display(),
            self.t.name
        );
        use std::os::fd::AsRawFd;
        // Our own pidfd of init for the watchdog (the monitor's is closed there), and the fds
        // it keeps, made here: its end of the pair, that pidfd and the log. The listening
        // socket must not stay open there, or clients would see a monitor that is not there;
        // and off the caller's stdio, so that a pipe reading our output sees its end when the
        // monitor exits, not when the watchdog does.
        let init = sys::pidfd_open(self.pid).ok();
        let mut keep = vec![rd.as_raw_fd()];
        keep.extend(init.as_ref().map(|p| p.as_raw_fd()));
        keep.extend(crate::fds::registered());
        sys::trim_heap();
        match sys::fork() {
            Ok(Some(pid)) => {
                drop(rd);
                drop(init);
                let pidfd = sys::pidfd_open(pid)
                    .map_err(|e| tracing::warn!(error = %e, "cannot track the cleanup watchdog"))
                    .ok();
                Some((wr, pidfd))
            }
            Ok(None) => {
                drop(wr);
                let mut buf = [0u8; 1];
                let _ = sys::prctl(libc::PR_SET_NAME, c"lxc-rs cleanup".as_ptr() as u64);
                let _ = set_process_title(&title);
                if sys::keep_only(&keep).is_err() {
                    sys::exit_now(1);
                }
                let _ = sys::write_all(rd.as_fd(), b"r");
                let n = sys::read(rd.as_fd(), &mut buf).unwrap_or(0);
                if n == 0 {
                    self.clean_up_after_death(init.as_ref());
                }
                sys::exit_now(0)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the cleanup watchdog");
                None
            }
        }
    }

    /// Tell the watchdog the monitor cleans up itself. Until it has said it closed its copies
    /// of our fds, it holds the command socket among them: wait for that word, so that nobody
    /// finds this container's socket after STOPPED. Its exit is not waited for (it follows at
    /// once; the next fork of a watchdog, or whoever reaps this process, reaps it).
    fn release_watchdog(&mut self) {
        self.watchdog_due = None;
        if let Some((sock, pidfd)) = self.watchdog.take() {
            let mut word = [0u8; 1];
            let _ = sys::read(sock.as_fd(), &mut word);
            let _ = sys::write_all(sock.as_fd(), b"1");
            self.released.extend(pidfd);
        }
    }

    /// The watchdog's work once the monitor died. A frozen container acts on no signal, not
    /// even the parent-death SIGKILL its init got, and its cgroups could never be removed:
    /// thaw it first (whether the monitor froze it after this copy was made is not known here;
    /// thawing a running one changes nothing). Then kill init (its parent-death signal is gone
    /// if it changed its uid), wait for it, and remove what the start made.
    fn clean_up_after_death(&mut self, init: Option<&OwnedFd>) {
        if let Err(e) = self.with_cgroup(|c| c.thaw()) {
            tracing::debug!(error = %e, "cleanup: no thaw");
        }
        if let Some(p) = init {
            let _ = sys::pidfd_send_signal(p.as_fd(), libc::SIGKILL);
            // Readable once init is dead; its pid namespace dies with it.
            let _ = sys::poll_readable(&[p.as_fd()], 10_000);
        }
        // Give the kernel a moment to empty the cgroups (their removal retries a while too).
        std::thread::sleep(std::time::Duration::from_millis(20));
        self.undo.unwind();
    }

    fn set_state(&mut self, s: State) {
        if self.state == s {
            return;
        }
        tracing::info!(container = self.t.name, state = %s, "state change");
        self.state = s;
        // LXC's monitor announces STOPPING once init has exited: see `stop` and `restart`.
        if s != State::Stopping {
            crate::statemsg::publish_state(self.t.lxcpath, self.t.name, s);
        }
        self.lxc_clients.notify(self.t.name, s);
        self.waiters.retain_mut(|(c, states)| {
            if states.contains(&s) {
                c.send_event(&Event::State(s)).is_ok()
            } else {
                true
            }
        });
    }

    /// Init runs: take over the fd handlers the start's hooks added and run the `Running`
    /// hooks. An error fails the start (see `abort_running`).
    fn enter_running(&mut self) -> Result<(), Error> {
        let added = self
            .statemap
            .remove::<MonitorHandlers>()
            .map(|h| h.0)
            .unwrap_or_default();
        self.handlers.extend(added);
        let mut ctx = HookCtx {
            name: self.t.name,
            lxcpath: self.t.lxcpath.to_path_buf(),
            config_file: self.t.config_file.clone(),
            config: self.t.config,
            phase: Phase::Running,
            mode: self.mode,
            init_pid: Some(self.pid),
            undo: &mut self.undo,
            state: &mut self.statemap,
        };
        for (owner, hook) in registry::hooks_for(Phase::Running) {
            tracing::debug!(owner, "Running hook");
            (hook.run)(&mut ctx)?;
        }
        // A Running hook may add handlers too.
        if let Some(h) = self.statemap.remove::<MonitorHandlers>() {
            self.handlers.extend(h.0);
        }
        Ok(())
    }

    /// A start failed after init was cloned: kill it, wait for it, and undo the start.
    fn abort_running(&mut self) {
        let _ = self.send(libc::SIGKILL);
        let _ = sys::pidfd_wait(self.pidfd.as_fd(), false);
        self.teardown("stop");
        self.server = None;
        self.lxc = None;
    }

    /// Serve requests until init exits; returns how it exited.
    fn serve(&mut self) -> Exit {
        loop {
            let now = Instant::now();
            // Stalled and idle connections go first: they must never hold a place for long.
            self.conns.retain(|c| {
                let keep = c.deadline() > now;
                if !keep {
                    tracing::debug!(
                        peer = c.peer(),
                        "dropping a stalled or idle command connection"
                    );
                }
                keep
            });
            if self.accept_paused.is_some_and(|t| now >= t) {
                self.accept_paused = None;
            }
            if self.watchdog_due.is_some_and(|t| now >= t) {
                self.watchdog = self.spawn_watchdog();
            }
            let Some(server) = self.server.as_ref() else {
                return Exit::Code(1);
            };
            let pfd = |fd: i32, events: i16| libc::pollfd {
                fd,
                events,
                revents: 0,
            };
            let mut pfds =
                Vec::with_capacity(2 + self.conns.len() + self.waiters.len() + self.handlers.len());
            pfds.push(pfd(self.pidfd.as_raw_fd(), libc::POLLIN));
            // A negative fd is skipped by poll: the listener while accepting rests.
            let listener = if self.accept_paused.is_some() {
                -1
            } else {
                server.as_raw_fd()
            };
            pfds.push(pfd(listener, libc::POLLIN));
            for c in &self.conns {
                let ev = if c.wants_write() {
                    libc::POLLOUT
                } else {
                    libc::POLLIN
                };
                pfds.push(pfd(c.as_raw_fd(), ev));
            }
            for (c, _) in &self.waiters {
                pfds.push(pfd(c.as_raw_fd(), libc::POLLIN));
            }
            for h in &self.handlers {
                pfds.push(pfd(h.fd().as_raw_fd(), libc::POLLIN));
            }
            let (n_conns, n_waiters, n_handlers) =
                (self.conns.len(), self.waiters.len(), self.handlers.len());
            // LXC's socket: its listener, its unanswered connections, its parked clients.
            let lbase = pfds.len();
            let lxc_conns = self.lxc.as_ref().map(|l| l.conn_fds()).unwrap_or_default();
            let lxc_parked = self.lxc_clients.fds();
            pfds.push(pfd(
                self.lxc.as_ref().map_or(-1, |l| l.as_raw_fd()),
                libc::POLLIN,
            ));
            for fd in lxc_conns.iter().chain(&lxc_parked) {
                pfds.push(pfd(*fd, libc::POLLIN));
            }
            let mut wake: Option<Instant> = self.conns.iter().map(Conn::deadline).min();
            if let Some(t) = self.lxc.as_ref().and_then(LxcServer::deadline) {
                wake = Some(wake.map_or(t, |w| w.min(t)));
            }
            let mut earliest = |t: Instant| wake = Some(wake.map_or(t, |w| w.min(t)));
            if self.pending.is_some() {
                earliest(now + Duration::from_millis(20));
            }
            if let Some(t) = self.accept_paused {
                earliest(t);
            }
            if let Some(t) = self.watchdog_due {
                earliest(t);
            }
            let timeout = wake.map_or(-1, |w| {
                let ms = w.saturating_duration_since(now).as_micros().div_ceil(1000);
                i32::try_from(ms).unwrap_or(i32::MAX)
            });
            if let Err(e) = sys::poll(&mut pfds, timeout) {
                tracing::error!(error = %e, "poll failed");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            let ready = |i: usize| pfds.get(i).is_some_and(|p| p.revents != 0);
            if ready(0) {
                match sys::pidfd_wait(self.pidfd.as_fd(), true) {
                    Ok(Some(exit)) => return exit,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "waitid on init failed");
                        return Exit::Code(1);
                    }
                }
            }
            self.flush_pending();
            // Hung-up state clients first (a state client only ever reads; readable means it
            // hung up): handling a request below may change the state and drop waiters, after
            // which these indices would no longer be right.
            let wbase = 2 + n_conns;
            let mut i = 0;
            self.waiters.retain(|_| {
                let hung_up = i < n_waiters && ready(wbase + i);
                i += 1;
                !hung_up
            });
            // Fd handlers before requests: what they learn (a console client gone, say) is
            // known to a request of the same turn.
            let hbase = wbase + n_waiters;
            let handlers = std::mem::take(&mut self.handlers);
            for (i, h) in handlers.into_iter().enumerate() {
                if i < n_handlers && ready(hbase + i) {
                    self.run_handler(h);
                } else {
                    self.handlers.push(h);
                }
            }
            // Connections accepted below sit after the first n_conns.
            let conns = std::mem::take(&mut self.conns);
            for (i, c) in conns.into_iter().enumerate() {
                if i < n_conns && ready(2 + i) {
                    self.serve_conn(c);
                } else {
                    self.conns.push(c);
                }
            }
            if ready(1) {
                self.accept_all();
            }
            let pbase = lbase + 1 + lxc_conns.len();
            let parked_ready: Vec<bool> = (0..lxc_parked.len()).map(|i| ready(pbase + i)).collect();
            self.lxc_clients.drop_hung_up(&parked_ready);
            if let Some(mut l) = self.lxc.take() {
                l.expire(Instant::now());
                let conns_ready: Vec<bool> =
                    (0..lxc_conns.len()).map(|i| ready(lbase + 1 + i)).collect();
                l.serve(self, &conns_ready, ready(lbase));
                // A request may have stopped the container's socket meanwhile.
                if self.server.is_some() {
                    self.lxc = Some(l);
                }
            }
        }
    }

    /// A handler's fd is ready: call it, then carry out what it asked for.
    fn run_handler(&mut self, mut h: Box<dyn FdHandler>) {
        let mut ctx = ReactorCtx::new(
            self.t.name,
            self.t.config,
            self.pid,
            &mut self.statemap,
            self.state,
        );
        let next = h.ready(&mut ctx);
        let (state, events) = ctx.into_effects();
        if next == Next::Keep {
            self.handlers.push(h);
        } else {
            tracing::debug!(handler = h.name(), "fd handler done");
        }
        for e in &events {
            self.broadcast(e);
        }
        if let Some(s) = state {
            self.set_state(s);
        }
    }

    /// Send an event to every state client; drop those that cannot take it.
    fn broadcast(&mut self, e: &Event) {
        self.waiters.retain_mut(|(c, _)| c.send_event(e).is_ok());
    }

    /// A connection is ready: finish its response, or read and answer what it sent.
    fn serve_conn(&mut self, mut c: Conn) {
        if c.wants_write() {
            match c.flush() {
                Ok(_) => self.conns.push(c),
                Err(e) => tracing::debug!(error = %e, "dropping a command connection"),
            }
            return;
        }
        match c.try_request() {
            Ok(Incoming::Request(req, fds)) => match self.handle(&mut c, req, fds) {
                After::Keep => self.conns.push(c),
                After::Close => {}
                After::Waiter(states) => self.waiters.push((c, states)),
            },
            Ok(Incoming::Partial) => self.conns.push(c),
            Ok(Incoming::Closed) => {}
            Err(e) => tracing::debug!(error = %e, "dropping a command connection"),
        }
    }

    /// Make room for one connection: drop the one served longest ago. False if there is none.
    fn evict_oldest(&mut self) -> bool {
        let Some((i, _)) = self
            .conns
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.last_active())
        else {
            return false;
        };
        let c = self.conns.swap_remove(i);
        tracing::debug!(
            peer = c.peer(),
            "dropping the oldest command connection for a new one"
        );
        true
    }

    fn accept_all(&mut self) {
        for _ in 0..ACCEPT_BATCH {
            if self.conns.len() >= MAX_CLIENTS {
                self.evict_oldest();
            }
            let Some(server) = self.server.as_ref() else {
                return;
            };
            match server.accept() {
                // A client's request is usually there already: answer it before anything can
                // push it out.
                Ok(Some(c)) => self.serve_conn(c),
                Ok(None) => return,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    if !self.evict_oldest() {
                        tracing::warn!(error = %e, "out of file descriptors: not accepting for a while");
                        self.accept_paused = Some(Instant::now() + ACCEPT_BACKOFF);
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "refused a command client");
                    return;
                }
            }
        }
    }

    /// Answer one request on a connection, and say what becomes of it.
    fn handle(&mut self, conn: &mut Conn, req: Request, fds_in: Vec<OwnedFd>) -> After {
        let peer_uid = conn.peer_uid();
        let _span = tracing::debug_span!("request", request = req.name()).entered();
        let (resp, fds) = match req {
            Request::AddStateClient { .. } if self.waiters.len() >= MAX_STATE_CLIENTS => (
                Response::error(
                    libc::EAGAIN,
                    format!("too many state clients (at most {MAX_STATE_CLIENTS})"),
                ),
                Vec::new(),
            ),
            Request::AddStateClient { states } => {
                let resp = Response::State(self.state);
                // The state must reach it whole before any event does.
                return match conn.queue_response(&resp, Vec::new()) {
                    Ok(true) => After::Waiter(states),
                    _ => After::Close,
                };
            }
            req => self.answer(req, peer_uid, fds_in),
        };
        match conn.queue_response(&resp, fds) {
            Ok(_) => After::Keep,
            Err(e) => {
                tracing::debug!(error = %e, "cannot answer a command client");
                After::Close
            }
        }
    }

    /// The answer to a request that does not make its connection a state client, and the
    /// fds that go with it (lxc-rs's socket and LXC's both come here).
    fn answer(
        &mut self,
        req: Request,
        peer_uid: u32,
        fds_in: Vec<OwnedFd>,
    ) -> (Response, Vec<OwnedFd>) {
        let mut fds: Vec<OwnedFd> = Vec::new();
        let resp = match req {
            Request::GetState => Response::State(self.state),
            Request::GetInitPid => Response::InitPid(self.pid),
            Request::GetInitPidfd => match sys::pidfd_open(self.pid) {
                Ok(fd) => {
                    fds.push(fd);
                    Response::InitPidfd
                }
                Err(e) => Response::error(
                    e.raw_os_error().unwrap_or(libc::EIO),
                    format!("pidfd_open({}): {e}", self.pid),
                ),
            },
            Request::Stop { kill } => {
                let mut sig = if kill {
                    libc::SIGKILL
                } else {
                    spec::configured_signal(self.t.config, "stop")
                };
                if !valid_signal(sig) {
                    // A stop must stop: like lxc-stop's fallback, kill instead.
                    tracing::warn!(
                        container = self.t.name,
                        sig,
                        "lxc.signal.stop is not a signal this kernel can send: killing with \
                         SIGKILL instead"
                    );
                    sig = libc::SIGKILL;
                }
                if self.state == State::Frozen {
                    // Frozen tasks do not act on signals, not even SIGKILL, until thawed.
                    let _ = self.with_cgroup(|c| c.thaw());
                }
                self.rebooting = false;
                self.set_state(State::Stopping);
                self.signal(sig)
            }
            Request::Freeze => {
                self.set_state(State::Freezing);
                match self.with_cgroup(|c| c.freeze()) {
                    Ok(_) => {
                        self.set_state(State::Frozen);
                        Response::Ok
                    }
                    Err(m) => {
                        self.set_state(State::Running);
                        Response::error(m.errno, m.message)
                    }
                }
            }
            Request::Unfreeze => match self.with_cgroup(|c| c.thaw()) {
                Ok(_) => {
                    self.set_state(State::Thawed);
                    self.set_state(State::Running);
                    Response::Ok
                }
                Err(m) => Response::error(m.errno, m.message),
            },
            Request::Reboot => {
                let sig = spec::configured_signal(self.t.config, "reboot");
                match invalid_signal(sig, "lxc.signal.reboot") {
                    Some(r) => r,
                    None => {
                        self.rebooting = true;
                        self.signal(sig)
                    }
                }
            }
            Request::Shutdown => {
                let sig = spec::configured_signal(self.t.config, "halt");
                match invalid_signal(sig, "lxc.signal.halt") {
                    Some(r) => r,
                    None => self.signal(sig),
                }
            }
            Request::GetConfigItem { key } => match self.t.config.get(&key) {
                Ok(v) => Response::ConfigItem(v),
                Err(e) => Response::error(e.errno(), e.to_string()),
            },
            Request::AddStateClient { .. } => Response::error(
                libc::EINVAL,
                "a state client registers on its own connection",
            ),
            Request::GetCgroupPaths => Response::CgroupPaths(
                self.statemap
                    .get::<CgroupHandle>()
                    .map(|h| {
                        h.0.paths()
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            Request::Ext { name, body } => match self.ext_call_body(peer_uid, &name, &body, fds_in)
            {
                Ok((b, f)) => {
                    fds = f;
                    Response::Ext(b)
                }
                Err(m) => Response::error(m.errno, m.message),
            },
        };
        (resp, fds)
    }

    /// Run a request handler an extension or subsystem registered (by name).
    fn ext_call_body(
        &mut self,
        peer_uid: u32,
        name: &str,
        body: &[u8],
        fds_in: Vec<OwnedFd>,
    ) -> Result<(Vec<u8>, Vec<OwnedFd>), CommandError> {
        let Some((_, def)) = registry::command(name) else {
            return Err(CommandError::new(
                libc::EOPNOTSUPP,
                format!("no extension in this build answers {name:?}"),
            ));
        };
        let mut ctx = CommandCtx {
            name: self.t.name,
            init_pid: Some(self.pid),
            peer_uid,
            config: self.t.config,
            state: &mut self.statemap,
            fds_in,
            fds_out: Vec::new(),
        };
        let r = (def.handler)(&mut ctx, body);
        let fds_out = std::mem::take(&mut ctx.fds_out);
        // A request may add fd handlers (an attached console client's input).
        if let Some(h) = self.statemap.remove::<MonitorHandlers>() {
            self.handlers.extend(h.0);
        }
        r.map(|b| (b, fds_out))
    }

    /// Run `op` on the container's cgroups (the driver's [`CgroupHandle`]).
    fn with_cgroup(
        &self,
        op: impl FnOnce(&dyn ContainerCgroupOps) -> Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        match self.statemap.get::<CgroupHandle>() {
            Some(h) => op(h.0.as_ref()),
            None => Err(CommandError::new(
                libc::ESRCH,
                format!("{}: no cgroup (container not running)", self.t.name),
            )),
        }
    }

    /// Signal init. A pid namespace's init ignores signals it has no handler for, and a fresh
    /// init (right after a start or reboot) may not have installed its handlers yet: such a
    /// signal is held and sent once init catches it (see `flush_pending`), rather than lost.
    fn signal(&mut self, sig: i32) -> Response {
        if sig != libc::SIGKILL && !init_catches(self.pid, sig) {
            tracing::debug!(
                pid = self.pid,
                sig,
                "init does not catch the signal yet: holding it"
            );
            self.pending = Some((sig, std::time::Instant::now() + PENDING_SIGNAL_WAIT));
            return Response::Ok;
        }
        self.pending = None;
        self.send(sig)
    }

    /// Send a held signal once init catches it (or, after `PENDING_SIGNAL_WAIT`, anyway).
    fn flush_pending(&mut self) {
        let Some((sig, until)) = self.pending else {
            return;
        };
        if init_catches(self.pid, sig) || std::time::Instant::now() >= until {
            self.pending = None;
            let _ = self.send(sig);
        }
    }

    fn send(&self, sig: i32) -> Response {
        match sys::pidfd_send_signal(self.pidfd.as_fd(), sig) {
            Ok(()) => Response::Ok,
            Err(e) => Response::error(
                e.raw_os_error().unwrap_or(libc::EIO),
                format!("signal {sig} to init {}: {e}", self.pid),
            ),
        }
    }

    /// Init exited for a reboot: clean up like a stop, keep the command socket and the state
    /// clients, and run the start sequence again.
    fn restart(&mut self) -> Result<(), Error> {
        tracing::info!(container = self.t.name, "rebooting");
        crate::statemsg::publish_state(self.t.lxcpath, self.t.name, State::Stopping);
        self.set_state(State::Stopping);
        self.teardown("reboot");
        self.set_state(State::Starting);
        self.rebooting = false;
        self.pending = None;
        let started = {
            let _span = tracing::info_span!("start", container = self.t.name).entered();
            start::start(&self.t, &self.opts)?
        };
        self.pid = started.pid;
        self.pidfd = started.pidfd;
        self.undo = started.undo;
        self.statemap = started.state;
        if let Err(e) = self.enter_running() {
            self.abort_running();
            return Err(e);
        }
        self.arm_watchdog(self.daemonized);
        self.set_state(State::Running);
        Ok(())
    }

    /// Stop phase: subsystem hooks, the stop hook, undo what the start made, post-stop hook,
    /// and release the watchdog.
    fn teardown(&mut self, target: &str) {
        let _t = crate::timing::phase("Stop");
        // Their fds (subsystem sockets, ptys) close before what they belong to goes.
        self.handlers.clear();
        // The monitor cleans up itself from here: release the watchdog first, so it is not
        // sitting in a cgroup (the monitor's own) that the undo below removes.
        self.release_watchdog();

        let mut undo = self.undo.take();
        let env = crate::hooks::HookEnv {
            target: Some(target),
        };
        {
            let mut ctx = HookCtx {
                name: self.t.name,
                lxcpath: self.t.lxcpath.to_path_buf(),
                config_file: self.t.config_file.clone(),
                config: self.t.config,
                phase: Phase::Stop,
                mode: self.mode,
                init_pid: Some(self.pid),
                undo: &mut undo,
                state: &mut self.statemap,
            };
            for (owner, hook) in registry::hooks_for(Phase::Stop) {
                if let Err(e) = (hook.run)(&mut ctx) {
                    tracing::warn!(owner, error = %e, "stop hook failed");
                }
            }
            if let Err(e) = crate::hooks::run_with(&ctx, "stop", env) {
                tracing::warn!(error = %e, "stop hook failed");
            }
        }
        undo.unwind();
        {
            let mut none = UndoStack::default();
            let ctx = HookCtx {
                name: self.t.name,
                lxcpath: self.t.lxcpath.to_path_buf(),
                config_file: self.t.config_file.clone(),
                config: self.t.config,
                phase: Phase::Stop,
                mode: self.mode,
                init_pid: None,
                undo: &mut none,
                state: &mut self.statemap,
            };
            if let Err(e) = crate::hooks::run_with(&ctx, "post-stop", env) {
                tracing::warn!(error = %e, "post-stop hook failed");
            }
        }
    }

    /// Init exited for good: tear down and tell the state clients.
    fn stop(mut self, exit: Exit) -> Exit {
        tracing::info!(container = self.t.name, ?exit, "init exited");
        crate::statemsg::publish_exit(self.t.lxcpath, self.t.name, exit);
        crate::statemsg::publish_state(self.t.lxcpath, self.t.name, State::Stopping);
        self.set_state(State::Stopping);
        self.teardown("stop");
        self.server = None;
        self.lxc = None;
        crate::manage::ephemeral_stop(self.t.config, self.t.lxcpath, self.t.name);
        self.set_state(State::Stopped);
        exit
    }
}

impl LxcHost for Monitor<'_> {
    fn name(&self) -> &str {
        self.t.name
    }

    fn lxcpath(&self) -> &Path {
        self.t.lxcpath
    }

    fn state(&self) -> State {
        self.state
    }

    fn init_pid(&self) -> i32 {
        self.pid
    }

    fn call(
        &mut self,
        req: Request,
        peer_uid: u32,
        fds_in: Vec<OwnedFd>,
    ) -> (Response, Vec<OwnedFd>) {
        self.answer(req, peer_uid, fds_in)
    }

    fn set_state(&mut self, s: State) {
        Monitor::set_state(self, s);
    }

    fn park(&mut self, p: Parked) {
        self.lxc_clients.push(p);
    }

    fn parked(&self) -> usize {
        self.lxc_clients.len()
    }
}

/// The state of a container as its monitor reports it (STOPPED when none answers).
pub fn state_of(lxcpath: &Path, name: &str) -> State {
    match commands::call(
        lxcpath,
        name,
        &Request::GetState,
        std::time::Duration::from_secs(5),
    ) {
        Ok((Response::State(s), _)) => s,
        _ => State::Stopped,
    }
}

/// The kernel's `struct prctl_mm_map` (include/uapi/linux/prctl.h).
#[repr(C)]
struct PrctlMmMap {
    start_code: u64,
    end_code: u64,
    start_data: u64,
    end_data: u64,
    start_brk: u64,
    brk: u64,
    start_stack: u64,
    arg_start: u64,
    arg_end: u64,
    env_start: u64,
    env_end: u64,
    auxv: u64,
    auxv_size: u32,
    exe_fd: u32,
}

/// Show `title` as this process's command line (`/proc/PID/cmdline`, `ps -o args`), as LXC's
/// `setproctitle` does: the kernel is pointed at a new buffer holding the title, with
/// PR_SET_MM_MAP (needs CAP_SYS_RESOURCE), since the original argv area may be shorter than
/// the title. The process name (`comm`) stays. Only this process and children forked after it
/// show the title; an exec replaces it.
pub fn set_process_title(title: &str) -> std::io::Result<()> {
    use std::io::{Error as IoError, ErrorKind};
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name in parentheses, which may itself hold spaces: the first
    // one here is field 3 of proc(5).
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| IoError::new(ErrorKind::InvalidData, "/proc/self/stat: no ')'"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> std::io::Result<u64> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| {
                IoError::new(
                    ErrorKind::InvalidData,
                    format!("/proc/self/stat: field {n}"),
                )
            })
    };
    let mut buf = title.as_bytes().to_vec();
    buf.retain(|&b| b != 0);
    buf.push(0);
    // The kernel reads the title from here for the rest of the process's life.
    let buf: &'static mut [u8] = Box::leak(buf.into_boxed_slice());
    let arg_start = buf.as_ptr() as u64;
    let map = PrctlMmMap {
        start_code: field(26)?,
        end_code: field(27)?,
        start_stack: field(28)?,
        start_data: field(45)?,
        end_data: field(46)?,
        start_brk: field(47)?,
        // SAFETY: brk(0) changes nothing and returns the current program break.
        brk: unsafe { libc::syscall(libc::SYS_brk, 0u64) } as u64,
        arg_start,
        arg_end: arg_start + buf.len() as u64,
        env_start: field(50)?,
        env_end: field(51)?,
        auxv: 0,
        auxv_size: 0,
        exe_fd: u32::MAX,
    };
    // SAFETY: the kernel reads `size_of::<PrctlMmMap>()` bytes from `map`, which lives across
    // the call; the addresses in it are this process's own (its title buffer is leaked above).
    let ret = unsafe {
        libc::prctl(
            libc::PR_SET_MM,
            libc::PR_SET_MM_MAP as libc::c_ulong,
            &map as *const PrctlMmMap as libc::c_ulong,
            std::mem::size_of::<PrctlMmMap>() as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
