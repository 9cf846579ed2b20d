//! Saving a config: `config set` under the container lock (LXC's own lock file, so lxc-rs and
//! liblxc wait for each other), a file replaced whole (nothing left on a full disk), its mode,
//! owner and symlink kept, values that would become new lines refused, and "permission
//! denied" said as such.
//!
//! Every directory is `/tmp/lxcrs-t-<test>-<pid>` (lxc-testkit's `TestDir`, which also removes
//! the lock directory under /run/lxc/lock), removed after each test.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{show, stderr, BIN};
use lxc_testkit::{Oracle, TestDir};

/// A container `name` in `<dir>/lxcpath` with `text` as its config.
struct Ct {
    name: String,
    lxcpath: PathBuf,
}

impl Ct {
    fn new(dir: &TestDir, name: &str, text: &str) -> Ct {
        let ct = Ct {
            name: name.to_string(),
            lxcpath: dir.path().join("lxcpath"),
        };
        fs::create_dir_all(ct.lxcpath.join(name)).unwrap();
        fs::write(ct.config(), text).unwrap();
        ct
    }
    fn config(&self) -> PathBuf {
        self.lxcpath.join(&self.name).join("config")
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg(args[0])
            .args(["-n", &self.name, "-P", self.lxcpath.to_str().unwrap()])
            .args(&args[1..]);
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run lxc-rs")
    }
    fn lock_file(&self) -> PathBuf {
        lxc::lock::lock_path(&self.lxcpath, &self.name).unwrap()
    }
}

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const ORIGINAL: &str = "\
# the concurrency test's container
lxc.uts.name = lxcrs-conc

# comments and blank lines are kept
lxc.tty.max = 4
lxc.environment = KEEP=1
lxc.sysctl.net.ipv4.ip_forward = 1
lxc.cap.drop = sys_module
lxc.environment = KEEP2=2
";

/// 20 `lxc-rs config set` processes at once on one container, 12 times over: every config
/// keeps all its lines and gets all 20 updates, and every writer succeeds. Without the lock,
/// updates were lost in every trial and losers failed with "rename config ... No such file".
#[test]
fn twenty_parallel_writers_lose_nothing() {
    let dir = TestDir::fresh("lxcrs-t-conc");
    let ct = Ct::new(&dir, "lxcrs-t-conc", ORIGINAL);
    const WRITERS: usize = 20;
    for trial in 0..12 {
        fs::write(ct.config(), ORIGINAL).unwrap();
        let children: Vec<(usize, Child)> = (0..WRITERS)
            .map(|i| {
                let v = format!("VAR{i}={i}");
                let child = ct
                    .cmd(&["config", "set", "lxc.environment", &v])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start lxc-rs");
                (i, child)
            })
            .collect();
        for (i, child) in children {
            let o = child.wait_with_output().unwrap();
            assert!(
                o.status.success(),
                "trial {trial}, writer {i}: {}",
                show(&o)
            );
        }
        let saved = fs::read_to_string(ct.config()).unwrap();
        let lines: Vec<&str> = saved.lines().collect();
        for orig in ORIGINAL.lines() {
            assert!(
                lines.contains(&orig),
                "trial {trial}: the line {orig:?} was lost:\n{saved}"
            );
        }
        for i in 0..WRITERS {
            let want = format!("lxc.environment = VAR{i}={i}");
            let n = lines.iter().filter(|l| **l == want).count();
            assert_eq!(n, 1, "trial {trial}: {want:?} is there {n} times:\n{saved}");
        }
        assert_eq!(
            lines.len(),
            ORIGINAL.lines().count() + WRITERS,
            "trial {trial}:\n{saved}"
        );
        assert_eq!(names_in(&ct.lxcpath.join(&ct.name)), ["config"]);
    }
}

// ---------------------------------------------------------------------------------------------
// The lock against liblxc.

/// Who has the lock file `path` locked, from /proc/locks: (held, waiting).
fn lock_state(path: &Path) -> (usize, usize) {
    let Ok(m) = fs::metadata(path) else {
        return (0, 0);
    };
    let dev = m.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let id = format!("{major:02x}:{minor:02x}:{}", m.ino());
    let locks = fs::read_to_string("/proc/locks").unwrap_or_default();
    let (mut held, mut waiting) = (0, 0);
    for l in locks.lines() {
        let words: Vec<&str> = l.split_whitespace().collect();
        if !words.contains(&id.as_str()) {
            continue;
        }
        if words.get(1) == Some(&"->") {
            waiting += 1;
        } else {
            held += 1;
        }
    }
    (held, waiting)
}

/// Poll until `cond` holds; fail if `child` exits first or nothing happens for a long time
/// (a guard against hanging, not a timing assertion).
fn wait_for(what: &str, child: Option<&mut Child>, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut child = child;
    loop {
        if cond() {
            return;
        }
        if let Some(c) = child.as_deref_mut() {
            if let Some(st) = c.try_wait().unwrap() {
                panic!("waiting for {what}: the process exited first ({st})");
            }
        }
        assert!(Instant::now() < deadline, "{what} did not happen");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Open the FIFO for writing and close it at once: the reader blocked in open() gets an empty
/// file. Only when someone reads it (non-blocking: ENXIO while no one does). Before the close,
/// an empty regular file takes the FIFO's name: whoever loads the config next reads that
/// (lxc-rs refuses an include that is a FIFO; liblxc blocks in it, which is how the test makes
/// liblxc hold its lock).
fn release_fifo(fifo: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(writer) = fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(fifo)
    else {
        return false;
    };
    let plain = fifo.with_extension("plain");
    fs::write(&plain, "").unwrap();
    fs::rename(&plain, fifo).unwrap();
    drop(writer);
    true
}

/// A child process killed (if still running) when the test ends, however it ends.
struct Reap(Option<Child>);
impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The oracle for the lock tests, or why it cannot be built (printed as the reason to skip).
fn oracle_bin(dir: &TestDir) -> Option<PathBuf> {
    match Oracle::build(dir.path()) {
        Ok(b) => Some(b),
        Err(why) => {
            eprintln!("skipped: no liblxc to hold LXC's lock with: {why}");
            None
        }
    }
}

/// The config of a container whose load blocks in reading `fifo` (an `lxc.include`): whoever
/// loads it holds the container lock until the test opens the FIFO for writing.
fn with_fifo_include(dir: &TestDir, ct: &Ct) -> PathBuf {
    let fifo = dir.path().join("include.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    fs::write(
        ct.config(),
        format!("lxc.uts.name = lock\nlxc.include = {}\n", fifo.display()),
    )
    .unwrap();
    fifo
}

/// liblxc holds the container lock (inside `load_config` of the container's own file, blocked
/// on an include that is a FIFO); `lxc-rs config set` waits for it on the same lock file, and
/// goes on once liblxc lets go.
#[test]
fn config_set_waits_for_liblxc_holding_the_lock() {
    let dir = TestDir::fresh("lxcrs-t-lockwait");
    let Some(bin) = oracle_bin(&dir) else { return };
    let ct = Ct::new(&dir, "lxcrs-t-lockwait", "lxc.uts.name = lock\n");
    let mut lxc = Oracle::spawn(&bin, dir.path(), &ct.name);
    let fifo = with_fifo_include(&dir, &ct);
    let lock = ct.lock_file();

    // liblxc takes its disk lock only when it loads the container's own config file.
    lxc.send(&["load", ct.config().to_str().unwrap()]);
    wait_for("liblxc holding the lock file lxc-rs names", None, || {
        lock_state(&lock).0 == 1
    });

    let mut rs = Reap(Some(
        ct.cmd(&["config", "set", "lxc.environment", "FROM_RS=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    wait_for("lxc-rs waiting for the lock", rs.0.as_mut(), || {
        lock_state(&lock).1 == 1
    });
    assert!(
        !fs::read_to_string(ct.config()).unwrap().contains("FROM_RS"),
        "lxc-rs wrote while liblxc held the lock"
    );

    // Let liblxc finish its load (and so release the lock); then lxc-rs, which reads the
    // include (a plain file by now) once it has the lock.
    wait_for("liblxc reading the FIFO", None, || release_fifo(&fifo));
    assert!(lxc.answer_ok(), "liblxc's load_config failed");
    let o = rs.0.take().unwrap().wait_with_output().unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let saved = fs::read_to_string(ct.config()).unwrap();
    assert!(saved.contains("lxc.environment = FROM_RS=1"), "{saved}");
    assert!(saved.contains("lxc.include = "), "{saved}");
}

/// lxc-rs holds the container lock (through the API, as `config set` does from its load to
/// its save); liblxc's `save_config` of the container waits for it, and writes after it.
#[test]
fn liblxc_save_config_waits_for_config_set() {
    let dir = TestDir::fresh("lxcrs-t-lockheld");
    let Some(bin) = oracle_bin(&dir) else { return };
    let ct = Ct::new(&dir, "lxcrs-t-lockheld", "lxc.uts.name = lock\n");
    let mut lxc = Oracle::spawn(&bin, dir.path(), &ct.name);
    let lock = ct.lock_file();

    let mut c = lxc::Container::new(&ct.name, Some(&ct.lxcpath)).unwrap();
    let guard = c.lock_config().unwrap();
    assert_eq!(
        lock_state(&lock).0,
        1,
        "lxc-rs holds the lock file liblxc uses"
    );

    assert!(lxc.set("lxc.environment", "FROM_LXC=1"));
    lxc.send(&["save", ct.config().to_str().unwrap()]);
    wait_for("liblxc's save_config waiting for the lock", None, || {
        lock_state(&lock).1 == 1
    });
    // lxc-rs saves under its lock (shared with the guard on this thread) meanwhile.
    c.set_config_item("lxc.environment", "FROM_RS=1").unwrap();
    c.save_config(None).unwrap();
    assert!(
        !fs::read_to_string(ct.config())
            .unwrap()
            .contains("FROM_LXC"),
        "liblxc saved while lxc-rs held the lock"
    );
    drop(guard);
    assert!(lxc.answer_ok(), "liblxc's save_config failed");
    // liblxc wrote last, from the config it had in memory: its value, not lxc-rs's.
    let saved = fs::read_to_string(ct.config()).unwrap();
    assert!(saved.contains("FROM_LXC=1"), "{saved}");
    assert!(!saved.contains("FROM_RS"), "{saved}");
}

// ---------------------------------------------------------------------------------------------
// The file itself.

/// Saving keeps the config's mode and owner, and writes through a symlink to its target.
#[test]
fn save_keeps_mode_owner_and_symlink() {
    let dir = TestDir::fresh("lxcrs-t-keep");
    let ct = Ct::new(&dir, "lxcrs-t-keep", "lxc.uts.name = keep\n");
    let cfg = ct.config();
    let set = |v: &str| {
        let o = ct.run(&["config", "set", "lxc.tty.max", v]);
        assert!(o.status.success(), "{}", show(&o));
    };

    fs::set_permissions(&cfg, fs::Permissions::from_mode(0o640)).unwrap();
    set("1");
    let m = fs::metadata(&cfg).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o640);
    assert!(fs::read_to_string(&cfg)
        .unwrap()
        .contains("lxc.tty.max = 1"));

    if is_root() {
        std::os::unix::fs::chown(&cfg, Some(65534), Some(65534)).unwrap();
        fs::set_permissions(&cfg, fs::Permissions::from_mode(0o600)).unwrap();
        set("2");
        let m = fs::metadata(&cfg).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (65534, 65534, 0o600));
    } else {
        eprintln!("not checked: keeping another user's ownership needs root");
    }

    // A config that is a (relative) symlink stays one; its target is what changes.
    let real = dir.path().join("real.conf");
    fs::rename(&cfg, &real).unwrap();
    std::os::unix::fs::symlink("../../real.conf", &cfg).unwrap();
    set("3");
    assert!(fs::symlink_metadata(&cfg).unwrap().file_type().is_symlink());
    let text = fs::read_to_string(&real).unwrap();
    assert!(text.contains("lxc.tty.max = 3"), "{text}");
    assert_eq!(
        fs::metadata(&real).unwrap().mode() & 0o7777,
        if is_root() { 0o600 } else { 0o640 }
    );
    assert_eq!(names_in(dir.path()), ["lxcpath", "real.conf"]);
    assert_eq!(names_in(&ct.lxcpath.join(&ct.name)), ["config"]);
}

/// On a full filesystem (a 64 KiB tmpfs holding the lxcpath) `config set` fails with ENOSPC,
/// the config stays as it was, and no temporary file is left.
#[test]
fn nothing_is_left_on_a_full_disk() {
    if !is_root() {
        eprintln!("skipped: mounting a tiny tmpfs needs root");
        return;
    }
    let dir = TestDir::fresh("lxcrs-t-enospc");
    let lxcpath = dir.path().join("lxcpath");
    fs::create_dir_all(&lxcpath).unwrap();
    nix::mount::mount(
        Some("tmpfs"),
        &lxcpath,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=64k,mode=0755"),
    )
    .expect("mount a tmpfs");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let _unmount = Unmount(lxcpath.clone());
    let ct = Ct::new(
        &dir,
        "lxcrs-t-enospc",
        "lxc.uts.name = full\nlxc.tty.max = 1\n",
    );
    let before = fs::read(ct.config()).unwrap();

    let big = format!("BIG={}", "x".repeat(100_000));
    let o = ct.run(&["config", "set", "lxc.environment", &big]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stderr(&o).contains("No space left on device"),
        "{}",
        show(&o)
    );
    assert_eq!(fs::read(ct.config()).unwrap(), before);
    assert_eq!(names_in(&ct.lxcpath.join(&ct.name)), ["config"]);
    assert_eq!(names_in(&ct.lxcpath), [ct.name.as_str()]);

    // And a change that fits still works there.
    let o = ct.run(&["config", "set", "lxc.tty.max", "2"]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(fs::read_to_string(ct.config())
        .unwrap()
        .contains("lxc.tty.max = 2"));
}

/// A value with a line break would become a line of its own on save (here a host hook):
/// refused, naming the key, and the file is not touched. Tab is a fine character in a value.
#[test]
fn control_characters_are_refused() {
    let dir = TestDir::fresh("lxcrs-t-ctl");
    let ct = Ct::new(&dir, "lxcrs-t-ctl", "lxc.uts.name = ctl\n");
    let before = fs::read(ct.config()).unwrap();
    for bad in [
        "x\nlxc.hook.pre-start = /tmp/evil.sh",
        "x\rlxc.hook.pre-start = /tmp/evil.sh",
        "x\u{1b}[1m",
        "x\u{7f}",
    ] {
        let o = ct.run(&["config", "set", "lxc.uts.name", bad]);
        assert_eq!(o.status.code(), Some(1), "{bad:?}: {}", show(&o));
        let e = stderr(&o);
        assert!(
            e.contains("lxc.uts.name") && e.contains("control characters"),
            "{bad:?}: {e}"
        );
        assert_eq!(fs::read(ct.config()).unwrap(), before, "{bad:?}");
    }
    // The key is checked too: a prefix key (lxc.sysctl.*) would take anything after it.
    let o = ct.run(&[
        "config",
        "set",
        "lxc.sysctl.x\nlxc.hook.pre-start",
        "/tmp/evil.sh",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("invalid key"), "{}", show(&o));
    assert_eq!(fs::read(ct.config()).unwrap(), before);

    let o = ct.run(&["config", "set", "lxc.environment", "A=1\t2"]);
    assert!(o.status.success(), "{}", show(&o));
}

/// A user who may not enter the lxcpath is told "permission denied", not "not defined"; a user
/// who may, and whose euid is not /run's owner, locks under $XDG_RUNTIME_DIR as LXC does.
#[test]
fn permission_denied_is_said_as_such() {
    if !is_root() {
        eprintln!("skipped: switching to another user needs root");
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: no setpriv (util-linux) to run as another user");
        return;
    }
    let dir = TestDir::fresh("lxcrs-t-perm");
    let ct = Ct::new(&dir, "lxcrs-t-perm", "lxc.uts.name = perm\n");
    // The test binary may sit where another user cannot reach it: use a copy.
    let bin = dir.path().join("lxc-rs");
    fs::copy(BIN, &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    let xdg = dir.path().join("xdg");
    fs::create_dir(&xdg).unwrap();
    std::os::unix::fs::chown(&xdg, Some(65534), Some(65534)).unwrap();
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(&bin)
            .arg(args[0])
            .args(["-n", &ct.name, "-P", ct.lxcpath.to_str().unwrap()])
            .args(&args[1..])
            .env("XDG_RUNTIME_DIR", &xdg)
            .output()
            .unwrap()
    };

    fs::set_permissions(&ct.lxcpath, fs::Permissions::from_mode(0o700)).unwrap();
    for args in [
        &["config", "set", "lxc.tty.max", "2"][..],
        &["config", "get", "lxc.uts.name"],
        &["config", "clear", "lxc.tty.max"],
        &["info"],
        &["state"],
    ] {
        let o = as_nobody(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", show(&o));
        let e = stderr(&o);
        assert!(e.contains("Permission denied"), "{args:?}: {e}");
        assert!(!e.contains("not defined"), "{args:?}: {e}");
    }

    // Readable and writable for nobody: the edit works, locked under $XDG_RUNTIME_DIR.
    fs::set_permissions(&ct.lxcpath, fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(ct.lxcpath.join(&ct.name), Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::chown(ct.config(), Some(65534), Some(65534)).unwrap();
    let o = as_nobody(&["config", "set", "lxc.tty.max", "2"]);
    assert!(o.status.success(), "{}", show(&o));
    let lock = lxc::lock::lock_path_in(xdg.as_os_str(), &ct.lxcpath, &ct.name);
    assert!(lock.is_file(), "no lock file at {}", lock.display());
    assert_eq!(fs::metadata(&lock).unwrap().uid(), 65534);

    // And a container that is not there is still "not defined".
    let o = Command::new(BIN)
        .args(["config", "get", "-n", "lxcrs-t-nothere", "-P"])
        .arg(&ct.lxcpath)
        .arg("lxc.uts.name")
        .output()
        .unwrap();
    assert!(stderr(&o).contains("not defined"), "{}", show(&o));
}
