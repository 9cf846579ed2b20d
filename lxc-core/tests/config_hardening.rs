//! The config loader against hostile input: includes of devices, FIFOs, loops and bombs,
//! oversized files and values, floods of errors, and bytes that are not UTF-8.
//!
//! Every load runs on a thread with a deadline, so a loader that hangs fails the test instead
//! of hanging it. Files live under /tmp/lxcrs-t-harden-<test>-<pid>, removed after each test.

// The cgroup and mount keys are the always-on components' (their registrations).
use lxc_cgroup as _;
use lxc_console as _;
use lxc_mount as _;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use lxc_core::config::bytes;
use lxc_core::{Config, Error};
use lxc_testkit::{Oracle, TestDir};

struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let p = PathBuf::from(format!("/tmp/lxcrs-t-harden-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).expect("make test dir");
        Dir(p)
    }
    fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).expect("make dir");
        }
        fs::write(&p, text).expect("write file");
        p
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `Config::load` with a deadline: a loader that blocks or runs away fails here (the thread is
/// left behind; the test process ends with the failure).
fn load_within(path: &Path, secs: u64) -> Result<Config, Error> {
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(Config::load(&p));
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(r) => r,
        Err(_) => panic!("loading {} did not finish within {secs} s", path.display()),
    }
}

fn problems(e: &Error) -> Vec<&Error> {
    e.problems()
}

#[test]
fn include_of_a_device_is_refused() {
    let d = Dir::new("dev");
    let main = d.write("config", "lxc.uts.name = a\nlxc.include = /dev/zero\n");
    let e = load_within(&main, 5).expect_err("an include of /dev/zero must fail");
    let p = problems(&e);
    assert_eq!(p.len(), 1, "{e}");
    match p[0] {
        Error::IncludeKind { origin, path, kind } => {
            assert_eq!(origin.line, 2);
            assert_eq!(path, Path::new("/dev/zero"));
            assert_eq!(*kind, "character device");
        }
        other => panic!("expected IncludeKind, got {other}"),
    }
    assert!(e.to_string().contains("config:2"), "{e}");
}

#[test]
fn include_of_a_fifo_does_not_block() {
    let d = Dir::new("fifo");
    let fifo = d.path("pipe.conf");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let main = d.write("config", format!("lxc.include = {}\n", fifo.display()));
    let e = load_within(&main, 5).expect_err("an include of a FIFO must fail");
    assert!(
        matches!(problems(&e)[..], [Error::IncludeKind { kind: "FIFO", .. }]),
        "{e}"
    );
    // A FIFO in an include directory is refused the same way.
    let main = d.write("config2", format!("lxc.include = {}/\n", d.0.display()));
    let e = load_within(&main, 5).expect_err("a FIFO in an include directory must fail");
    assert!(
        problems(&e)
            .iter()
            .any(|p| matches!(p, Error::IncludeKind { kind: "FIFO", .. })),
        "{e}"
    );
}

#[test]
fn include_loop_names_the_include_line() {
    let d = Dir::new("loop");
    let a = d.path("a.conf");
    let b = d.write(
        "b.conf",
        format!("lxc.tty.max = 1\n\nlxc.include = {}\n", a.display()),
    );
    d.write("a.conf", format!("lxc.include = {}\n", b.display()));
    let e = load_within(&a, 5).expect_err("a loop must fail");
    let p = problems(&e);
    assert_eq!(p.len(), 1, "{e}");
    match p[0] {
        Error::IncludeLoop { origin, path } => {
            assert_eq!(origin.file.as_deref(), Some(b.as_path()));
            assert_eq!(origin.line, 3);
            assert_eq!(path, &a);
        }
        other => panic!("expected IncludeLoop, got {other}"),
    }
    assert!(e.to_string().contains("include loop"), "{e}");

    // A file that includes itself.
    let s = d.path("self.conf");
    d.write("self.conf", format!("lxc.include = {}\n", s.display()));
    let e = load_within(&s, 5).expect_err("a self include must fail");
    assert!(
        matches!(problems(&e)[..], [Error::IncludeLoop { .. }]),
        "{e}"
    );
}

#[test]
fn directory_whose_files_include_it_is_one_error_each() {
    let d = Dir::new("dirloop");
    let dir = d.path("conf.d");
    for n in ["a", "b", "c"] {
        d.write(
            &format!("conf.d/{n}.conf"),
            format!("lxc.include = {}/\n", dir.display()),
        );
    }
    let main = d.write("config", format!("lxc.include = {}/\n", dir.display()));
    let e = load_within(&main, 10).expect_err("a directory loop must fail");
    let p = problems(&e);
    assert_eq!(p.len(), 3, "{e}");
    assert!(
        p.iter().all(|p| matches!(p, Error::IncludeLoop { .. })),
        "{e}"
    );
}

#[test]
fn include_bomb_is_bounded_by_files_per_load() {
    // f0 includes f1 twice, f1 includes f2 twice, ...: 2^13 reads, no loop.
    let d = Dir::new("bomb");
    let levels = 13;
    d.write(&format!("f{levels}.conf"), "lxc.tty.max = 1\n");
    for i in (0..levels).rev() {
        let next = d.path(&format!("f{}.conf", i + 1));
        d.write(
            &format!("f{i}.conf"),
            format!(
                "lxc.include = {}\nlxc.include = {}\n",
                next.display(),
                next.display()
            ),
        );
    }
    let e = load_within(&d.path("f0.conf"), 20).expect_err("the bomb must hit a limit");
    let p = problems(&e);
    assert!(
        p.iter()
            .any(|p| matches!(p, Error::IncludeLimit { limit: 4096, .. })),
        "{e}"
    );
    assert!(p.len() <= lxc_core::config::MAX_PROBLEMS + 1, "{}", p.len());
}

#[test]
fn oversized_files_are_refused_without_reading_them() {
    let d = Dir::new("big");
    let big = d.path("big.conf");
    let f = fs::File::create(&big).expect("create");
    // Sparse: 17 MiB of NULs that take no disk.
    f.set_len(lxc_core::config::MAX_FILE_BYTES + (1 << 20))
        .expect("set_len");
    let main = d.write("config", format!("lxc.include = {}\n", big.display()));
    let e = load_within(&main, 10).expect_err("a 17 MiB include must fail");
    assert!(
        matches!(problems(&e)[..], [Error::IncludeLimit { origin, .. }] if origin.line == 1),
        "{e}"
    );
    let e = load_within(&big, 10).expect_err("a 17 MiB config must fail");
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    // The loaded file itself may be a pipe or a device: only its size is bounded.
    let e = load_within(Path::new("/dev/zero"), 20).expect_err("/dev/zero as the config");
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
}

#[test]
fn problems_are_capped_with_a_count_of_the_rest() {
    let d = Dir::new("flood");
    let main = d.write("config", "lxc.bogus.key = 1\n".repeat(1000));
    let e = load_within(&main, 10).expect_err("must fail");
    let p = problems(&e);
    assert_eq!(p.len(), lxc_core::config::MAX_PROBLEMS + 1);
    match p.last() {
        Some(Error::MoreProblems { more, .. }) => assert_eq!(*more, 900),
        other => panic!("expected MoreProblems last, got {other:?}"),
    }
    let text = e.to_string();
    assert!(text.contains("1000 problem(s)"), "{}", &text[..200]);
    assert!(text.contains("and 900 more problem(s)"));
}

#[test]
fn error_messages_quote_a_bounded_part_of_a_value() {
    let huge = "9".repeat(10 << 20);
    let e = Config::parse_str(&format!("lxc.tty.max = x{huge}\n"), None).expect_err("invalid");
    let msg = e.to_string();
    assert!(msg.len() < 1024, "message is {} bytes", msg.len());
    assert!(
        msg.contains(&format!("({} bytes)", huge.len() + 1)),
        "{msg}"
    );
    let e = Config::parse_str(&format!("lxc.{huge}\n"), None).expect_err("syntax");
    assert!(e.to_string().len() < 1024);
    let e = Config::parse_str(&format!("lxc.{huge} = 1\n"), None).expect_err("unknown key");
    assert!(e.to_string().len() < 1024);
    // Bytes that are not UTF-8 show as \xNN.
    let e = Config::parse_bytes(b"lxc.tty.max = \xff\xfe\n", None).expect_err("invalid");
    assert!(e.to_string().contains(r#""\xff\xfe""#), "{e}");
}

#[test]
fn values_keep_their_bytes_through_load_get_and_save() {
    let d = Dir::new("bytes");
    // Latin-1, a lone continuation byte, and the UTF-8 of U+10FF80 (the escape range itself).
    let text: &[u8] = b"# caf\xe9\nlxc.uts.name = prb\xff\xfe\nlxc.rootfs.path = dir:/srv/caf\xe9\nlxc.environment = X=\xf4\x8f\xbe\x80\x80\n";
    let main = d.write("config", text);
    let c = load_within(&main, 5).expect("loads");
    let uts = c.get("lxc.uts.name").expect("get");
    assert_eq!(&*bytes::encode(&uts), b"prb\xff\xfe");
    assert!(!uts.contains('\u{fffd}'));
    assert_eq!(
        bytes::to_path(&c.get("lxc.rootfs.path").expect("get")),
        Path::new(std::ffi::OsStr::from_bytes(b"/srv/caf\xe9"))
    );
    assert_eq!(c.to_lxc_bytes(), text);
    let out = d.path("saved");
    c.save(&out).expect("save");
    assert_eq!(fs::read(&out).expect("read"), text);
    // An include path with a Latin-1 byte is opened by its bytes.
    d.write(
        std::str::from_utf8(b"inc-\xc3\xa9.conf").expect("utf8"),
        "lxc.tty.max = 3\n",
    );
    let inc = d.0.as_os_str().as_bytes().to_vec();
    let latin = [&inc[..], b"/inc-\xe9.conf"].concat();
    fs::write(std::ffi::OsStr::from_bytes(&latin), "lxc.tty.max = 4\n")
        .expect("write latin-1 named file");
    let main = d.write(
        "config2",
        [b"lxc.include = ".as_slice(), &latin, b"\n"].concat(),
    );
    let c = load_within(&main, 5).expect("loads");
    assert_eq!(c.get("lxc.tty.max").expect("get"), "4");
    assert_eq!(c.to_lxc_bytes(), fs::read(&main).expect("read"));
}

#[test]
fn byte_values_match_liblxc() {
    let tmp = TestDir::fresh("lxcrs-t-harden-oracle");
    let bin = match Oracle::build(tmp.path()) {
        Ok(b) => b,
        Err(why) => {
            eprintln!("SKIP byte_values_match_liblxc: {why}");
            return;
        }
    };
    let text: &[u8] =
        b"lxc.uts.name = prb\xff\xfe\nlxc.rootfs.path = dir:/srv/caf\xe9\nlxc.init.cwd = /\xe9\n";
    let file = tmp.path().join("bytes.conf");
    fs::write(&file, text).expect("write");
    let mut lxc = Oracle::spawn(&bin, tmp.path(), "lxcrs-t-harden-oracle");
    lxc.reset();
    assert!(lxc.load(&file), "liblxc loads the file");
    let ours = Config::load(&file).expect("we load the file");
    for key in ["lxc.uts.name", "lxc.rootfs.path", "lxc.init.cwd"] {
        let theirs = lxc.get_bytes(key).expect("liblxc get");
        let mine = ours.get(key).expect("our get");
        assert_eq!(
            bytes::encode(&mine).as_ref(),
            theirs.as_slice(),
            "{key}: ours {:?}, liblxc {:?}",
            bytes::quote(&mine),
            String::from_utf8_lossy(&theirs)
        );
    }
    let saved = tmp.path().join("lxc-saved.conf");
    assert!(lxc.save(&saved), "liblxc saves");
    let lxc_text = fs::read(&saved).expect("read liblxc's save");
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(
            lxc_text.windows(line.len()).any(|w| w == line),
            "liblxc's saved file lacks {:?}",
            String::from_utf8_lossy(line)
        );
    }
    assert_eq!(ours.to_lxc_bytes(), text);
}

/// Found by the fuzzer: a file of one empty line saved as nothing the second time round.
#[test]
fn a_single_empty_line_survives_save() {
    for text in [&b"\n"[..], b"\r\n", b"\n\n", b"lxc.tty.max = 1\n\n"] {
        let c = Config::parse_bytes(text, None).expect("parses");
        let saved = c.to_lxc_bytes();
        let again = Config::parse_bytes(&saved, None).expect("parses again");
        assert_eq!(
            again.to_lxc_bytes(),
            saved,
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
    assert_eq!(
        Config::parse_bytes(b"\n", None)
            .expect("parses")
            .to_lxc_bytes(),
        b"\n"
    );
}
