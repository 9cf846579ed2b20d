//! The seams subsystems plug into, each used by a test registration on a real busybox
//! container:
//! - the child hands the monitor an fd mid-start (`ChildLink::send_fds`), and a monitor hook
//!   in `PostMounts`, between the child's mounts and its exec, writes through it;
//! - the child asks the monitor for work and gets an answer with an fd (`ChildLink::ask`);
//! - a `Running` hook adds an fd handler to the monitor's loop, which receives data while
//!   the container runs and emits an event to state clients;
//! - a command handler receives an fd sent by a client, and sees the config.
//!
//! No libtest harness: `Container::start` forks the monitor from this process, which must
//! have no other threads.

use lxc_cgroup as _;
use lxc_console as _;
use lxc_mount as _;

mod common;

use std::ffi::CString;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lxc_core::commands::{self, Event, Request, Response};
use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx, RootfsInfo};
use lxc_core::reactor::{self, FdHandler, Next, ReactorCtx};
use lxc_core::registry::{
    CommandDef, EntryKind, PhaseHook, Registration, StartRequestDef, REGISTRY, START_REQUESTS,
};
use lxc_core::start::sync;
use lxc_core::{Error, Phase, State};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static SEAMS: Registration = Registration {
    name: "lxcrs-t-seams",
    kind: EntryKind::Component,
    keys: &[],
    hooks: &[
        PhaseHook {
            phase: Phase::ChildMounts,
            order: order::LAST,
            run: child_after_mounts,
        },
        PhaseHook {
            phase: Phase::PostMounts,
            order: order::DEFAULT,
            run: monitor_post_mounts,
        },
        PhaseHook {
            phase: Phase::ChildFinal,
            order: order::LAST,
            run: child_before_exec,
        },
        PhaseHook {
            phase: Phase::Running,
            order: order::DEFAULT,
            run: running,
        },
    ],
    commands: &[CommandDef {
        name: "lxcrs-t-seams.write",
        handler: write_into_client_fd,
    }],
};

#[distributed_slice(START_REQUESTS)]
#[linkme(crate = lxc_core::linkme)]
static ECHO: StartRequestDef = StartRequestDef {
    owner: "lxcrs-t-seams",
    name: "lxcrs-t-seams.echo",
    handler: echo,
};

fn fail(ctx: &HookCtx<'_>, message: String) -> Error {
    Error::Start {
        name: ctx.name.to_string(),
        message,
    }
}

/// Child, after every mount: hand the monitor the rootfs as an fd, and ask it for a pipe.
fn child_after_mounts(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    let mount = ctx
        .state
        .get::<RootfsInfo>()
        .map(|r| r.mount.clone())
        .ok_or_else(|| fail(ctx, "no RootfsInfo in the child".into()))?;
    let dir = fs::File::open(&mount).map_err(|e| fail(ctx, format!("open rootfs: {e}")))?;
    let link = sync::child_link(ctx.state).ok_or_else(|| fail(ctx, "no ChildLink".into()))?;
    link.send_fds("lxcrs-t-seams.rootfs", &[dir.as_fd()])?;
    let (body, fds) = link.ask("lxcrs-t-seams.echo", b"ping", &[])?;
    let [rd] = <[OwnedFd; 1]>::try_from(fds)
        .map_err(|f| fail(ctx, format!("{} fds in the answer", f.len())))?;
    let mut from_pipe = String::new();
    fs::File::from(rd)
        .read_to_string(&mut from_pipe)
        .map_err(|e| fail(ctx, format!("read the monitor's pipe: {e}")))?;
    let answer = format!("{} {from_pipe}", String::from_utf8_lossy(&body));
    fs::write(mount.join("seams-answer"), answer)
        .map_err(|e| fail(ctx, format!("write seams-answer: {e}")))
}

/// Monitor, start request: answer with the body turned round and a pipe to read.
fn echo(
    ctx: &mut HookCtx<'_>,
    body: &[u8],
    _fds: Vec<OwnedFd>,
) -> Result<(Vec<u8>, Vec<OwnedFd>), Error> {
    let (rd, wr) = common::pipe();
    fs::File::from(wr)
        .write_all(format!("from-monitor-of-{}", ctx.name).as_bytes())
        .map_err(|e| fail(ctx, format!("write pipe: {e}")))?;
    let mut out = b"pong:".to_vec();
    out.extend_from_slice(body);
    Ok((out, vec![rd]))
}

/// Monitor, between the child's mounts and its pivot: write into the child's rootfs through
/// the fd it sent.
fn monitor_post_mounts(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    let fds = sync::take_fds(ctx.state, "lxcrs-t-seams.rootfs");
    let [dir] = <[OwnedFd; 1]>::try_from(fds)
        .map_err(|f| fail(ctx, format!("{} rootfs fds from the child", f.len())))?;
    let name = CString::new("seams-post-mounts").unwrap();
    // SAFETY: a valid directory fd and a NUL-terminated name.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        return Err(fail(
            ctx,
            format!("openat: {}", std::io::Error::last_os_error()),
        ));
    }
    // SAFETY: fd was just opened and is ours.
    let mut f = fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    f.write_all(format!("init {}", ctx.init_pid.unwrap_or(0)).as_bytes())
        .map_err(|e| fail(ctx, format!("write: {e}")))
}

/// Child, last before exec (after pivot_root): the monitor's file is there already.
fn child_before_exec(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    let seen = fs::read_to_string("/seams-post-mounts").map_err(|e| {
        fail(
            ctx,
            format!("the PostMounts hook has not run before exec: {e}"),
        )
    })?;
    fs::write("/seams-before-exec", format!("saw {seen}"))
        .map_err(|e| fail(ctx, format!("write seams-before-exec: {e}")))
}

fn handler_socket(lxcpath: &Path, name: &str) -> String {
    format!("lxcrs-t-seams{}/{name}", lxcpath.display())
}

/// Receives datagrams while the container runs; appends them to a file beside the config and
/// emits the container's state to state clients on "emit".
struct Listener {
    sock: UnixDatagram,
    out: PathBuf,
}

impl FdHandler for Listener {
    fn name(&self) -> &str {
        "lxcrs-t-seams listener"
    }

    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.sock.as_fd()
    }

    fn ready(&mut self, ctx: &mut ReactorCtx<'_>) -> Next {
        let mut buf = [0u8; 256];
        let Ok(n) = self.sock.recv(&mut buf) else {
            return Next::Keep;
        };
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if msg == "emit" {
            ctx.emit(Event::State(ctx.container_state));
        }
        let line = format!("{msg} init={} config-name={}\n", ctx.init_pid, ctx.name);
        let _ = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.out)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        Next::Keep
    }
}

fn running(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    let name = handler_socket(&ctx.lxcpath, ctx.name);
    let addr = SocketAddr::from_abstract_name(name.as_bytes())
        .map_err(|e| fail(ctx, format!("address: {e}")))?;
    let sock = UnixDatagram::bind_addr(&addr).map_err(|e| fail(ctx, format!("bind: {e}")))?;
    sock.set_nonblocking(true)
        .map_err(|e| fail(ctx, format!("nonblocking: {e}")))?;
    let out = ctx.lxcpath.join(ctx.name).join("seams-received");
    reactor::add_handler(ctx.state, Box::new(Listener { sock, out }));
    Ok(())
}

/// Command: write into the fd the client sent, and answer with a config value.
fn write_into_client_fd(
    ctx: &mut lxc_core::phase::CommandCtx<'_>,
    _body: &[u8],
) -> Result<Vec<u8>, lxc_core::phase::CommandError> {
    use lxc_core::phase::CommandError;
    let fd = ctx
        .fds_in
        .pop()
        .ok_or_else(|| CommandError::invalid("no fd with the request"))?;
    fs::File::from(fd)
        .write_all(b"written by the monitor")
        .map_err(|e| CommandError::io("write the client's fd", &e))?;
    let uts = ctx.config.get("lxc.uts.name")?;
    Ok(uts.into_bytes())
}

fn eventually(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

fn seams_on_a_real_container() {
    let (c, lxcpath) = common::started_busybox("seams", &[]);
    let name = c.name().to_string();
    let rootfs = lxcpath.join(&name).join("rootfs");
    let init = c.init_pid().unwrap();

    // The fd from the child, used by the monitor between mounts and exec.
    let post = fs::read_to_string(rootfs.join("seams-post-mounts")).unwrap();
    assert_eq!(post, format!("init {init}"));
    let before_exec = fs::read_to_string(rootfs.join("seams-before-exec")).unwrap();
    assert_eq!(before_exec, format!("saw init {init}"));
    // The child's question and the monitor's answer with its fd.
    let answer = fs::read_to_string(rootfs.join("seams-answer")).unwrap();
    assert_eq!(answer, format!("pong:ping from-monitor-of-{name}"));

    // A command handler gets the client's fd and the config.
    let (rd, wr) = common::pipe();
    let req = Request::Ext {
        name: "lxcrs-t-seams.write".into(),
        body: Vec::new(),
    };
    let (resp, _) =
        commands::call_with_fds(&lxcpath, &name, &req, &[wr.as_fd()], Duration::from_secs(5))
            .unwrap();
    drop(wr);
    assert_eq!(resp, Response::Ext(name.clone().into_bytes()));
    let mut got = String::new();
    fs::File::from(rd).read_to_string(&mut got).unwrap();
    assert_eq!(got, "written by the monitor");

    // A handler's error reaches the client with its errno, through the API too.
    let (resp, _) = commands::call(&lxcpath, &name, &req, Duration::from_secs(5)).unwrap();
    match resp {
        Response::Error { errno, message } => {
            assert_eq!(errno, libc::EINVAL, "{message}");
            assert!(message.contains("no fd"), "{message}");
        }
        other => panic!("a request without its fd was answered {other:?}"),
    }
    let e = c.get_cgroup_item("memory.no_such_file").unwrap_err();
    assert_eq!(e.errno(), libc::ENOENT, "{e}");
    let e = c.get_running_config_item("lxc.no.such.key").unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL, "{e}");

    // The fd handler receives while the container runs, and its event reaches a state client.
    let (mut client, now) = c.state_client(&[State::Running]).unwrap();
    assert_eq!(now, State::Running);
    let to = UnixDatagram::unbound().unwrap();
    let addr = SocketAddr::from_abstract_name(handler_socket(&lxcpath, &name).as_bytes()).unwrap();
    to.send_to_addr(b"hello", &addr).unwrap();
    to.send_to_addr(b"emit", &addr).unwrap();
    let received = lxcpath.join(&name).join("seams-received");
    assert!(
        eventually(Duration::from_secs(5), || fs::read_to_string(&received)
            .is_ok_and(|s| s.lines().count() == 2)),
        "the handler did not receive both datagrams"
    );
    assert_eq!(
        fs::read_to_string(&received).unwrap(),
        format!("hello init={init} config-name={name}\nemit init={init} config-name={name}\n")
    );
    assert_eq!(
        client.wait(Some(Duration::from_secs(5))).unwrap(),
        Some(State::Running)
    );

    common::remove(c, lxcpath);
    let unix = fs::read_to_string("/proc/net/unix").unwrap();
    assert!(
        !unix.contains(&name),
        "sockets left: {:?}",
        unix.lines()
            .filter(|l| l.contains(&name))
            .collect::<Vec<_>>()
    );
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("seams: skipped: starting containers needs root");
        return;
    }
    seams_on_a_real_container();
    println!("seams: seams_on_a_real_container ok");
}
