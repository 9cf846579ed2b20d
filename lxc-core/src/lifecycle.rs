//! The container lifecycle API: start (daemonized or in the foreground), execute, stop,
//! shutdown, wait, state, init pid and pidfd.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::commands::{self, LxcMonitor, Request, Response, StateClient};
use crate::container::Container;
use crate::error::{Error, LxcAdvice};
use crate::monitor::{self, StatusPipe};
use crate::phase::StartMode;
use crate::start::StartOptions;
use crate::state::State;
use crate::sys::{self, Exit};

/// How long a client waits for the monitor to answer one request, unless
/// [`Container::set_timeout`] says otherwise.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stop of a container LXC runs waits for LXC's monitor to report it gone.
const LXC_STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a freeze of a container LXC runs waits for the freezer (LXC's own waits forever).
const LXC_FREEZE_TIMEOUT: Duration = Duration::from_secs(30);

/// `set_timeout(None)`, no limit: a deadline no request outlives (136 years).
const NO_LIMIT: Duration = Duration::from_secs(u32::MAX as u64);

pub(crate) fn cmd_err(name: &str, request: &str, e: commands::Error) -> Error {
    // A monitor that closes the connection before answering is on its way out.
    if e.is_not_running() || matches!(e, commands::Error::Closed { .. }) {
        Error::NotRunning {
            name: name.to_string(),
        }
    } else {
        Error::Command {
            name: name.to_string(),
            request: request.to_string(),
            message: e.to_string(),
            errno: e.errno(),
        }
    }
}

/// Which runtime runs a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// lxc-rs's own monitor.
    LxcRs,
    /// LXC's monitor (`lxc-start`, liblxc): lxc-rs controls it through LXC's command socket.
    Lxc(LxcMonitor),
}

impl Runtime {
    /// `"lxc-rs"` or `"lxc"`, as `info --json` and `ls --json` print it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Runtime::LxcRs => "lxc-rs",
            Runtime::Lxc(_) => "lxc",
        }
    }
}

/// LXC's tool for what a request does, for [`Error::RunByLxc`].
fn lxc_tool(req: &Request) -> &'static str {
    match req {
        Request::Stop { .. } | Request::Shutdown => "lxc-stop",
        Request::Reboot => "lxc-stop -r",
        Request::Freeze => "lxc-freeze",
        Request::Unfreeze => "lxc-unfreeze",
        Request::AddStateClient { .. } => "lxc-wait",
        Request::Ext { name, .. } if name.starts_with("cgroup.") => "lxc-cgroup",
        Request::Ext { name, .. } if name.starts_with("console") => "lxc-console",
        _ => "lxc-info",
    }
}

impl Container {
    /// LXC's own monitor of this container, when LXC (not lxc-rs) runs it: found on LXC's
    /// command socket for this lxcpath and name (see [`commands::lxc`]). Never waits long on a
    /// stuck socket.
    pub fn lxc_monitor(&self) -> Option<LxcMonitor> {
        LxcMonitor::find(self.config_path(), self.name())
    }

    /// Refuse what would break a container LXC runs (a second start over its rootfs, destroy,
    /// rename, rewriting its config): the error names LXC's monitor and `lxc-stop`.
    pub fn refuse_if_run_by_lxc(&self) -> Result<(), Error> {
        match self.lxc_monitor() {
            Some(m) => Err(Error::run_by_lxc(&m, "lxc-stop", LxcAdvice::StopFirst)),
            None => Ok(()),
        }
    }

    /// Who runs the container and its state: lxc-rs's monitor, else LXC's; `None` and
    /// STOPPED when neither does.
    pub fn status(&self) -> Result<(State, Option<Runtime>), Error> {
        match self.call_ours(Request::GetState) {
            Ok((Response::State(s), _)) => Ok((s, Some(Runtime::LxcRs))),
            Ok((other, _)) => Err(self.unexpected("GetState", other)),
            Err(Error::NotRunning { .. }) => match self.lxc_monitor() {
                Some(m) => match m.state() {
                    Ok(s) => Ok((s, Some(Runtime::Lxc(m)))),
                    // Gone between the connect and the question: it is stopping.
                    Err(commands::Error::Closed { .. }) => Ok((State::Stopped, None)),
                    Err(e) => Err(Error::Command {
                        name: self.name().to_string(),
                        request: "LXC GET_STATE".into(),
                        message: e.to_string(),
                        errno: e.errno(),
                    }),
                },
                None => Ok((State::Stopped, None)),
            },
            Err(e) => Err(e),
        }
    }

    /// `create`: build the container from a template (`busybox`, or `none` with a config file)
    /// and load its new config into this handle.
    /// Like liblxc, the config is written under the container lock.
    pub fn create(&mut self, opts: &crate::template::CreateOptions) -> Result<(), Error> {
        {
            let _lock = self.lock_config()?;
            crate::template::create(self.config_path(), self.name(), opts)?;
        }
        self.load_config(None)
    }

    /// `destroy`: remove the container's directory, rootfs included. Refused while it runs.
    /// Holds the container lock throughout, as liblxc does, so that no `config set` writes a
    /// config back into a directory being removed.
    pub fn destroy(&self) -> Result<(), Error> {
        let _lock = self.lock_config()?;
        if self.is_running() {
            return Err(Error::AlreadyRunning {
                name: self.name().to_string(),
            });
        }
        self.refuse_if_run_by_lxc()?;
        // LXC's rules: refused while snapshots or dependants exist; the storage goes too.
        crate::manage::destroy_container(self)
    }

    /// A request to the monitor: lxc-rs's, else LXC's own, in LXC's protocol (see
    /// [`commands::lxc`]). A request LXC's monitor has no counterpart for gives
    /// [`Error::RunByLxc`] with LXC's tool for it.
    fn call(&self, req: Request) -> Result<(Response, Vec<OwnedFd>), Error> {
        match self.call_ours(req.clone()) {
            Err(Error::NotRunning { .. }) => match self.lxc_monitor() {
                Some(m) => self.call_lxc(&m, req),
                None => Err(Error::NotRunning {
                    name: self.name().to_string(),
                }),
            },
            r => r,
        }
    }

    /// `req` done on a container LXC's monitor runs, the way liblxc does it.
    fn call_lxc(&self, m: &LxcMonitor, req: Request) -> Result<(Response, Vec<OwnedFd>), Error> {
        let what = match &req {
            Request::Ext { name, .. } => name.clone(),
            other => format!("LXC {}", other.name()),
        };
        let err = |e: commands::Error| cmd_err(self.name(), &what, e);
        let ok = |r: Response| Ok((r, Vec::new()));
        match req {
            Request::GetState => ok(Response::State(m.state().map_err(err)?)),
            Request::GetInitPid => ok(Response::InitPid(m.init_pid().map_err(err)?)),
            Request::GetInitPidfd => Ok((Response::InitPidfd, vec![m.init_pidfd().map_err(err)?])),
            Request::GetConfigItem { key } => {
                ok(Response::ConfigItem(m.config_item(&key).map_err(err)?))
            }
            Request::GetCgroupPaths => ok(Response::CgroupPaths(m.cgroup_dirs().map_err(err)?)),
            Request::Stop { .. } => {
                m.stop(Some(LXC_STOP_TIMEOUT)).map_err(err)?;
                ok(Response::Ok)
            }
            Request::Shutdown => {
                m.signal(m.configured_signal("halt")).map_err(err)?;
                ok(Response::Ok)
            }
            Request::Reboot => {
                m.signal(m.configured_signal("reboot")).map_err(err)?;
                ok(Response::Ok)
            }
            Request::Freeze | Request::Unfreeze => {
                let freeze = matches!(req, Request::Freeze);
                // liblxc leaves a container alone that is already there.
                let frozen = m.state().map_err(err)? == State::Frozen;
                if frozen != freeze {
                    m.freeze(freeze, LXC_FREEZE_TIMEOUT).map_err(err)?;
                }
                ok(Response::Ok)
            }
            Request::Ext { name, body } if name == "cgroup.get" => {
                let key: String =
                    commands::body::decode(&body).map_err(|e| self.body_err(&name, e))?;
                let v = m.cgroup_get(&key).map_err(err)?;
                let b = commands::body::encode(&v).map_err(|e| self.body_err(&name, e))?;
                ok(Response::Ext(b))
            }
            Request::Ext { name, body } if name == "cgroup.set" => {
                let (key, value): (String, String) =
                    commands::body::decode(&body).map_err(|e| self.body_err(&name, e))?;
                m.cgroup_set(&key, &value).map_err(err)?;
                ok(Response::Ext(Vec::new()))
            }
            // LXC's client sets the pty's size itself; its monitor is not told.
            Request::Ext { name, .. } if name == "console.winsize" => ok(Response::Ext(Vec::new())),
            other => Err(Error::run_by_lxc(m, lxc_tool(&other), LxcAdvice::UseTool)),
        }
    }

    /// The timeout of one request to the monitor ([`Container::set_timeout`]).
    fn command_timeout(&self) -> Duration {
        self.timeout().unwrap_or(NO_LIMIT)
    }

    /// `may_control`: whether this process may control the container, as liblxc's
    /// `lxc_try_cmd` answers it: true when no monitor runs it, or when its monitor (lxc-rs's,
    /// or LXC's, which lxc-rs drives through LXC's protocol) answers a request; false only when
    /// the monitor refuses this caller (neither root nor the owner of `<lxcpath>/<name>`).
    pub fn may_control(&self) -> bool {
        let refused = |errno: i32| matches!(errno, libc::EACCES | libc::EPERM);
        match self.call_ours(Request::GetInitPid) {
            Ok(_) => true,
            Err(Error::NotRunning { .. }) => match self.lxc_monitor() {
                None => true,
                Some(m) => !m.init_pid().is_err_and(|e| refused(e.errno())),
            },
            // A monitor that does not behave: liblxc says true, as the caller was not denied.
            Err(e) => !refused(e.errno()),
        }
    }

    /// A request to lxc-rs's monitor only.
    fn call_ours(&self, req: Request) -> Result<(Response, Vec<OwnedFd>), Error> {
        // An extension's request is named by the extension's name (`cgroup.get`).
        let what = match &req {
            Request::Ext { name, .. } => name.clone(),
            other => other.name().to_string(),
        };
        let timeout = self.command_timeout();
        match commands::call(self.config_path(), self.name(), &req, timeout) {
            Ok((Response::Error { message, errno }, _)) => Err(Error::Command {
                name: self.name().to_string(),
                request: what,
                message,
                errno,
            }),
            Ok(r) => Ok(r),
            Err(e) => Err(cmd_err(self.name(), &what, e)),
        }
    }

    fn check_startable(&self, opts: &StartOptions) -> Result<(), Error> {
        // Like lxc-start -f: a config loaded from elsewhere is enough. With none at all, an
        // execute would run its command as root on the host's own filesystem with every
        // capability: refused, as LXC's lxc-execute refuses it.
        if self.config().entries().next().is_none() && !self.defined()? {
            let name = self.name().to_string();
            let lxcpath = self.config_path().to_path_buf();
            return Err(match opts.mode {
                StartMode::Start => Error::NotDefined { name, lxcpath },
                StartMode::Execute => Error::NoConfig { name, lxcpath },
            });
        }
        if self.is_running() {
            return Err(Error::AlreadyRunning {
                name: self.name().to_string(),
            });
        }
        // Same name, same lxcpath, so the same rootfs: a second copy would share it.
        self.refuse_if_run_by_lxc()?;
        // Values that cannot work fail here, naming key and line, before anything is made.
        crate::check::check_startable(self.config(), self.config_file_name())?;
        crate::start::load_hooks(
            self.name(),
            self.config_path(),
            self.config_file_name(),
            self.config(),
            opts.mode,
        )
    }

    /// Start in the background: the monitor is daemonized and this returns once init runs, or
    /// with the reason it could not start (everything made is undone by then).
    ///
    /// Forks this process, so call it before starting other threads (the `lxc-rs` tool does);
    /// a multi-threaded program can run `lxc-rs start` instead.
    pub fn start(&self, opts: &StartOptions) -> Result<(), Error> {
        self.start_with(opts, crate::start::restore::Launch::Clone)
    }

    /// [`start`](Self::start), with the init cloned or handed over by a restorer (CRIU).
    pub fn start_with(
        &self,
        opts: &StartOptions,
        launch: crate::start::restore::Launch,
    ) -> Result<(), Error> {
        self.check_startable(opts)?;
        let name = self.name().to_string();
        let sys_err = |op: &'static str| {
            let name = name.clone();
            move |source: std::io::Error| Error::Sys {
                name: name.clone(),
                op,
                source,
            }
        };
        if sys::thread_count() > 1 {
            tracing::warn!(
                container = self.name(),
                "starting from a multi-threaded process: the monitor is forked from it"
            );
        }
        let (rd, wr) = sys::pipe().map_err(sys_err("pipe"))?;
        match sys::fork().map_err(sys_err("fork"))? {
            Some(pid) => {
                drop(wr);
                // The intermediate child exits as soon as it has forked the monitor.
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
                let mut out = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    match sys::read(rd.as_fd(), &mut buf) {
                        Ok(0) => break,
                        Ok(n) => out.extend_from_slice(&buf[..n]),
                        Err(e) => return Err(sys_err("read start status")(e)),
                    }
                }
                let msg = String::from_utf8_lossy(&out);
                if msg == "OK" {
                    Ok(())
                } else if let Some(m) = msg.strip_prefix("ERR ") {
                    Err(Error::Start {
                        name,
                        message: m.to_string(),
                    })
                } else {
                    Err(Error::Start {
                        name,
                        message: "the monitor exited before reporting".into(),
                    })
                }
            }
            None => {
                drop(rd);
                // Intermediate: a new session, then the monitor as its child, so the monitor
                // is nobody's child but init's (or a subreaper's) and has no terminal.
                if sys::setsid().is_err() {
                    sys::exit_now(1);
                }
                match sys::fork() {
                    Ok(Some(_)) => sys::exit_now(0),
                    Ok(None) => {}
                    Err(_) => sys::exit_now(1),
                }
                let _ = sys::chdir(std::path::Path::new("/"));
                // Nothing of the caller's may live on in the monitor: a lock it holds, or a
                // pipe someone reads to its end, would be held for the container's life (LXC
                // closes them too). Kept: the status pipe, and fds a library registered (log).
                let detached = daemon_stdio().and_then(|()| {
                    use std::os::fd::AsRawFd;
                    crate::fds::close_all_but(&[wr.as_raw_fd()])
                });
                let code = match detached {
                    Ok(()) => {
                        match monitor::run_with(
                            self.name(),
                            self.config_path(),
                            self.config_file_name(),
                            self.config(),
                            opts,
                            Some(StatusPipe(wr)),
                            launch,
                        ) {
                            Ok(exit) => exit.status(),
                            Err(_) => 1,
                        }
                    }
                    Err(e) => {
                        let _ = sys::write_all(wr.as_fd(), format!("ERR stdio: {e}").as_bytes());
                        1
                    }
                };
                sys::exit_now(code)
            }
        }
    }

    /// Start with this process as the monitor, until init exits; returns init's exit.
    ///
    /// With `opts.close_all_fds` (`lxc-start -C`), this process first closes the fds it
    /// inherited through exec (those without close-on-exec). The container's init never gets
    /// any fd of the caller's, with or without it.
    pub fn start_foreground(&self, opts: &StartOptions) -> Result<Exit, Error> {
        self.start_foreground_with(opts, crate::start::restore::Launch::Clone)
    }

    /// [`start_foreground`](Self::start_foreground), with the init cloned or handed over by a
    /// restorer (CRIU).
    pub fn start_foreground_with(
        &self,
        opts: &StartOptions,
        launch: crate::start::restore::Launch,
    ) -> Result<Exit, Error> {
        self.check_startable(opts)?;
        if opts.close_all_fds || self.close_all_fds() {
            match crate::fds::close_inherited() {
                Ok(closed) => {
                    for fd in closed {
                        tracing::info!(container = self.name(), fd, "closed inherited fd");
                    }
                }
                Err(e) => {
                    tracing::warn!(container = self.name(), error = %e, "cannot list inherited fds")
                }
            }
        }
        monitor::run_with(
            self.name(),
            self.config_path(),
            self.config_file_name(),
            self.config(),
            opts,
            None,
            launch,
        )
    }

    /// `lxc-execute`: run `argv` as an application container under a small init, in the
    /// foreground, with this process's stdio; returns the command's exit.
    pub fn execute(&self, argv: &[String]) -> Result<Exit, Error> {
        let opts = StartOptions {
            mode: StartMode::Execute,
            argv: argv.to_vec(),
            inherit_stdio: true,
            close_all_fds: false,
        };
        self.start_foreground(&opts)
    }

    /// Whether lxc-rs's monitor runs the container. A container LXC's own tools run is not
    /// counted (see [`lxc_monitor`](Self::lxc_monitor) and [`status`](Self::status)).
    pub fn is_running(&self) -> bool {
        commands::is_running(self.config_path(), self.name())
    }

    /// The state; STOPPED when no monitor answers, or when asking fails for another reason
    /// (see [`try_state`](Self::try_state) to tell those apart). A container LXC runs is
    /// reported in LXC's state (see [`status`](Self::status) to tell who runs it).
    pub fn state(&self) -> State {
        self.try_state().unwrap_or(State::Stopped)
    }

    /// The state, with an error when the monitor is there but will not answer (e.g. the caller
    /// is neither root nor the container's owner); STOPPED when there is no monitor, neither
    /// ours nor LXC's.
    pub fn try_state(&self) -> Result<State, Error> {
        self.status().map(|(s, _)| s)
    }

    /// The init's pid as the host sees it.
    pub fn init_pid(&self) -> Result<i32, Error> {
        match self.call(Request::GetInitPid)? {
            (Response::InitPid(p), _) => Ok(p),
            (other, _) => Err(self.unexpected("GetInitPid", other)),
        }
    }

    /// A pidfd for the running container's init, from its monitor: usable by any process that
    /// may talk to the monitor, not only the one that started the container.
    pub fn init_pidfd(&self) -> Result<OwnedFd, Error> {
        match self.call(Request::GetInitPidfd)? {
            (Response::InitPidfd, mut fds) if !fds.is_empty() => Ok(fds.remove(0)),
            (other, _) => Err(self.unexpected("GetInitPidfd", other)),
        }
    }

    pub fn get_running_config_item(&self, key: &str) -> Result<String, Error> {
        match self.call(Request::GetConfigItem {
            key: key.to_string(),
        })? {
            (Response::ConfigItem(v), _) => Ok(v),
            (other, _) => Err(self.unexpected("GetConfigItem", other)),
        }
    }

    pub fn cgroup_paths(&self) -> Result<Vec<String>, Error> {
        match self.call(Request::GetCgroupPaths)? {
            (Response::CgroupPaths(v), _) => Ok(v),
            (other, _) => Err(self.unexpected("GetCgroupPaths", other)),
        }
    }

    fn body_err(&self, request: &str, e: crate::phase::CommandError) -> Error {
        Error::Command {
            name: self.name().to_string(),
            request: request.to_string(),
            message: e.message,
            errno: e.errno,
        }
    }

    fn unexpected(&self, request: &str, r: Response) -> Error {
        Error::Command {
            name: self.name().to_string(),
            request: request.to_string(),
            message: format!("unexpected answer {r:?}"),
            errno: libc::EPROTO,
        }
    }

    /// `stop`: kill init at once (`lxc.signal.stop`, SIGKILL by default) and wait until the
    /// container is STOPPED.
    pub fn stop(&self) -> Result<(), Error> {
        self.stop_with(false, Some(Duration::from_secs(30)))
    }

    /// Send the stop signal (`kill`: SIGKILL whatever `lxc.signal.stop` says) and wait.
    pub fn stop_with(&self, kill: bool, timeout: Option<Duration>) -> Result<(), Error> {
        let (mut client, now) = self
            .state_client(&[State::Stopped])
            .map_err(|e| e.with_lxc_tool("lxc-stop"))?;
        if now == State::Stopped {
            return Ok(());
        }
        self.call(Request::Stop { kill })?;
        self.wait_on(&mut client, State::Stopped, timeout)
            .and_then(|ok| {
                if ok {
                    self.wait_gone();
                    Ok(())
                } else {
                    Err(Error::Start {
                        name: self.name().to_string(),
                        message: "did not stop in time".into(),
                    })
                }
            })
    }

    /// After STOPPED, the monitor is on its way out; wait (briefly) until its socket is gone so
    /// that `is_running()` and `destroy()` right after `stop()` see a stopped container.
    fn wait_gone(&self) {
        let until = Instant::now() + Duration::from_secs(2);
        while self.is_running() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// `shutdown`: send `lxc.signal.halt` (SIGPWR by default) and wait up to `timeout` for
    /// STOPPED. Returns false when it did not stop in time (the caller may then `stop`).
    pub fn shutdown(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        let (mut client, now) = self
            .state_client(&[State::Stopped])
            .map_err(|e| e.with_lxc_tool("lxc-stop"))?;
        if now == State::Stopped {
            return Ok(true);
        }
        self.call(Request::Shutdown)?;
        let stopped = self.wait_on(&mut client, State::Stopped, timeout)?;
        if stopped {
            self.wait_gone();
        }
        Ok(stopped)
    }

    /// `freeze`: freeze every process of the container (cgroup freezer); FROZEN when done.
    pub fn freeze(&self) -> Result<(), Error> {
        self.call(Request::Freeze).map(drop)
    }

    /// `unfreeze`: thaw the container; RUNNING again when done.
    pub fn unfreeze(&self) -> Result<(), Error> {
        self.call(Request::Unfreeze).map(drop)
    }

    /// `reboot`: send `lxc.signal.reboot` (SIGINT by default) and return; the monitor starts
    /// the container again when init exits.
    pub fn reboot(&self) -> Result<(), Error> {
        self.call(Request::Reboot).map(drop)
    }

    /// `get_cgroup_item` on a running container (`memory.limit_in_bytes`, `cgroup.procs`, ...).
    pub fn get_cgroup_item(&self, key: &str) -> Result<String, Error> {
        let body = commands::body::encode(&key).map_err(|e| self.body_err("cgroup.get", e))?;
        match self.call(Request::Ext {
            name: "cgroup.get".into(),
            body,
        })? {
            (Response::Ext(b), _) => {
                commands::body::decode(&b).map_err(|e| self.body_err("cgroup.get", e))
            }
            (other, _) => Err(self.unexpected("cgroup.get", other)),
        }
    }

    /// `set_cgroup_item` on a running container.
    pub fn set_cgroup_item(&self, key: &str, value: &str) -> Result<(), Error> {
        let body =
            commands::body::encode(&(key, value)).map_err(|e| self.body_err("cgroup.set", e))?;
        self.call(Request::Ext {
            name: "cgroup.set".into(),
            body,
        })
        .map(drop)
    }

    /// An extension's request (`Request::Ext` named `name`) to this container's monitor, with
    /// `fds` sent along: the answer's body and the fds that came with it. For extension crates
    /// whose requests carry fds both ways (console attach).
    pub fn ext_request(
        &self,
        name: &str,
        body: Vec<u8>,
        fds: &[std::os::fd::BorrowedFd<'_>],
    ) -> Result<(Vec<u8>, Vec<OwnedFd>), Error> {
        let req = Request::Ext {
            name: name.into(),
            body,
        };
        let timeout = self.command_timeout();
        match commands::call_with_fds(self.config_path(), self.name(), &req, fds, timeout) {
            Ok((Response::Ext(b), f)) => Ok((b, f)),
            Ok((Response::Error { message, errno }, _)) => Err(Error::Command {
                name: self.name().to_string(),
                request: name.to_string(),
                message,
                errno,
            }),
            Ok((other, _)) => Err(self.unexpected(name, other)),
            Err(e) if e.is_not_running() => match self.lxc_monitor() {
                Some(m) if name == "console" => {
                    // `(tty, rows, cols)` and the session's watch fd, as the console crate
                    // sends them; LXC's client sizes the pty itself.
                    let (tty, _, _): (i32, u16, u16) = commands::body::decode(match &req {
                        Request::Ext { body, .. } => body,
                        _ => &[],
                    })
                    .map_err(|e| self.body_err(name, e))?;
                    let watch = fds.first().ok_or_else(|| Error::Command {
                        name: self.name().to_string(),
                        request: name.to_string(),
                        message: "no session fd to hold the tty with".into(),
                        errno: libc::EINVAL,
                    })?;
                    let (master, num) = m
                        .tty_session(tty, *watch)
                        .map_err(|e| cmd_err(self.name(), "LXC GET_TTY_FD", e))?;
                    let b = commands::body::encode(&num).map_err(|e| self.body_err(name, e))?;
                    Ok((b, vec![master]))
                }
                Some(m) => match self.call_lxc(&m, req)? {
                    (Response::Ext(b), f) => Ok((b, f)),
                    (other, _) => Err(self.unexpected(name, other)),
                },
                None => Err(cmd_err(self.name(), name, e)),
            },
            Err(e) => Err(cmd_err(self.name(), name, e)),
        }
    }

    /// `lxc-wait -s 'A|B'`: until the container is in one of `states`; the state reached, or
    /// `None` when `timeout` passed. Like LXC's wait, a container that is not running (or whose
    /// monitor goes away) is looked for again until the timeout, so waiting for RUNNING also
    /// catches a start that has not happened yet.
    pub fn wait_any(
        &self,
        states: &[State],
        timeout: Option<Duration>,
    ) -> Result<Option<State>, Error> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        loop {
            let mut client = match self.state_client(states) {
                Ok((_, now)) if states.contains(&now) => return Ok(Some(now)),
                Ok((client, _)) => Some(client),
                Err(Error::NotRunning { .. }) if states.contains(&State::Stopped) => {
                    return Ok(Some(State::Stopped))
                }
                Err(Error::NotRunning { .. }) => None,
                Err(e) => return Err(e),
            };
            if let Some(c) = client.as_mut() {
                loop {
                    if left() == Some(Duration::ZERO) {
                        return Ok(None);
                    }
                    match c.wait(left()) {
                        Ok(Some(s)) if states.contains(&s) => return Ok(Some(s)),
                        // The monitor went away: look for the next one below.
                        Ok(Some(State::Stopped)) => break,
                        Ok(Some(_)) => continue,
                        Ok(None) => return Ok(None),
                        Err(e) => return Err(cmd_err(self.name(), "wait", e)),
                    }
                }
            }
            // Not running: look again shortly, as lxc-wait does.
            let pause = Duration::from_millis(50);
            match left() {
                Some(l) if l.is_zero() => return Ok(None),
                Some(l) => std::thread::sleep(l.min(pause)),
                None => std::thread::sleep(pause),
            }
        }
    }

    /// `wait`: until the container is in `state`, or `timeout` passes (false).
    pub fn wait(&self, state: State, timeout: Option<Duration>) -> Result<bool, Error> {
        self.wait_any(&[state], timeout).map(|s| s.is_some())
    }

    /// Register as a state client of the monitor: the current state now, then one event per
    /// change into one of `states` (see [`StateClient::wait`]).
    pub fn state_client(&self, states: &[State]) -> Result<(StateClient, State), Error> {
        let timeout = self.command_timeout();
        match StateClient::with_timeout(self.config_path(), self.name(), states, timeout) {
            // LXC's monitor tells only the first change (see [`StateClient::lxc`]).
            Err(e) if e.is_not_running() => match self.lxc_monitor() {
                Some(m) => StateClient::lxc(&m, states, false)
                    .map_err(|e| cmd_err(self.name(), "LXC ADD_STATE_CLIENT", e)),
                None => Err(cmd_err(self.name(), "AddStateClient", e)),
            },
            r => r.map_err(|e| cmd_err(self.name(), "AddStateClient", e)),
        }
    }

    fn wait_on(
        &self,
        client: &mut StateClient,
        state: State,
        timeout: Option<Duration>,
    ) -> Result<bool, Error> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return Ok(false);
            }
            match client.wait(left) {
                Ok(Some(s)) if s == state => return Ok(true),
                Ok(Some(_)) => continue,
                Ok(None) => return Ok(false),
                Err(e) => return Err(cmd_err(self.name(), "wait", e)),
            }
        }
    }
}

/// A daemon's stdio is /dev/null: nothing of the caller's terminal or pipes stays open.
fn daemon_stdio() -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    for fd in 0..3 {
        sys::dup2(null.as_raw_fd(), fd)?;
    }
    Ok(())
}
