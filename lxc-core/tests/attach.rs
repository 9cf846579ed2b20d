//! attach against real busybox containers (as root): namespaces, cgroups, hostname, ids,
//! environment, capabilities, exit statuses, the closure form and a pty session.
//!
//! Run: `cargo test -p lxc-core --test attach -- --test-threads=1`.
//!
//! `Container::start` forks the monitor from the calling process, which must not have other
//! busy threads. The test harness has them, so each container is started by a fresh run of
//! this test binary (`start_helper`, selected with `--exact` and an environment variable);
//! the pty test runs its attach the same way, with a pty of its own as stdio. The attaches
//! themselves run from the harness's thread: attach is written for multi-threaded callers.

// The subsystems a real start needs (rootfs and /dev: lxc-mount; cgroups: lxc-cgroup) are
// linked in by naming them.
use lxc_cgroup as _;
use lxc_console as _;
use lxc_mount as _;

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lxc_core::attach::{self, AttachOptions, AttachStdio, EnvPolicy};
use lxc_core::Container;

/// Set in the re-run of this binary that starts a container: `LXCPATH\nNAME`.
const START_ENV: &str = "LXCRS_T_ATTACH_START";
/// Set in the re-run that attaches with a pty: `LXCPATH\nNAME`.
const TTY_ENV: &str = "LXCRS_T_ATTACH_TTY";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

macro_rules! skip_unless_root {
    () => {
        if !is_root() {
            eprintln!("skip: attach needs root (namespaces, cgroups, a real container)");
            return;
        }
    };
}

/// Re-run this test binary for one helper test, with `env` set to `value`.
fn rerun(helper: &str, env: &str, value: &str, extra_arg: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        helper,
        // A filter matching no test: it only puts the name on the command line.
        extra_arg,
        "--test-threads=1",
        "--nocapture",
        "-q",
    ])
    .env(env, value);
    cmd
}

/// A started busybox container named `lxcrs-t-attach-<pid>-<n>`, under an lxcpath of the
/// same name in /tmp; stopped, destroyed and checked for leftovers on drop.
struct TestContainer {
    c: Container,
    lxcpath: PathBuf,
    init_pid: i32,
}

impl TestContainer {
    fn busybox() -> TestContainer {
        Self::new(Vec::new(), &[])
    }

    fn with_idmap(idmap: Vec<String>) -> TestContainer {
        Self::new(idmap, &[])
    }

    fn with_config(items: &[(&str, &str)]) -> TestContainer {
        Self::new(Vec::new(), items)
    }

    fn new(idmap: Vec<String>, items: &[(&str, &str)]) -> TestContainer {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let name = format!("lxcrs-t-attach-{}-{n}", std::process::id());
        let lxcpath = PathBuf::from(format!("/tmp/{name}"));
        std::fs::create_dir_all(&lxcpath).unwrap();
        let mut c = Container::new(&name, Some(&lxcpath)).unwrap();
        c.create(&lxc_core::template::CreateOptions {
            template: "busybox".into(),
            idmap,
            ..Default::default()
        })
        .unwrap();
        for (k, v) in items {
            c.set_config_item(k, v).unwrap();
        }
        c.save_config(None).unwrap();
        let mut tc = TestContainer {
            c,
            lxcpath,
            init_pid: 0,
        };
        let status = rerun(
            "start_helper",
            START_ENV,
            &format!("{}\n{name}", tc.lxcpath.display()),
            &name,
        )
        .stdin(Stdio::null())
        .status()
        .unwrap();
        assert!(status.success(), "starting {name} failed: {status}");
        tc.init_pid = tc.c.init_pid().unwrap();
        tc
    }

    fn name(&self) -> &str {
        self.c.name()
    }

    /// Run `argv` attached with `opts`, its stdout captured: (exit status, stdout).
    fn run(&self, mut opts: AttachOptions, argv: &[&str]) -> (i32, String) {
        let (rd, wr) = pipe();
        opts.stdout = Some(wr);
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let a = attach::attach_command(&self.c, &opts, &argv).unwrap();
        // Our copy of the write end must go for end-of-file to come.
        drop(opts);
        let mut out = String::new();
        std::fs::File::from(rd).read_to_string(&mut out).unwrap();
        (a.wait().unwrap(), out)
    }

    /// Like `run`, with a pty whose output is copied into the captured stdout.
    fn run_pty(&self, mut opts: AttachOptions, argv: &[&str]) -> (i32, String) {
        let (rd, wr) = pipe();
        opts.stdout = Some(wr);
        opts.stdin = Some(std::fs::File::open("/dev/null").unwrap().into());
        opts.stdio = AttachStdio::Pty;
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let a = attach::attach_command(&self.c, &opts, &argv).unwrap();
        assert!(a.pty_master().is_some());
        drop(opts);
        // The copy writes into the pipe while it runs: small output fits in its buffer.
        let code = a.wait().unwrap();
        let mut out = String::new();
        std::fs::File::from(rd).read_to_string(&mut out).unwrap();
        (code, out)
    }

    fn sh(&self, opts: AttachOptions, script: &str) -> (i32, String) {
        self.run(opts, &["sh", "-c", script])
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        let name = self.name().to_string();
        let stopped = self.c.stop();
        // stop() can return while the monitor still answers for a moment (seen: destroy
        // right after stop failing with AlreadyRunning); wait until it is gone.
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.c.is_running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let destroyed = self.c.destroy();
        let _ = std::fs::remove_dir_all(&self.lxcpath);
        // create and destroy take the container lock, which lives under /run/lxc/lock.
        let rel = self.lxcpath.strip_prefix("/").unwrap_or(&self.lxcpath);
        let _ = std::fs::remove_dir_all(Path::new("/run/lxc/lock").join(rel));
        if std::thread::panicking() {
            return;
        }
        stopped.unwrap();
        destroyed.unwrap();
        // The monitor may still be finishing its cleanup after reporting STOPPED.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = leftovers(&name, self.init_pid);
            if left.is_empty() {
                break;
            }
            assert!(Instant::now() < deadline, "{name} left behind: {left:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!self.lxcpath.exists());
    }
}

/// Cgroups and processes of a container that should be gone.
fn leftovers(name: &str, init_pid: i32) -> Vec<String> {
    let mut left = Vec::new();
    let out = Command::new("find")
        .args(["/sys/fs/cgroup", "-name", &format!("*{name}*")])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    left.extend(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| format!("cgroup {l}")),
    );
    let me = std::process::id().to_string();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = e.file_name().to_string_lossy().to_string();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(name) {
            left.push(format!("process {pid}"));
        }
    }
    if init_pid > 0 && Path::new(&format!("/proc/{init_pid}")).exists() {
        // A pid reused this soon is unlikely; if it is, it is not in the container's pid ns.
        let ours = std::fs::read_link("/proc/self/ns/pid").ok();
        let theirs = std::fs::read_link(format!("/proc/{init_pid}/ns/pid")).ok();
        if theirs.is_some() && theirs != ours {
            left.push(format!("init {init_pid}"));
        }
    }
    left
}

fn pipe() -> (OwnedFd, OwnedFd) {
    lxc_core::sys::pipe().unwrap()
}

/// `readlink /proc/PID/ns/NS` as the host sees it.
fn ns_link(pid: i32, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap()
        .display()
        .to_string()
}

fn cap_bnd(status: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim()
        .to_string()
}

/// The re-run that starts a container (does nothing in a normal run).
#[test]
fn start_helper() {
    let Ok(v) = std::env::var(START_ENV) else {
        return;
    };
    let (lxcpath, name) = v.split_once('\n').unwrap();
    let c = Container::new(name, Some(Path::new(lxcpath))).unwrap();
    if let Err(e) = c.start(&lxc_core::StartOptions {
        mode: lxc_core::StartMode::Start,
        argv: vec![],
        inherit_stdio: false,
        close_all_fds: false,
    }) {
        eprintln!("start {name}: {e}");
        std::process::exit(1);
    }
}

/// The re-run that attaches `tty` with a pty (stdio is a pty of the test).
#[test]
fn tty_helper() {
    let Ok(v) = std::env::var(TTY_ENV) else {
        return;
    };
    let (lxcpath, name) = v.split_once('\n').unwrap();
    let c = Container::new(name, Some(Path::new(lxcpath))).unwrap();
    let opts = AttachOptions {
        stdio: AttachStdio::Auto,
        ..Default::default()
    };
    // Says it is ready, reads a line typed on the caller's terminal, shows its terminal and
    // its size.
    let script = "echo ready; read x; echo got:$x; tty; stty size";
    let argv = ["sh".to_string(), "-c".to_string(), script.to_string()];
    let code = attach::attach_run_wait(&c, &opts, &argv).unwrap();
    assert_eq!(code, 0, "the attached shell exited {code}");
}

#[test]
fn joins_init_namespaces_cgroups_and_hostname() {
    skip_unless_root!();
    let tc = TestContainer::busybox();
    let nss = ["mnt", "pid", "uts", "ipc", "net", "cgroup"];
    let script = format!(
        "id -u; hostname; for n in {}; do readlink /proc/self/ns/$n; done; \
         cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup",
        nss.join(" ")
    );
    let (code, out) = tc.sh(AttachOptions::default(), &script);
    assert_eq!(code, 0, "{out}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("0"));
    assert_eq!(lines.next(), Some(tc.name()));
    for ns in nss {
        let inside = lines.next().unwrap();
        assert_eq!(inside, ns_link(tc.init_pid, ns), "{ns} namespace");
        // And it is not the test's own.
        assert_ne!(inside, ns_link(std::process::id() as i32, ns), "{ns}");
    }
    let rest: Vec<&str> = lines.collect();
    let sep = rest.iter().position(|l| *l == "---").unwrap();
    let (mine, init) = (&rest[..sep], &rest[sep + 1..]);
    assert!(!mine.is_empty());
    assert_eq!(mine, init, "cgroups of the attached process and of init");

    // The host's view agrees: the attached process sat in init's cgroups.
    let init_cg = std::fs::read_to_string(format!("/proc/{}/cgroup", tc.init_pid)).unwrap();
    assert!(init_cg.contains(tc.name()), "{init_cg}");
}

#[test]
fn bounding_set_is_inits() {
    skip_unless_root!();
    let tc = TestContainer::busybox();
    let (code, out) = tc.sh(AttachOptions::default(), "cat /proc/self/status");
    assert_eq!(code, 0);
    let init = std::fs::read_to_string(format!("/proc/{}/status", tc.init_pid)).unwrap();
    assert_eq!(cap_bnd(&out), cap_bnd(&init));
    let host = std::fs::read_to_string("/proc/self/status").unwrap();
    assert_ne!(
        cap_bnd(&out),
        cap_bnd(&host),
        "busybox drops sys_module & co"
    );

    // Elevated privileges keep the caller's bounding set.
    let opts = AttachOptions {
        elevated_privileges: true,
        ..Default::default()
    };
    let (_, out) = tc.sh(opts, "cat /proc/self/status");
    assert_eq!(cap_bnd(&out), cap_bnd(&host));
}

#[test]
fn exit_status_signal_closure_and_missing_command() {
    skip_unless_root!();
    let tc = TestContainer::busybox();
    let run = |argv: &[&str]| {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        attach::attach_run_wait(&tc.c, &AttachOptions::default(), &argv).unwrap()
    };
    assert_eq!(run(&["sh", "-c", "exit 42"]), 42);
    assert_eq!(run(&["sh", "-c", "kill -9 $$"]), 137);
    assert_eq!(run(&["/bin/true"]), 0);
    // As LXC's attach_run_command: not found is 127.
    assert_eq!(run(&["lxcrs-t-no-such-command"]), 127);

    // The closure runs inside: it sees the container's hostname and the environment the
    // options describe (no allocation after the fork).
    let want = tc.name().as_bytes().to_vec();
    let opts = AttachOptions {
        extra_env: vec!["LXCRS_T_FOO=bar".into()],
        ..Default::default()
    };
    let a = attach::attach(
        &tc.c,
        &opts,
        Box::new(move || {
            let mut buf = [0u8; 256];
            // SAFETY: a valid buffer and its length.
            let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
            let len = buf.iter().position(|b| *b == 0).unwrap_or(0);
            // SAFETY: a NUL-terminated name; getenv returns NULL or a C string.
            let foo = unsafe { libc::getenv(c"LXCRS_T_FOO".as_ptr()) };
            // SAFETY: as above.
            let lxc = unsafe { libc::getenv(c"container".as_ptr()) };
            let is = |p: *mut libc::c_char, v: &[u8]| {
                // SAFETY: non-null results of getenv are C strings.
                !p.is_null() && unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes() == v
            };
            if r == 0 && buf[..len] == want[..] && is(foo, b"bar") && is(lxc, b"lxc") {
                7
            } else {
                3
            }
        }),
    )
    .unwrap();
    assert!(a.pid() > 0);
    assert_eq!(a.wait().unwrap(), 7);

    // A closure killed by a signal reads as 128 + N too.
    let a = attach::attach(
        &tc.c,
        &AttachOptions::default(),
        Box::new(|| {
            // SAFETY: raising a signal in the attached process.
            unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
            0
        }),
    )
    .unwrap();
    assert_eq!(a.wait().unwrap(), 128 + libc::SIGTERM);
}

#[test]
fn uid_gid_cwd_and_environment() {
    skip_unless_root!();
    let tc = TestContainer::busybox();
    let opts = AttachOptions {
        uid: Some(1000),
        gid: Some(1000),
        ..Default::default()
    };
    let (code, out) = tc.sh(opts, "id -u; id -g; grep CapEff /proc/self/status");
    assert_eq!(code, 0);
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(&l[..2], ["1000", "1000"]);
    assert!(l[2].ends_with("0000000000000000"), "{}", l[2]);

    // The test's environment, for what must and must not come through.
    let (var, val) = std::env::vars()
        .find(|(k, v)| {
            k != "PATH"
                && !k.is_empty()
                && !v.is_empty()
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !v.contains('\n')
        })
        .expect("some environment variable");

    let opts = AttachOptions {
        env_policy: EnvPolicy::ClearEnv,
        extra_env: vec!["FOO=bar".into()],
        ..Default::default()
    };
    let (code, out) = tc.run(opts, &["env"]);
    assert_eq!(code, 0);
    let env: Vec<&str> = out.lines().collect();
    assert!(env.contains(&"FOO=bar"), "{out}");
    assert!(env.contains(&"container=lxc"), "{out}");
    assert!(env.iter().any(|e| e.starts_with("PATH=")), "{out}");
    assert!(
        !env.iter().any(|e| e.starts_with(&format!("{var}="))),
        "{out}"
    );

    // Kept by default, and by name with a cleared environment.
    let (_, out) = tc.run(AttachOptions::default(), &["env"]);
    assert!(out.lines().any(|l| l == format!("{var}={val}")), "{out}");
    assert!(out.lines().any(|l| l == "container=lxc"), "{out}");
    let opts = AttachOptions {
        env_policy: EnvPolicy::ClearEnv,
        keep_vars: vec![var.clone()],
        ..Default::default()
    };
    let (_, out) = tc.run(opts, &["env"]);
    assert!(out.lines().any(|l| l == format!("{var}={val}")), "{out}");

    // The initial directory: asked for, or / when the caller's is not in the container.
    let opts = AttachOptions {
        cwd: Some("/etc".into()),
        ..Default::default()
    };
    assert_eq!(tc.run(opts, &["pwd"]).1.trim(), "/etc");
    assert!(!Path::new("/etc").join(tc.name()).exists());
    let opts = AttachOptions {
        cwd: Some(PathBuf::from("/lxcrs-t-no-such-dir")),
        ..Default::default()
    };
    assert_eq!(tc.run(opts, &["pwd"]).1.trim(), "/");
    // ... and says so, as LXC warns: the handle carries the warning.
    let (rd, wr) = pipe();
    let opts = AttachOptions {
        cwd: Some(PathBuf::from("/lxcrs-t-no-such-dir")),
        stdout: Some(wr),
        ..Default::default()
    };
    let a = attach::attach_command(&tc.c, &opts, &["true".to_string()]).unwrap();
    drop(opts);
    drop(rd);
    assert_eq!(
        a.warnings(),
        [attach::AttachWarning::CwdFallback {
            cwd: PathBuf::from("/lxcrs-t-no-such-dir"),
            errno: libc::ENOENT,
        }]
    );
    assert_eq!(a.wait().unwrap(), 0);
    // A directory that exists gives none.
    let opts = AttachOptions {
        cwd: Some("/etc".into()),
        ..Default::default()
    };
    let a = attach::attach_command(&tc.c, &opts, &["true".to_string()]).unwrap();
    assert!(a.warnings().is_empty(), "{:?}", a.warnings());
    assert_eq!(a.wait().unwrap(), 0);
}

#[test]
fn chosen_namespaces_only() {
    skip_unless_root!();
    let tc = TestContainer::busybox();
    // Only the uts namespace: the hostname is the container's, the rest is the host's.
    let opts = AttachOptions {
        namespaces: Some(vec!["UTSNAME".into()]),
        elevated_privileges: true,
        ..Default::default()
    };
    let me = std::process::id() as i32;
    let (code, out) = tc.sh(
        opts,
        "hostname; readlink /proc/self/ns/uts; readlink /proc/self/ns/mnt",
    );
    assert_eq!(code, 0, "{out}");
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], tc.name());
    assert_eq!(l[1], ns_link(tc.init_pid, "uts"));
    assert_eq!(l[2], ns_link(me, "mnt"));
}

#[test]
fn user_namespace_container() {
    skip_unless_root!();
    let tc = TestContainer::with_idmap(vec!["u 0 100000 65536".into(), "g 0 100000 65536".into()]);
    let (code, out) = tc.sh(
        AttachOptions::default(),
        "id -u; readlink /proc/self/ns/user; readlink /proc/self/ns/pid",
    );
    assert_eq!(code, 0, "{out}");
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], "0");
    assert_eq!(l[1], ns_link(tc.init_pid, "user"));
    assert_eq!(l[2], ns_link(tc.init_pid, "pid"));
}

#[test]
fn pty_session() {
    skip_unless_root!();
    let tc = TestContainer::busybox();
    let (master, path) = lxc_core::sys::openpty().unwrap();
    let peer: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&path)
        .unwrap()
        .into();
    // The caller's window size is the attached terminal's.
    let ws = libc::winsize {
        ws_row: 33,
        ws_col: 101,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize.
    let r = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    assert_eq!(r, 0);
    let mut cmd = rerun(
        "tty_helper",
        TTY_ENV,
        &format!("{}\n{}", tc.lxcpath.display(), tc.name()),
        tc.name(),
    );
    cmd.stdin(Stdio::from(peer.try_clone().unwrap()))
        .stdout(Stdio::from(peer.try_clone().unwrap()))
        .stderr(Stdio::from(peer));
    let mut child = cmd.spawn().unwrap();
    drop(cmd);

    // Read until every holder of the peer is gone (EIO); a generous bound so a bug cannot
    // hang the suite.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let mut typed = false;
    loop {
        if !typed && String::from_utf8_lossy(&out).contains("ready") {
            // The copy runs (its output came through), so the terminal is raw by now: what
            // is typed goes through to the container's pty as is.
            lxc_core::sys::write_all(master.as_fd(), b"hello\r").unwrap();
            typed = true;
        }
        let mut pfd = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, 1000) };
        assert!(
            Instant::now() < deadline,
            "no end: {}",
            String::from_utf8_lossy(&out)
        );
        if n <= 0 {
            continue;
        }
        match lxc_core::sys::read(master.as_fd(), &mut buf) {
            Ok(0) => break,
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) => panic!("read pty: {e}"),
        }
    }
    let status = child.wait().unwrap();
    let text = String::from_utf8_lossy(&out);
    eprintln!("pty session output: {text:?}");
    assert!(status.success(), "{status}: {text}");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert!(lines.contains(&"got:hello"), "{text:?}");
    // The container's own devpts: the first pty after the template's five ttys (pts/0..4).
    assert!(lines.contains(&"/dev/pts/5"), "{text:?}");
    assert!(lines.contains(&"33 101"), "{text:?}");
}

#[test]
fn pty_into_a_pipe() {
    skip_unless_root!();
    let tc = TestContainer::busybox();
    let (code, out) = tc.run_pty(
        AttachOptions::default(),
        &["sh", "-c", "test -t 0 && test -t 1 && tty; exit 3"],
    );
    assert_eq!(code, 3, "{out:?}");
    // The container's own devpts: the first pty after the template's five ttys.
    assert_eq!(out.trim(), "/dev/pts/5", "{out:?}");
}

#[test]
fn pty_falls_back_to_the_host_without_devpts() {
    skip_unless_root!();
    // No devpts instance in the container: no /dev/ptmx to open there.
    let tc = TestContainer::with_config(&[("lxc.pty.max", "0")]);
    let (code, ls) = tc.sh(AttachOptions::default(), "ls /dev/ptmx /dev/pts/ptmx 2>&1");
    assert_ne!(code, 0, "the container has a ptmx after all: {ls}");
    let (code, out) = tc.run_pty(
        AttachOptions::default(),
        &["sh", "-c", "test -t 0 && test -t 1 && echo TTY"],
    );
    assert_eq!(code, 0, "{out:?}");
    assert_eq!(out.trim(), "TTY");
}
