//! The command socket over real sockets: a small monitor-like poll loop on a thread serves
//! the requests; clients are this process, raw sockets, and a copy of this test binary
//! running as another uid.
//!
//! Abstract sockets leave nothing on disk; every name is `lxcrs-t-...` under a per-process
//! lxcpath `/tmp/lxcrs-t-cmd-<pid>-<n>` that is never created.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::Duration;

use lxc_core::commands::{
    self, call, is_running, socket_name, Conn, Event, Request, Response, Server, StateClient,
    MAX_BODY,
};
use lxc_core::State;
use nix::poll::{PollFd, PollFlags, PollTimeout};

const T: Duration = Duration::from_secs(5);

// ---- log capture: the server's warnings are part of what is tested ----

static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        let mut f = Fields(format!("{} ", e.metadata().level()));
        e.record(&mut f);
        LOGS.lock().unwrap().push(f.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn capture_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing::subscriber::set_global_default(Capture).unwrap();
    });
}

fn logged(needle: &str) -> bool {
    LOGS.lock().unwrap().iter().any(|l| l.contains(needle))
}

// ---- a monitor stand-in ----

fn unique() -> (PathBuf, String) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    (
        PathBuf::from(format!("/tmp/lxcrs-t-cmd-{pid}-{n}")),
        format!("lxcrs-t-{pid}-{n}"),
    )
}

#[derive(Default)]
struct Seen {
    /// (peer pid, peer uid, request)
    requests: Vec<(i32, u32, Request)>,
    errors: Vec<String>,
}

struct TestServer {
    lxcpath: PathBuf,
    name: String,
    ctl: UnixStream,
    seen: Arc<Mutex<Seen>>,
    thread: Option<JoinHandle<()>>,
}

const QUIT: u8 = 0xff;

impl TestServer {
    fn start(owner_uid: u32, init_pid: i32) -> TestServer {
        capture_logs();
        let (lxcpath, name) = unique();
        let server = Server::bind(&lxcpath, &name, owner_uid).unwrap();
        let (ctl, ctl_rx) = UnixStream::pair().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let seen2 = seen.clone();
        let thread = std::thread::spawn(move || serve(server, ctl_rx, seen2, init_pid));
        TestServer {
            lxcpath,
            name,
            ctl,
            seen,
            thread: Some(thread),
        }
    }

    fn event(&mut self, s: State) {
        let i = State::ALL.iter().position(|x| *x == s).unwrap() as u8;
        self.ctl.write_all(&[i]).unwrap();
    }

    fn call(&self, req: &Request) -> Result<(Response, Vec<OwnedFd>), commands::Error> {
        call(&self.lxcpath, &self.name, req, T)
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from_abstract_name(&socket_name(&self.lxcpath, &self.name)[1..]).unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.ctl.write_all(&[QUIT]);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

struct Client {
    conn: Conn,
    states: Option<Vec<State>>,
}

fn serve(server: Server, mut ctl: UnixStream, seen: Arc<Mutex<Seen>>, init_pid: i32) {
    let mut clients: Vec<Client> = Vec::new();
    loop {
        let ready: Vec<bool> = {
            let mut pfds = vec![
                PollFd::new(server.as_fd(), PollFlags::POLLIN),
                PollFd::new(ctl.as_fd(), PollFlags::POLLIN),
            ];
            pfds.extend(
                clients
                    .iter()
                    .map(|c| PollFd::new(c.conn.as_fd(), PollFlags::POLLIN)),
            );
            nix::poll::poll(&mut pfds, PollTimeout::NONE).unwrap();
            pfds.iter()
                .map(|p| !p.revents().unwrap_or(PollFlags::empty()).is_empty())
                .collect()
        };
        // By index from the end, so a removal does not shift the ones still to come; events
        // and new connections after, for the same reason.
        for i in (0..clients.len()).rev() {
            if !ready[2 + i] {
                continue;
            }
            let keep = match clients[i].conn.read_request() {
                Ok(None) => false,
                Err(e) => {
                    seen.lock().unwrap().errors.push(e.to_string());
                    false
                }
                Ok(Some(req)) => {
                    let c = &mut clients[i];
                    seen.lock().unwrap().requests.push((
                        c.conn.peer_pid(),
                        c.conn.peer_uid(),
                        req.clone(),
                    ));
                    answer(c, req, init_pid)
                }
            };
            if !keep {
                clients.remove(i);
            }
        }
        if ready[1] {
            let mut b = [0u8];
            if ctl.read(&mut b).unwrap() == 0 || b[0] == QUIT {
                return;
            }
            let s = State::ALL[b[0] as usize];
            clients.retain_mut(|c| match &c.states {
                Some(states) if states.contains(&s) => c.conn.send_event(&Event::State(s)).is_ok(),
                _ => true,
            });
        }
        if ready[0] {
            while let Some(conn) = server.accept().unwrap() {
                clients.push(Client { conn, states: None });
            }
        }
    }
}

/// Answer one request; returns whether to keep the connection.
fn answer(c: &mut Client, req: Request, init_pid: i32) -> bool {
    let mut fds: Vec<OwnedFd> = Vec::new();
    let resp = match req {
        Request::GetState => Response::State(State::Running),
        Request::GetInitPid => Response::InitPid(init_pid),
        Request::GetInitPidfd => {
            fds.push(pidfd_open(init_pid));
            Response::InitPidfd
        }
        Request::Stop { .. }
        | Request::Shutdown
        | Request::Freeze
        | Request::Unfreeze
        | Request::Reboot => Response::Ok,
        Request::GetConfigItem { key } => Response::ConfigItem(format!("value of {key}")),
        Request::AddStateClient { states } => {
            c.states = Some(states);
            Response::State(State::Running)
        }
        Request::GetCgroupPaths => Response::CgroupPaths(vec![
            "/sys/fs/cgroup/unified/lxcrs-t-x".into(),
            "/sys/fs/cgroup/memory/lxcrs-t-x".into(),
        ]),
        Request::Ext { name, body } => match name.as_str() {
            "echo" => Response::Ext(body.into_iter().rev().collect()),
            "pipe" => {
                let (r, w) = nix::unistd::pipe().unwrap();
                let mut w = std::fs::File::from(w);
                w.write_all(b"hello from the monitor").unwrap();
                fds.push(r);
                Response::Ext(Vec::new())
            }
            // Never answers: the client must time out.
            "silent" => return true,
            _ => Response::error(libc::EOPNOTSUPP, format!("unknown request {name}")),
        },
    };
    let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
    c.conn.respond(&resp, &borrowed).unwrap();
    c.states.is_some()
}

fn pidfd_open(pid: i32) -> OwnedFd {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

fn is_cloexec(fd: &OwnedFd) -> bool {
    let flags = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
    flags & libc::FD_CLOEXEC != 0
}

fn sleeper() -> Child {
    Command::new("sleep").arg("1000").spawn().unwrap()
}

// ---- the tests ----

#[test]
fn every_request_round_trips() {
    let ts = TestServer::start(0, 4242);
    let cases = [
        (Request::GetState, Response::State(State::Running)),
        (Request::GetInitPid, Response::InitPid(4242)),
        (Request::Stop { kill: true }, Response::Ok),
        (Request::Stop { kill: false }, Response::Ok),
        (Request::Shutdown, Response::Ok),
        (
            Request::GetConfigItem {
                key: "lxc.uts.name".into(),
            },
            Response::ConfigItem("value of lxc.uts.name".into()),
        ),
        (
            Request::AddStateClient {
                states: vec![State::Stopped, State::Frozen],
            },
            Response::State(State::Running),
        ),
        (
            Request::GetCgroupPaths,
            Response::CgroupPaths(vec![
                "/sys/fs/cgroup/unified/lxcrs-t-x".into(),
                "/sys/fs/cgroup/memory/lxcrs-t-x".into(),
            ]),
        ),
        (Request::Freeze, Response::Ok),
        (Request::Unfreeze, Response::Ok),
        (Request::Reboot, Response::Ok),
        (
            Request::Ext {
                name: "echo".into(),
                body: vec![1, 2, 3, 0, 255],
            },
            Response::Ext(vec![255, 0, 3, 2, 1]),
        ),
        (
            Request::Ext {
                name: "nope".into(),
                body: vec![],
            },
            Response::error(libc::EOPNOTSUPP, "unknown request nope"),
        ),
    ];
    for (req, want) in &cases {
        let (got, fds) = ts.call(req).unwrap();
        assert_eq!(&got, want, "response to {req:?}");
        assert!(fds.is_empty(), "{req:?} brought fds");
    }
    // GetInitPidfd is covered with a real process in its own test.
    let seen = ts.seen.lock().unwrap();
    let sent: Vec<_> = cases.iter().map(|(r, _)| r.clone()).collect();
    let got: Vec<_> = seen.requests.iter().map(|(_, _, r)| r.clone()).collect();
    assert_eq!(got, sent, "the server saw other requests than were sent");
    for (pid, uid, _) in &seen.requests {
        assert_eq!(*pid as u32, std::process::id());
        assert_eq!(*uid, nix::unistd::getuid().as_raw());
    }
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
}

#[test]
fn pidfd_travels_and_works() {
    let mut init = sleeper();
    let ts = TestServer::start(0, init.id() as i32);
    let (resp, mut fds) = ts.call(&Request::GetInitPidfd).unwrap();
    assert_eq!(resp, Response::InitPidfd);
    assert_eq!(fds.len(), 1);
    let pidfd = fds.pop().unwrap();
    assert!(is_cloexec(&pidfd), "received pidfd lacks FD_CLOEXEC");
    // SAFETY: pidfd_send_signal(pidfd, sig, NULL info, 0 flags).
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "pidfd_send_signal: {}",
        std::io::Error::last_os_error()
    );
    let status = init.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "the pidfd named another process"
    );
}

#[test]
fn pipe_end_travels_and_works() {
    let ts = TestServer::start(0, 1);
    let (resp, mut fds) = ts
        .call(&Request::Ext {
            name: "pipe".into(),
            body: vec![],
        })
        .unwrap();
    assert_eq!(resp, Response::Ext(vec![]));
    assert_eq!(fds.len(), 1);
    let r = fds.pop().unwrap();
    assert!(is_cloexec(&r), "received pipe end lacks FD_CLOEXEC");
    let mut text = String::new();
    std::fs::File::from(r).read_to_string(&mut text).unwrap();
    assert_eq!(text, "hello from the monitor");
}

#[test]
fn second_bind_is_already_running() {
    let (lxcpath, name) = {
        let ts = TestServer::start(0, 1);
        let err = Server::bind(&ts.lxcpath, &ts.name, 0).unwrap_err();
        assert!(err.is_already_running(), "{err}");
        assert!(err.to_string().contains("already running"), "{err}");
        assert!(is_running(&ts.lxcpath, &ts.name));
        (ts.lxcpath.clone(), ts.name.clone())
    };
    // Gone with its server: the name is free again.
    assert!(!is_running(&lxcpath, &name));
    let again = Server::bind(&lxcpath, &name, 0).unwrap();
    assert!(again.socket_name().contains(&name));
}

#[test]
fn no_server_is_not_running() {
    let (lxcpath, name) = unique();
    let err = call(&lxcpath, &name, &Request::GetState, T).unwrap_err();
    assert!(err.is_not_running(), "{err}");
    assert!(err.to_string().contains("not running"), "{err}");
    assert!(!is_running(&lxcpath, &name));
    let err = StateClient::new(&lxcpath, &name, &[State::Stopped]).unwrap_err();
    assert!(err.is_not_running(), "{err}");
}

/// Run by [`other_uid_is_refused`] in a copy of this binary under another uid; a no-op in a
/// normal run.
#[test]
fn child_peer() {
    let Ok(spec) = std::env::var("LXCRS_T_CMD_CHILD") else {
        return;
    };
    let mut parts = spec.splitn(3, '\n');
    let (lxcpath, name, expect) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let got = call(Path::new(lxcpath), name, &Request::GetState, T).unwrap();
    println!("CHILD-RESULT uid {}: {:?}", nix::unistd::getuid(), got.0);
    match expect {
        "denied" => assert_eq!(got.0, Response::error(libc::EACCES, "permission denied")),
        _ => assert_eq!(got.0, Response::State(State::Running)),
    }
}

fn run_child_as(uid: u32, ts: &TestServer, expect: &str, exe: &Path) {
    let out = Command::new(exe)
        .args(["--exact", "child_peer", "--nocapture", "--test-threads=1"])
        .env(
            "LXCRS_T_CMD_CHILD",
            format!("{}\n{}\n{expect}", ts.lxcpath.display(), ts.name),
        )
        .uid(uid)
        .gid(uid)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-RESULT"),
        "child as uid {uid} ({expect}) failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn other_uid_is_refused() {
    if !nix::unistd::getuid().is_root() {
        println!("skip: needs root to run a client as uid 65534");
        return;
    }
    // A copy of this binary that uid 65534 can surely read and execute.
    let (dir, _) = unique();
    let dir = dir.with_extension("exe");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("commands-test");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();

    let ts = TestServer::start(0, 1);
    run_child_as(65534, &ts, "denied", &exe);
    assert!(
        ts.seen.lock().unwrap().requests.is_empty(),
        "a refused peer's request reached the monitor"
    );
    assert!(
        logged("refused command connection") && logged("uid 65534"),
        "no warning logged: {:?}",
        LOGS.lock().unwrap()
    );
    // The owner of the container is served.
    let owned = TestServer::start(65534, 1);
    run_child_as(65534, &owned, "allowed", &exe);
    assert_eq!(owned.seen.lock().unwrap().requests[0].1, 65534);

    std::fs::remove_dir_all(&dir).unwrap();
}

/// Send raw bytes as a client, return the server's answer decoded.
fn raw_exchange(ts: &TestServer, bytes: &[u8]) -> Response {
    let mut s = UnixStream::connect_addr(&ts.addr()).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    // The server may refuse after the header, before the rest is written.
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(out.len() >= 12, "no answer: {out:?}");
    assert_eq!(&out[0..4], b"LXRS");
    assert_eq!(u16::from_le_bytes([out[6], out[7]]), 1, "not a response");
    let len = u32::from_le_bytes(out[8..12].try_into().unwrap()) as usize;
    serde_json::from_slice(&out[12..12 + len]).unwrap()
}

fn header(magic: &[u8; 4], version: u16, kind: u16, len: u32) -> Vec<u8> {
    let mut h = magic.to_vec();
    h.extend_from_slice(&version.to_le_bytes());
    h.extend_from_slice(&kind.to_le_bytes());
    h.extend_from_slice(&len.to_le_bytes());
    h
}

fn error_message(r: Response) -> String {
    match r {
        Response::Error { message, errno } => {
            // Every refusal carries an errno for the C interface.
            assert_eq!(errno, libc::EINVAL, "{message}");
            message
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn server_rejects_bad_frames() {
    let ts = TestServer::start(0, 1);

    let mut bad = header(b"XXXX", 1, 0, 2);
    bad.extend_from_slice(b"{}");
    assert!(error_message(raw_exchange(&ts, &bad)).contains("bad magic"));

    let mut newer = header(b"LXRS", 9, 0, 10);
    newer.extend_from_slice(b"\"GetState\"");
    assert!(error_message(raw_exchange(&ts, &newer)).contains("version 9"));

    let huge = header(b"LXRS", 1, 0, MAX_BODY as u32 + 1);
    assert!(error_message(raw_exchange(&ts, &huge)).contains("limit"));

    let mut junk = header(b"LXRS", 1, 0, 8);
    junk.extend_from_slice(b"nonsense");
    assert!(error_message(raw_exchange(&ts, &junk)).contains("not a valid request"));

    let body = br#"{"State":"Frozen"}"#;
    let mut event = header(b"LXRS", 1, 2, body.len() as u32);
    event.extend_from_slice(body);
    assert!(error_message(raw_exchange(&ts, &event)).contains("expected a request"));

    // Still serving, and nothing bad reached the request handler.
    assert_eq!(
        ts.call(&Request::GetState).unwrap().0,
        Response::State(State::Running)
    );
    let seen = ts.seen.lock().unwrap();
    assert_eq!(seen.requests.len(), 1);
    assert_eq!(seen.errors.len(), 5, "{:?}", seen.errors);
}

#[test]
fn client_refuses_to_send_an_oversized_request() {
    let ts = TestServer::start(0, 1);
    let err = ts
        .call(&Request::Ext {
            name: "echo".into(),
            body: vec![7; MAX_BODY],
        })
        .unwrap_err();
    assert!(
        err.is_protocol() && err.to_string().contains("limit"),
        "{err}"
    );
    // Big but within the limit is fine (JSON spends 2 bytes on each 7 and its comma).
    let body = vec![7u8; MAX_BODY / 4];
    let (resp, _) = ts
        .call(&Request::Ext {
            name: "echo".into(),
            body: body.clone(),
        })
        .unwrap();
    assert_eq!(resp, Response::Ext(body));
}

/// A fake monitor that answers whatever comes with `reply`.
fn fake_monitor(reply: Vec<u8>) -> (PathBuf, String, JoinHandle<()>) {
    let (lxcpath, name) = unique();
    let addr = SocketAddr::from_abstract_name(&socket_name(&lxcpath, &name)[1..]).unwrap();
    let l = UnixListener::bind_addr(&addr).unwrap();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut h = [0u8; 12];
        s.read_exact(&mut h).unwrap();
        let mut body = vec![0u8; u32::from_le_bytes(h[8..12].try_into().unwrap()) as usize];
        s.read_exact(&mut body).unwrap();
        if reply.is_empty() {
            // Never answer; wait for the client to give up.
            let _ = s.read(&mut [0u8; 1]);
        } else {
            let _ = s.write_all(&reply);
        }
    });
    (lxcpath, name, t)
}

#[test]
fn client_rejects_bad_responses() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            {
                let mut b = header(b"LXC!", 1, 1, 4);
                b.extend_from_slice(b"\"Ok\"");
                b
            },
            "bad magic",
        ),
        (header(b"LXRS", 1, 1, u32::MAX), "limit"),
        (
            {
                let mut b = header(b"LXRS", 2, 1, 4);
                b.extend_from_slice(b"\"Ok\"");
                b
            },
            "version 2",
        ),
        (
            {
                let mut b = header(b"LXRS", 1, 1, 7);
                b.extend_from_slice(b"\"Maybe\"");
                b
            },
            "not a valid response",
        ),
        (header(b"LXRS", 1, 1, 100), "closed after 12 bytes"),
    ];
    for (reply, want) in cases {
        let (lxcpath, name, t) = fake_monitor(reply);
        let err = call(&lxcpath, &name, &Request::GetState, T).unwrap_err();
        assert!(err.is_protocol(), "{want}: {err}");
        assert!(err.to_string().contains(want), "{want}: {err}");
        t.join().unwrap();
    }
}

#[test]
fn client_times_out_on_a_silent_monitor() {
    let ts = TestServer::start(0, 1);
    let err = call(
        &ts.lxcpath,
        &ts.name,
        &Request::Ext {
            name: "silent".into(),
            body: vec![],
        },
        Duration::from_millis(200),
    )
    .unwrap_err();
    assert!(err.is_timeout(), "{err}");

    let (lxcpath, name, t) = fake_monitor(Vec::new());
    let err = call(
        &lxcpath,
        &name,
        &Request::GetState,
        Duration::from_millis(200),
    )
    .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    t.join().unwrap();
}

#[test]
fn state_client_is_woken_by_events() {
    let mut ts = TestServer::start(0, 1);
    let (mut sc, now) =
        StateClient::new(&ts.lxcpath, &ts.name, &[State::Frozen, State::Stopped]).unwrap();
    assert_eq!(now, State::Running);
    assert_eq!(sc.wait(Some(Duration::from_millis(50))).unwrap(), None);
    // Not asked for: the monitor filters it out, so Frozen is the next event.
    ts.event(State::Thawed);
    ts.event(State::Frozen);
    assert_eq!(sc.wait(None).unwrap(), Some(State::Frozen));
    // The monitor going away reads as the container having stopped, every time after.
    drop(ts);
    assert_eq!(sc.wait(Some(T)).unwrap(), Some(State::Stopped));
    assert_eq!(sc.wait(None).unwrap(), Some(State::Stopped));
}

#[test]
fn socket_names_fit_and_differ() {
    let short = socket_name(Path::new("/var/lib/lxc"), "lxcrs-t-a");
    assert_eq!(short, b"\0lxc-rs//var/lib/lxc/lxcrs-t-a/command");
    let deep = PathBuf::from(format!("/tmp/{}", "d".repeat(120)));
    let a = socket_name(&deep, "lxcrs-t-a");
    let b = socket_name(&deep, "lxcrs-t-b");
    assert!(a.len() <= 108 && b.len() <= 108);
    assert_ne!(a, b);
    assert!(a.starts_with(b"\0lxc-rs/") && a.ends_with(b"/command"));

    // A hashed name works end to end.
    capture_logs();
    let s = Server::bind(&deep, "lxcrs-t-a", 0).unwrap();
    assert!(is_running(&deep, "lxcrs-t-a"));
    assert!(!is_running(&deep, "lxcrs-t-b"));
    drop(s);
}
