//! What the seccomp notify tests share (this crate's, seccomp_notify_fd_active's and
//! seccomp_proxy_send_notify_fd's): the policy, a seccomp notify proxy speaking LXC's layout
//! in a forked process, and helpers to run things in a busybox container made by lxc-core's
//! test fixture (`lxc-core/tests/common`).

#![allow(dead_code)] // Each test binary uses a different part.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lxc_core::attach::{self, AttachOptions};
use lxc_core::Container;
use lxc_ext_seccomp_notify::sys;
use nix::sys::socket::{
    accept, bind, listen, recvmsg, send, socket, AddressFamily, Backlog, ControlMessageOwned,
    MsgFlags, SockFlag, SockType, UnixAddr,
};

/// Every `mknod` of the container is asked about (busybox's `mknod` calls `mknodat` here).
/// `denylist` when seccomp_allow_deny_syntax provides the word, else LXC's older `blacklist`.
pub fn policy() -> String {
    let list = if lxc_seccomp::policy::registered_words()
        .iter()
        .any(|w| w.word == "denylist")
    {
        "denylist"
    } else {
        println!("note: `denylist` is not registered in this build; the policy says `blacklist`");
        "blacklist"
    };
    format!("2\n{list}\nmknod notify\nmknodat notify\n")
}
pub const COOKIE: &str = "lxcrs-cookie";

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A file removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(path: String, text: &str) -> TempFile {
        std::fs::write(&path, text).expect("write a test file");
        TempFile(PathBuf::from(path))
    }

    pub fn path_str(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The policy as a file named after the test's container.
pub fn policy_file(test: &str) -> TempFile {
    TempFile::new(
        format!("/tmp/lxcrs-t-{test}-{}.seccomp", std::process::id()),
        &policy(),
    )
}

/// The abstract name a test's proxy listens on (without the `@`).
pub fn proxy_name(test: &str) -> String {
    format!("lxcrs-t-{test}-{}-proxy", std::process::id())
}

/// What the test proxy answers a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The system call succeeds (returns 0) without being run.
    Success,
    /// The system call fails with this errno.
    Errno(i32),
    /// Say nothing and wait to be killed.
    Hold,
    /// Answer with a message of the wrong size.
    Malformed,
    /// Never answer, keep reading.
    Ignore,
}

/// One message the proxy got, as `key=value` words.
pub type Event = HashMap<String, String>;

/// A seccomp notify proxy in a forked process, listening on `@name`; each message it gets is
/// reported as one line, then answered as the next [`Answer`] says (then `Success`).
pub struct Proxy {
    pub pid: nix::unistd::Pid,
    events: BufReader<File>,
    reaped: bool,
}

impl Proxy {
    /// Bind `@name`, fork the proxy. Call it while the test process has one thread.
    pub fn spawn(name: &str, answers: &[Answer]) -> Proxy {
        let sock = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .expect("proxy socket");
        bind(
            sock.as_raw_fd(),
            &UnixAddr::new_abstract(name.as_bytes()).unwrap(),
        )
        .unwrap_or_else(|e| panic!("bind @{name}: {e}"));
        listen(&sock, Backlog::new(16).unwrap()).expect("listen");
        let (rd, wr) = nix::unistd::pipe().expect("pipe");
        let answers: VecDeque<Answer> = answers.iter().copied().collect();
        // SAFETY: the test process has one thread here (the tests have no libtest harness and
        // start no threads); the child only runs the proxy loop and exits.
        match unsafe { nix::unistd::fork() }.expect("fork the proxy") {
            nix::unistd::ForkResult::Child => {
                drop(rd);
                serve(sock, answers, File::from(wr));
            }
            nix::unistd::ForkResult::Parent { child } => Proxy {
                pid: child,
                events: BufReader::new(File::from(rd)),
                reaped: false,
            },
        }
    }

    /// The next message the proxy reports, waiting up to `timeout`.
    pub fn event(&mut self, timeout: Duration) -> Option<Event> {
        let fd = self.events.get_ref().as_fd();
        if self.events.buffer().is_empty() {
            let mut pfd = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
            let t =
                nix::poll::PollTimeout::try_from(timeout).unwrap_or(nix::poll::PollTimeout::MAX);
            if nix::poll::poll(&mut pfd, t).ok()? == 0 {
                return None;
            }
        }
        let mut line = String::new();
        self.events.read_line(&mut line).ok()?;
        if line.is_empty() {
            return None;
        }
        Some(
            line.split_whitespace()
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// SIGKILL the proxy and reap it (once).
    pub fn kill(&mut self) {
        if !self.reaped {
            let _ = nix::sys::signal::kill(self.pid, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(self.pid, None);
            self.reaped = true;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.kill();
    }
}

const HEADER: usize = 32;

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(b[at..at + 8].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().unwrap())
}

fn u16_at(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_ne_bytes(b[at..at + 2].try_into().unwrap()))
}

/// The proxy process: accept the monitor (again after it reconnects), report and answer.
fn serve(sock: OwnedFd, mut answers: VecDeque<Answer>, mut out: File) -> ! {
    loop {
        let Ok(conn) = accept(sock.as_fd()) else {
            std::process::exit(1);
        };
        loop {
            let mut buf = [0u8; 4096];
            let mut cmsg = nix::cmsg_space!([RawFd; 4]);
            let (n, raw_fds) = {
                let mut iov = [IoSliceMut::new(&mut buf)];
                let Ok(m) = recvmsg::<()>(
                    conn.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::MSG_CMSG_CLOEXEC,
                ) else {
                    break;
                };
                let mut fds = Vec::new();
                for c in m.cmsgs().into_iter().flatten() {
                    if let ControlMessageOwned::ScmRights(f) = c {
                        fds.extend(f);
                    }
                }
                (m.bytes, fds)
            };
            // SAFETY: SCM_RIGHTS just installed these fds in this process; nothing else owns them.
            let fds: Vec<OwnedFd> = raw_fds
                .into_iter()
                .map(|f| unsafe { OwnedFd::from_raw_fd(f) })
                .collect();
            if n == 0 {
                break;
            }
            let msg = &buf[..n];
            let (n_notif, n_resp) = (u16_at(msg, 16), u16_at(msg, 18));
            let cookie_len = u64_at(msg, 24) as usize;
            let notif = &msg[HEADER..HEADER + n_notif];
            let id = u64_at(notif, 0);
            let nr = u32_at(notif, 16) as i32;
            let arg = |i: usize| u64_at(notif, 32 + 8 * i);
            let path_at = if nr == libc::SYS_mknod as i32 {
                arg(0)
            } else {
                arg(1)
            };
            let mut path = [0u8; 256];
            let path = fds
                .get(1)
                .and_then(|mem| nix::sys::uio::pread(mem, &mut path, path_at as i64).ok())
                .map(|got| {
                    let s = &path[..got];
                    String::from_utf8_lossy(&s[..s.iter().position(|&b| b == 0).unwrap_or(got)])
                        .into_owned()
                })
                .unwrap_or_default();
            let comm = fds
                .first()
                .and_then(|d| {
                    let mut s = String::new();
                    File::open(format!("/proc/self/fd/{}/comm", d.as_raw_fd()))
                        .and_then(|mut f| f.read_to_string(&mut s))
                        .ok()
                        .map(|_| s.trim().to_string())
                })
                .unwrap_or_default();
            // The third fd, if any, must be the listener of this very notification.
            let listener = fds
                .get(2)
                .map(|l| sys::notif_id_valid(l.as_fd(), id).is_ok())
                .unwrap_or(false);
            let resp_at = HEADER + n_notif;
            let cookie = String::from_utf8_lossy(&msg[resp_at + n_resp..]).into_owned();
            let line = format!(
                "nr={nr} path={path} fds={} listener={} cookie={cookie} cookie_len={cookie_len} \
                 monitor={} init={} notif={n_notif} resp={n_resp} comm={comm} resp_id_ok={} bytes={n}\n",
                fds.len(),
                u8::from(listener),
                u32_at(msg, 8) as i32,
                u32_at(msg, 12) as i32,
                u64_at(msg, resp_at) == id,
            );
            let _ = out.write_all(line.as_bytes());
            drop(fds);
            let mut reply = msg[..resp_at + n_resp].to_vec();
            let error = match answers.pop_front().unwrap_or(Answer::Success) {
                Answer::Hold => loop {
                    std::thread::sleep(Duration::from_secs(1000));
                },
                Answer::Ignore => continue,
                Answer::Malformed => {
                    let _ = send(conn.as_raw_fd(), &reply[..10], MsgFlags::empty());
                    continue;
                }
                Answer::Success => 0i32,
                Answer::Errno(e) => -e,
            };
            reply[resp_at..resp_at + 8].copy_from_slice(&id.to_ne_bytes());
            reply[resp_at + 8..resp_at + 16].copy_from_slice(&0i64.to_ne_bytes());
            reply[resp_at + 16..resp_at + 20].copy_from_slice(&error.to_ne_bytes());
            reply[resp_at + 20..resp_at + 24].copy_from_slice(&0u32.to_ne_bytes());
            let _ = send(conn.as_raw_fd(), &reply, MsgFlags::empty());
        }
    }
}

pub fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe")
}

/// A command attached to a container, its stdout and stderr going into a pipe.
pub struct Attached {
    a: attach::Attached,
    out: File,
}

/// Start `sh -c script` attached to `c`, stdout and stderr captured.
pub fn attach_sh_bg(c: &Container, script: &str) -> Result<Attached, lxc_core::Error> {
    let (rd, wr) = pipe();
    let opts = AttachOptions {
        stderr: Some(wr.try_clone().expect("dup")),
        stdout: Some(wr),
        stdin: Some(File::open("/dev/null").expect("/dev/null").into()),
        ..Default::default()
    };
    let argv: Vec<String> = ["/bin/sh", "-c", script]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let a = attach::attach_command(c, &opts, &argv)?;
    // Our copies of the write end must go for end-of-file to come.
    drop(opts);
    Ok(Attached {
        a,
        out: File::from(rd),
    })
}

impl Attached {
    /// Its exit status and output, once it exits; killed (and an error) when that takes
    /// longer than `timeout`.
    pub fn wait(mut self, timeout: Duration) -> Result<(i32, String), String> {
        let until = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let fd = self.out.as_fd();
            let mut pfd = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
            let t = nix::poll::PollTimeout::try_from(left).unwrap_or(nix::poll::PollTimeout::MAX);
            let ready = nix::poll::poll(&mut pfd, t).unwrap_or(0);
            if ready == 0 {
                let _ = self.a.kill(libc::SIGKILL);
                let _ = self.a.wait();
                return Err(format!(
                    "no exit within {timeout:?} (output so far: {:?})",
                    String::from_utf8_lossy(&out)
                ));
            }
            let mut buf = [0u8; 4096];
            match self.out.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return Err(format!("read the output: {e}")),
            }
        }
        let code = self.a.wait().map_err(|e| e.to_string())?;
        Ok((code, String::from_utf8_lossy(&out).into_owned()))
    }
}

/// Run `sh -c script` attached to `c` (up to 20 s): (exit status, output).
pub fn attach_sh(c: &Container, script: &str) -> Result<(i32, String), String> {
    attach_sh_bg(c, script)
        .map_err(|e| e.to_string())?
        .wait(Duration::from_secs(20))
}

/// The container's rootfs directory on the host.
pub fn rootfs(c: &Container) -> PathBuf {
    let p = c.get_config_item("lxc.rootfs.path").expect("rootfs");
    PathBuf::from(p.strip_prefix("dir:").unwrap_or(&p))
}

/// Make the container's `/etc/init.d/rcS` (busybox init runs it first) run `script`.
pub fn set_rcs(c: &Container, script: &str) {
    let path = rootfs(c).join("etc/init.d/rcS");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).expect("write rcS");
}

/// Wait up to `timeout` for `path` to exist with a complete last line; its text.
pub fn wait_file(path: &Path, timeout: Duration) -> Option<String> {
    let until = Instant::now() + timeout;
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            if s.ends_with('\n') {
                return Some(s);
            }
        }
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// lxc-core's fixture `common::remove` for a container that may have stopped already: kill it
/// if it runs, destroy it, remove its lxcpath and lock directory.
pub fn remove(c: Container, lxcpath: PathBuf) {
    let name = c.name().to_string();
    if c.is_running() {
        c.stop_with(true, Some(Duration::from_secs(10)))
            .expect("stop");
    }
    c.destroy().expect("destroy");
    std::fs::remove_dir_all(&lxcpath).expect("remove the lxcpath");
    if let Ok(rel) = lxcpath.strip_prefix("/") {
        let _ = std::fs::remove_dir_all(Path::new("/run/lxc/lock").join(rel));
    }
    let left = leftovers(&name);
    assert!(left.is_empty(), "{name} left behind:\n{}", left.join("\n"));
}

/// What still carries `name` on the host (as lxc-cli's fixture looks): processes by command
/// line or cgroup, cgroup directories, unix sockets, mounts. Waits up to 5 s for it to go.
pub fn leftovers(name: &str) -> Vec<String> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let mut found = Vec::new();
        let me = std::process::id().to_string();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let pid = e.file_name().to_string_lossy().into_owned();
            if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
                continue;
            }
            let cmdline = std::fs::read(e.path().join("cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            let cgroup = std::fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
            if cmdline.contains(name) || cgroup.contains(name) {
                found.push(format!("process {pid}: {}", cmdline.trim()));
            }
        }
        let mut dirs = vec![(PathBuf::from("/sys/fs/cgroup"), 0)];
        while let Some((d, depth)) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    if e.file_name().to_string_lossy().contains(name) {
                        found.push(format!("cgroup {}", e.path().display()));
                    }
                    if depth < 5 {
                        dirs.push((e.path(), depth + 1));
                    }
                }
            }
        }
        for (what, file) in [
            ("socket", "/proc/net/unix"),
            ("mount", "/proc/self/mountinfo"),
        ] {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            found.extend(
                text.lines()
                    .filter(|l| l.contains(name))
                    .map(|l| format!("{what} {l}")),
            );
        }
        if found.is_empty() || Instant::now() > until {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The tally of a test binary without libtest.
#[derive(Default)]
pub struct Tally {
    pub passed: usize,
    pub failed: Vec<String>,
}

impl Tally {
    pub fn check(&mut self, name: &str, ok: bool, detail: impl std::fmt::Display) {
        if ok {
            self.passed += 1;
            println!("test {name} ... ok");
        } else {
            println!("test {name} ... FAILED: {detail}");
            self.failed.push(name.to_string());
        }
    }

    /// Print the summary; exit 1 if anything failed.
    pub fn finish(self) {
        println!("{} passed, {} failed", self.passed, self.failed.len());
        if !self.failed.is_empty() {
            std::process::exit(1);
        }
    }
}
