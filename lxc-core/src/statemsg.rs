//! LXC's state-change broadcast, the one `lxc-monitor` listens to, on both of its ends.
//!
//! Facts from LXC 5.0.2 (`monitor.{c,h}`, `cmd/lxc_monitord.c`, `tools/lxc_monitor.c`):
//!
//! - **Publishers**: every container's monitor writes one `struct lxc_msg { int type; char
//!   name[NAME_MAX + 1]; int value; }` (264 bytes, host layout) per state change to the FIFO
//!   `<rundir>/lxc/<lxcpath>/monitor-fifo` (the lxcpath appended as a string, so an absolute
//!   one gives `//`), opened write-only and non-blocking: no reader (ENXIO) or no FIFO
//!   (ENOENT) means nobody listens, and nothing is sent. Types: 0 state (value: the state's
//!   number, the order of [`State`]), 2 exit code (value: init's wait status).
//! - **Relay** (`lxc-monitord`): makes the FIFO (mode 0600, directories 0755), opens it
//!   read-write, and takes a write lock on it (F_SETLK): whoever holds the lock is the one
//!   relay of that lxcpath. It listens on the abstract stream socket
//!   `\0lxc/<fnv1a64("lxc/<lxcpath>/monitor-sock") as %016x>/<lxcpath>` (at most 105 bytes
//!   after the NUL), accepts peers that are root or its own euid, copies every message read
//!   from the FIFO to every client, quits on a client's `quit`, and exits once it has no
//!   clients and nothing happened for 30 s. It unlinks the FIFO when it exits.
//! - **Subscribers** (`lxc-monitor`): start a relay (a second one finds the lock taken and
//!   leaves), connect (retrying after 10, 50, 100 ms on ECONNREFUSED), read whole messages,
//!   and print those whose name matches the POSIX extended regex `^NAME$` (the filtering is
//!   the subscriber's: `lxc-rs monitor`).
//!
//! lxc-rs's relay is LXC's protocol exactly, so either project's relay serves the other's
//! publishers and subscribers: `lxc-monitor` sees lxc-rs containers, `lxc-rs monitor` sees
//! LXC's.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::commands::{fnv1a_64, sys as net};
use crate::error::{Error, Result};
use crate::state::State;
use crate::sys::{self, Exit};

/// `NAME_MAX + 1`: the name field of `struct lxc_msg`, NUL-terminated.
pub const NAME_LEN: usize = 256;
/// `sizeof(struct lxc_msg)`: two ints around the name.
pub const MSG_LEN: usize = 4 + NAME_LEN + 4;

const MSG_STATE: i32 = 0;
const MSG_EXIT_CODE: i32 = 2;

/// How long a relay without clients waits for something to happen before it exits (LXC's).
const RELAY_IDLE: Duration = Duration::from_secs(30);
/// LXC's connect retries while the relay it just started is not listening yet.
const CONNECT_BACKOFF_MS: [u64; 3] = [10, 50, 100];

/// One `struct lxc_msg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A container changed state.
    State { name: String, state: State },
    /// A container's init exited with this wait status (`WEXITSTATUS` is what LXC prints).
    ExitCode { name: String, status: i32 },
    /// A type or state number this version does not know (lxc-monitor ignores unknown types).
    Other { kind: i32, name: String, value: i32 },
}

impl Message {
    pub fn name(&self) -> &str {
        match self {
            Message::State { name, .. }
            | Message::ExitCode { name, .. }
            | Message::Other { name, .. } => name,
        }
    }

    /// The wire form: host-endian ints, the name cut to 255 bytes and NUL-padded (LXC's
    /// strlcpy).
    pub fn to_bytes(&self) -> [u8; MSG_LEN] {
        let (kind, value) = match self {
            Message::State { state, .. } => (MSG_STATE, state_number(*state)),
            Message::ExitCode { status, .. } => (MSG_EXIT_CODE, *status),
            Message::Other { kind, value, .. } => (*kind, *value),
        };
        let mut b = [0u8; MSG_LEN];
        b[..4].copy_from_slice(&kind.to_ne_bytes());
        let name = self.name().as_bytes();
        let n = name.len().min(NAME_LEN - 1);
        b[4..4 + n].copy_from_slice(&name[..n]);
        b[4 + NAME_LEN..].copy_from_slice(&value.to_ne_bytes());
        b
    }

    pub fn from_bytes(b: &[u8; MSG_LEN]) -> Message {
        let int = |at: usize| i32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let (kind, value) = (int(0), int(4 + NAME_LEN));
        let field = &b[4..4 + NAME_LEN];
        let end = field.iter().position(|&c| c == 0).unwrap_or(NAME_LEN - 1);
        let name = String::from_utf8_lossy(&field[..end]).into_owned();
        let state = usize::try_from(value)
            .ok()
            .and_then(|i| State::ALL.get(i).copied());
        match (kind, state) {
            (MSG_STATE, Some(state)) => Message::State { name, state },
            (MSG_EXIT_CODE, _) => Message::ExitCode {
                name,
                status: value,
            },
            _ => Message::Other { kind, name, value },
        }
    }

    /// lxc-monitor's line for the message, or `None` for one it does not print.
    pub fn lxc_monitor_line(&self) -> Option<String> {
        match self {
            Message::State { name, state } => Some(format!("'{name}' changed state to [{state}]")),
            Message::ExitCode { name, status } => Some(format!(
                "'{name}' exited with status [{}]",
                (status >> 8) & 0xff
            )),
            Message::Other { .. } => None,
        }
    }
}

/// A state's number in LXC's `lxc_state_t`, which [`State::ALL`] lists in order.
fn state_number(s: State) -> i32 {
    State::ALL.iter().position(|&x| x == s).unwrap_or(0) as i32
}

/// `<rundir>/lxc/<lxcpath>`, byte for byte as LXC builds it.
fn fifo_dir(lxcpath: &Path) -> io::Result<PathBuf> {
    let mut b = crate::lock::rundir()?.as_bytes().to_vec();
    b.extend_from_slice(b"/lxc/");
    b.extend_from_slice(lxcpath.as_os_str().as_bytes());
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(&b)))
}

/// The FIFO the containers of `lxcpath` publish their state changes to.
pub fn fifo_path(lxcpath: &Path) -> io::Result<PathBuf> {
    let mut b = fifo_dir(lxcpath)?.into_os_string().into_vec_bytes();
    b.extend_from_slice(b"/monitor-fifo");
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(&b)))
}

/// `into_vec` for an OsString without naming the unix extension trait at every use.
trait IntoVecBytes {
    fn into_vec_bytes(self) -> Vec<u8>;
}

impl IntoVecBytes for std::ffi::OsString {
    fn into_vec_bytes(self) -> Vec<u8> {
        std::os::unix::ffi::OsStringExt::into_vec(self)
    }
}

/// The relay's abstract socket name for `lxcpath`, leading NUL included.
pub fn socket_name(lxcpath: &Path) -> Result<Vec<u8>> {
    let lp = lxcpath.as_os_str().as_bytes();
    let mut key = b"lxc/".to_vec();
    key.extend_from_slice(lp);
    key.extend_from_slice(b"/monitor-sock");
    let mut name = format!("\0lxc/{:016x}/", fnv1a_64(&key)).into_bytes();
    name.extend_from_slice(lp);
    // LXC formats into 107 bytes of sun_path with its terminating NUL, and fails when the
    // name does not fit (so a very long lxcpath has no monitor in LXC either).
    if name.len() > 106 {
        return Err(Error::io(
            "name the monitor socket of",
            lxcpath,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the lxcpath is too long for LXC's monitor socket name (at most 84 bytes)",
            ),
        ));
    }
    Ok(name)
}

/// Send `msg` to the relay of `lxcpath`, if one runs. Never blocks and never fails the
/// caller (a monitor): without a relay nobody listens, and a full FIFO drops the message
/// rather than stall a container's monitor on a stuck relay.
pub fn publish(lxcpath: &Path, msg: &Message) {
    let Ok(path) = fifo_path(lxcpath) else { return };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path);
    let file = match file {
        Ok(f) => f,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENXIO | libc::ENOENT)) => return,
        Err(e) => {
            tracing::warn!(fifo = %path.display(), error = %e, "cannot open the monitor FIFO");
            return;
        }
    };
    // At most PIPE_BUF bytes: the kernel writes it whole or not at all. A relay gone since the
    // open is EPIPE here (Rust programs ignore SIGPIPE; the monitor is one).
    match sys::write_some(file.as_raw_fd(), &msg.to_bytes()) {
        Ok(MSG_LEN) => {}
        Ok(n) => tracing::warn!(fifo = %path.display(), n, "short write to the monitor FIFO"),
        Err(e) => {
            tracing::warn!(fifo = %path.display(), error = %e, "state change not relayed")
        }
    }
}

/// Publish a state change of container `name`.
pub fn publish_state(lxcpath: &Path, name: &str, state: State) {
    publish(
        lxcpath,
        &Message::State {
            name: name.to_string(),
            state,
        },
    );
}

/// Publish how init ended, as the wait status LXC sends.
pub fn publish_exit(lxcpath: &Path, name: &str, exit: Exit) {
    let status = match exit {
        Exit::Code(c) => (c & 0xff) << 8,
        Exit::Signal(s) => s & 0x7f,
    };
    publish(
        lxcpath,
        &Message::ExitCode {
            name: name.to_string(),
            status,
        },
    );
}

/// A connection to the relay of an lxcpath: the messages of every container there.
#[derive(Debug)]
pub struct Subscriber {
    fd: OwnedFd,
    lxcpath: PathBuf,
}

impl Subscriber {
    /// Connect to the relay of `lxcpath` (it must run: see [`spawn_relay`]).
    pub fn connect(lxcpath: &Path) -> Result<Subscriber> {
        let name = socket_name(lxcpath)?;
        let mut backoff = CONNECT_BACKOFF_MS.iter();
        loop {
            let fd = net::stream_socket(false)
                .map_err(|e| Error::io("create a socket for the monitor of", lxcpath, e))?;
            match net::connect_abstract(fd.as_fd(), &name) {
                Ok(()) => {
                    return Ok(Subscriber {
                        fd,
                        lxcpath: lxcpath.to_path_buf(),
                    })
                }
                Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => match backoff.next() {
                    Some(ms) => std::thread::sleep(Duration::from_millis(*ms)),
                    None => return Err(Error::io("connect to the monitor of", lxcpath, e)),
                },
                Err(e) => return Err(Error::io("connect to the monitor of", lxcpath, e)),
            }
        }
    }

    /// The next message, waiting for it; `None` when the relay went away.
    pub fn recv(&self) -> Result<Option<Message>> {
        let mut buf = [0u8; MSG_LEN];
        let mut got = 0;
        while got < MSG_LEN {
            let n = sys::read(self.fd.as_fd(), &mut buf[got..])
                .map_err(|e| Error::io("read from the monitor of", &self.lxcpath, e))?;
            if n == 0 {
                return Ok(None);
            }
            got += n;
        }
        Ok(Some(Message::from_bytes(&buf)))
    }

    /// Ask the relay to quit (`lxc-monitor -Q`).
    pub fn send_quit(&self) -> Result<()> {
        sys::write_all(self.fd.as_fd(), b"quit")
            .map_err(|e| Error::io("ask to quit the monitor of", &self.lxcpath, e))
    }
}

impl AsFd for Subscriber {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Start the relay of `lxcpath` in the background, as `lxc-monitor` starts `lxc-monitord`,
/// and return once it listens (or found another relay there, LXC's or ours). The relay is a
/// double-forked daemon of this process, not an exec, so call this from a single-threaded
/// process (the `lxc-rs` tool is one).
pub fn spawn_relay(lxcpath: &Path) -> Result<()> {
    if sys::thread_count() > 1 {
        tracing::warn!("starting the monitor relay from a multi-threaded process: it is forked");
    }
    let sys_err = |op: &'static str| move |e: io::Error| Error::io(op, lxcpath, e);
    let (rd, wr) = sys::pipe().map_err(sys_err("make the relay's pipe for"))?;
    match sys::fork().map_err(sys_err("fork the relay of"))? {
        Some(pid) => {
            drop(wr);
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            // A byte once it listens, or end of file when it left (another relay runs).
            let mut b = [0u8; 1];
            let _ = sys::read(rd.as_fd(), &mut b);
            Ok(())
        }
        None => {
            drop(rd);
            match sys::fork() {
                Ok(Some(_)) => sys::exit_now(0),
                Ok(None) => {
                    let _ = sys::setsid();
                    let mut keep = vec![wr.as_raw_fd()];
                    keep.extend(crate::fds::registered());
                    if sys::keep_only(&keep).is_err() {
                        sys::exit_now(1);
                    }
                    let title = format!("[lxc-rs monitord] {}", lxcpath.display());
                    let _ = crate::monitor::set_process_title(&title);
                    let code = match run_relay(lxcpath, RelayMode::Idle, Some(wr)) {
                        Ok(()) => 0,
                        Err(e) => {
                            tracing::error!(error = %e, "monitor relay failed");
                            1
                        }
                    };
                    sys::exit_now(code)
                }
                Err(_) => sys::exit_now(1),
            }
        }
    }
}

/// Whether a relay with no clients stays (`lxc-monitord --daemon`) or leaves after 30 idle
/// seconds (the relay `lxc-monitor` starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayMode {
    Persistent,
    Idle,
}

/// Be the relay of `lxcpath` in this process until told to quit (or idle, see [`RelayMode`]).
/// `ready` gets one byte once the relay listens. Returns at once, with `Ok`, when another
/// relay holds the FIFO's lock.
pub fn run_relay(lxcpath: &Path, mode: RelayMode, ready: Option<OwnedFd>) -> Result<()> {
    let Some(mut relay) = Relay::open(lxcpath)? else {
        tracing::debug!(lxcpath = %lxcpath.display(), "a monitor relay runs already");
        return Ok(());
    };
    if let Some(fd) = ready {
        let _ = sys::write_all(fd.as_fd(), b"S");
    }
    let r = relay.serve(mode);
    let _ = std::fs::remove_file(&relay.fifo_path);
    r
}

struct Relay {
    lxcpath: PathBuf,
    fifo_path: PathBuf,
    fifo: OwnedFd,
    listener: OwnedFd,
    clients: Vec<OwnedFd>,
}

impl Relay {
    /// The FIFO, locked, and the listening socket; `None` when another relay holds the lock.
    fn open(lxcpath: &Path) -> Result<Option<Relay>> {
        let dir =
            fifo_dir(lxcpath).map_err(|e| Error::io("find the run directory for", lxcpath, e))?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&dir)
            .map_err(|e| Error::io("create the monitor FIFO's directory", &dir, e))?;
        let fifo_path =
            fifo_path(lxcpath).map_err(|e| Error::io("name the FIFO of", lxcpath, e))?;
        match nix::unistd::mkfifo(
            &fifo_path,
            nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
        ) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(Error::io("create the monitor FIFO", &fifo_path, e.into())),
        }
        // Read-write: the FIFO never reports end of file while publishers come and go.
        let fifo: OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(&fifo_path)
            .map_err(|e| Error::io("open the monitor FIFO", &fifo_path, e))?
            .into();
        // An OFD lock conflicts with LXC's F_SETLK lock on the same file: one relay per lxcpath,
        // whoever's it is.
        if let Err(e) = sys::ofd_write_lock(fifo.as_fd(), false) {
            if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) {
                return Ok(None);
            }
            return Err(Error::io("lock the monitor FIFO", &fifo_path, e));
        }
        let name = socket_name(lxcpath)?;
        let sock_err = |op, e| Error::io(op, shown(&name), e);
        let listener =
            net::stream_socket(true).map_err(|e| sock_err("create the monitor socket", e))?;
        net::bind_abstract(listener.as_fd(), &name)
            .map_err(|e| sock_err("bind the monitor socket", e))?;
        net::listen(listener.as_fd(), 128)
            .map_err(|e| sock_err("listen on the monitor socket", e))?;
        tracing::info!(lxcpath = %lxcpath.display(), socket = %shown(&name).display(), "monitor relay listening");
        Ok(Some(Relay {
            lxcpath: lxcpath.to_path_buf(),
            fifo_path,
            fifo,
            listener,
            clients: Vec::new(),
        }))
    }

    fn serve(&mut self, mode: RelayMode) -> Result<()> {
        let timeout = match mode {
            RelayMode::Persistent => -1,
            RelayMode::Idle => RELAY_IDLE.as_millis() as i32,
        };
        loop {
            let mut pfds: Vec<libc::pollfd> = [&self.fifo, &self.listener]
                .into_iter()
                .chain(self.clients.iter())
                .map(|fd| libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let ready = sys::poll(&mut pfds, timeout)
                .map_err(|e| Error::io("wait on the monitor FIFO", &self.fifo_path, e))?;
            if ready == 0 {
                if self.clients.is_empty() {
                    tracing::info!(lxcpath = %self.lxcpath.display(), "no clients left: relay exits");
                    return Ok(());
                }
                continue;
            }
            if pfds[0].revents != 0 {
                self.relay_messages();
            }
            if pfds[1].revents != 0 {
                self.accept();
            }
            // Clients last, from the end, so that removing one keeps the others' indices.
            for i in (2..pfds.len()).rev() {
                if pfds[i].revents == 0 {
                    continue;
                }
                let mut buf = [0u8; 4];
                match sys::read(self.clients[i - 2].as_fd(), &mut buf) {
                    Ok(4) if &buf == b"quit" => {
                        tracing::info!(lxcpath = %self.lxcpath.display(), "told to quit");
                        return Ok(());
                    }
                    Ok(0) | Err(_) => {
                        self.clients.remove(i - 2);
                    }
                    Ok(_) => {}
                }
            }
        }
    }

    /// Copy every whole message waiting in the FIFO to every client; a client that cannot take
    /// one at once is dropped rather than stall the others.
    fn relay_messages(&mut self) {
        let mut buf = [0u8; MSG_LEN];
        loop {
            match sys::read(self.fifo.as_fd(), &mut buf) {
                Ok(MSG_LEN) => {}
                Ok(n) => {
                    tracing::warn!(n, "partial message in the monitor FIFO, dropped");
                    return;
                }
                Err(e) => {
                    if e.kind() != io::ErrorKind::WouldBlock {
                        tracing::warn!(error = %e, "cannot read the monitor FIFO");
                    }
                    return;
                }
            }
            self.clients.retain(|c| match send_now(c.as_fd(), &buf) {
                Ok(()) => true,
                Err(e) => {
                    tracing::info!(error = %e, "monitor client dropped");
                    false
                }
            });
        }
    }

    fn accept(&mut self) {
        let euid = nix::unistd::geteuid().as_raw();
        loop {
            let c = match net::accept(self.listener.as_fd()) {
                Ok(Some(c)) => c,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "accept on the monitor socket");
                    return;
                }
            };
            match net::peer_cred(c.as_fd()) {
                Ok(cred) if cred.uid == 0 || cred.uid == euid => self.clients.push(c),
                Ok(cred) => tracing::warn!(uid = cred.uid, "monitor client refused"),
                Err(e) => tracing::warn!(error = %e, "no credentials on a monitor client"),
            }
        }
    }
}

/// One whole message to a client, without waiting and without SIGPIPE.
fn send_now(fd: BorrowedFd<'_>, buf: &[u8; MSG_LEN]) -> io::Result<()> {
    let flags = nix::sys::socket::MsgFlags::MSG_DONTWAIT | nix::sys::socket::MsgFlags::MSG_NOSIGNAL;
    match nix::sys::socket::send(fd.as_raw_fd(), buf, flags) {
        Ok(MSG_LEN) => Ok(()),
        Ok(n) => Err(io::Error::other(format!("sent {n} of {MSG_LEN} bytes"))),
        Err(e) => Err(e.into()),
    }
}

/// An abstract name as a path for error messages (`@lxc/...`).
fn shown(name: &[u8]) -> PathBuf {
    let rest = name.strip_prefix(b"\0").unwrap_or(name);
    let mut b = b"@".to_vec();
    b.extend_from_slice(rest);
    PathBuf::from(std::ffi::OsStr::from_bytes(&b))
}

/// Ask the relay of `lxcpath` to quit (`lxc-monitor -Q`).
pub fn quit_relay(lxcpath: &Path) -> Result<()> {
    Subscriber::connect(lxcpath)?.send_quit()
}

/// The raw fd of a subscriber, for a caller's own poll over several lxcpaths.
impl AsRawFd for Subscriber {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout_is_lxcs() {
        let m = Message::State {
            name: "web".into(),
            state: State::Frozen,
        };
        let b = m.to_bytes();
        assert_eq!(b.len(), 264);
        assert_eq!(&b[..4], &0i32.to_ne_bytes());
        assert_eq!(&b[4..8], b"web\0");
        assert_eq!(&b[260..], &6i32.to_ne_bytes());
        assert_eq!(Message::from_bytes(&b), m);
        let long = "x".repeat(300);
        let cut = Message::from_bytes(
            &Message::ExitCode {
                name: long,
                status: 9,
            }
            .to_bytes(),
        );
        assert_eq!(cut.name().len(), 255);
    }

    #[test]
    fn lines_are_lxc_monitors() {
        let s = Message::State {
            name: "c1".into(),
            state: State::Running,
        };
        assert_eq!(
            s.lxc_monitor_line().unwrap(),
            "'c1' changed state to [RUNNING]"
        );
        let e = Message::ExitCode {
            name: "c1".into(),
            status: 3 << 8,
        };
        assert_eq!(e.lxc_monitor_line().unwrap(), "'c1' exited with status [3]");
        // A signal's status has no exit code: LXC prints 0.
        let k = Message::ExitCode {
            name: "c1".into(),
            status: 9,
        };
        assert_eq!(k.lxc_monitor_line().unwrap(), "'c1' exited with status [0]");
    }

    #[test]
    fn names_are_lxcs() {
        let lp = Path::new("/var/lib/lxc");
        let n = socket_name(lp).unwrap();
        let hash = fnv1a_64(b"lxc//var/lib/lxc/monitor-sock");
        assert_eq!(n, format!("\0lxc/{hash:016x}//var/lib/lxc").into_bytes());
        assert!(socket_name(Path::new(&format!("/{}", "a".repeat(100)))).is_err());
        let f = fifo_path(lp).unwrap();
        assert!(
            f.to_string_lossy()
                .ends_with("/lxc//var/lib/lxc/monitor-fifo"),
            "{f:?}"
        );
    }
}
