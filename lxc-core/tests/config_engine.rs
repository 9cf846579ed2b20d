//! The config engine on real files: includes, comments kept on save, empty values, error
//! reports, and the typed views the start code reads.
//!
//! Files live under /tmp/lxcrs-t-engine-<test>-<pid>, removed after each test.

// The cgroup and mount keys are the always-on components' (their registrations).
use lxc_cgroup as _;
// lxc.cgroup2.* belongs to the cgroup2 extension.
use lxc_console as _;
use lxc_ext_cgroup2 as _;
use lxc_mount as _;
use std::fs;
use std::path::{Path, PathBuf};

use lxc_core::keys::parse;
use lxc_core::keys::typed;
use lxc_core::{Config, Error};

struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let p = PathBuf::from(format!("/tmp/lxcrs-t-engine-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).expect("make test dir");
        Dir(p)
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).expect("make dir");
        }
        fs::write(&p, text).expect("write file");
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn problems(e: &Error) -> Vec<String> {
    e.problems().iter().map(|p| p.to_string()).collect()
}

#[test]
fn include_file_and_directory() {
    let d = Dir::new("include");
    d.write(
        "common.conf",
        "lxc.uts.name = from-common\nlxc.tty.max = 2\n",
    );
    d.write(
        "conf.d/10-first.conf",
        "lxc.mount.entry = /a a none bind 0 0\n",
    );
    d.write(
        "conf.d/20-second.conf",
        "lxc.mount.entry = /b b none bind 0 0\n",
    );
    d.write("conf.d/notes.txt", "lxc.tty.max = 99\n");
    d.write("conf.d/.conf", "lxc.tty.max = 98\n");
    let main = d.write(
        "config",
        &format!(
            "lxc.include = {}\nlxc.include = {}\nlxc.include = {}/\nlxc.pty.max = 5\n",
            d.0.join("common.conf").display(),
            d.0.join("conf.d").display(),
            d.0.join("missing.d").display(),
        ),
    );
    let c = Config::load(&main).expect("load");
    assert_eq!(c.get("lxc.uts.name").unwrap(), "from-common");
    // Only *.conf files with a name before the suffix, in name order.
    assert_eq!(c.get("lxc.tty.max").unwrap(), "2");
    assert_eq!(
        c.get("lxc.mount.entry").unwrap(),
        "/a a none bind 0 0\n/b b none bind 0 0\n"
    );
    assert_eq!(c.get("lxc.pty.max").unwrap(), "5");
    // Saving writes the include lines, not what they brought in.
    let text = c.to_lxc_string();
    assert!(text.contains("lxc.include = "), "{text}");
    assert!(!text.contains("from-common"), "{text}");
    assert!(!text.contains("/a a none"), "{text}");

    // A relative include is read next to the including file.
    let rel = d.write("rel.conf", "lxc.include = common.conf\n");
    let c = Config::load(&rel).expect("relative include");
    assert_eq!(c.get("lxc.uts.name").unwrap(), "from-common");
}

#[test]
fn missing_include_file_names_file_and_line() {
    let d = Dir::new("missing");
    let main = d.write(
        "config",
        "lxc.uts.name = a\n# comment\nlxc.include = /nonexistent/lxcrs-t.conf\n",
    );
    let e = Config::load(&main).expect_err("missing include is an error");
    let p = problems(&e);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains(&format!("{}:3", main.display())),
        "names file:line: {}",
        p[0]
    );
    assert!(p[0].contains("/nonexistent/lxcrs-t.conf"), "{}", p[0]);
    assert!(matches!(e.problems()[0], Error::Include { .. }));
}

#[test]
fn include_loop_is_named_and_depth_still_bounded() {
    let d = Dir::new("loop");
    let a = d.0.join("a.conf");
    let b = d.0.join("b.conf");
    fs::write(
        &a,
        format!("lxc.tty.max = 1\nlxc.include = {}\n", b.display()),
    )
    .unwrap();
    fs::write(
        &b,
        format!("lxc.pty.max = 1\nlxc.include = {}\n", a.display()),
    )
    .unwrap();
    let e = Config::load(&a).expect_err("a loop is an error");
    let loops: Vec<&Error> = e
        .problems()
        .into_iter()
        .filter(|p| matches!(p, Error::IncludeLoop { .. }))
        .collect();
    assert_eq!(loops.len(), 1, "{:?}", problems(&e));
    let msg = loops[0].to_string();
    assert!(msg.contains("include loop"), "{msg}");
    assert!(msg.contains("b.conf:2"), "names the include line: {msg}");

    // A chain of distinct files deeper than the limit is still a depth error.
    let n = lxc_core::config::MAX_INCLUDE_DEPTH + 2;
    for i in 0..n {
        let next = d.0.join(format!("d{}.conf", i + 1));
        fs::write(
            d.0.join(format!("d{i}.conf")),
            format!("lxc.include = {}\n", next.display()),
        )
        .unwrap();
    }
    fs::write(d.0.join(format!("d{n}.conf")), "lxc.tty.max = 1\n").unwrap();
    let e = Config::load(&d.0.join("d0.conf")).expect_err("too deep");
    assert!(
        e.problems()
            .iter()
            .any(|p| matches!(p, Error::IncludeDepth { .. })),
        "{:?}",
        problems(&e)
    );
}

#[test]
fn comments_and_blank_lines_survive_save() {
    let d = Dir::new("comments");
    let text = "# Template used to create this container\n\
                \n\
                # Container specific configuration\n\
                lxc.uts.name = web\n\
                \n\
                lxc.mount.entry = /srv srv none bind 0 0\n\
                   # indented comment\n\
                lxc.tty.max = 4\n";
    let file = d.write("config", text);
    let mut c = Config::load(&file).expect("load");
    assert_eq!(c.to_lxc_string(), text);

    // Setting a single key replaces its line in place; a list key appends.
    c.set("lxc.uts.name", "db").unwrap();
    c.set("lxc.mount.entry", "/var var none bind 0 0").unwrap();
    let out = d.0.join("saved");
    c.save(&out).unwrap();
    let saved = fs::read_to_string(&out).unwrap();
    assert_eq!(
        saved,
        text.replace("lxc.uts.name = web", "lxc.uts.name = db")
            + "lxc.mount.entry = /var var none bind 0 0\n"
    );
    let back = Config::load(&out).unwrap();
    assert_eq!(back.get("lxc.uts.name").unwrap(), "db");
    assert_eq!(
        back.get("lxc.mount.entry").unwrap(),
        "/srv srv none bind 0 0\n/var var none bind 0 0\n"
    );
}

#[test]
fn values_are_read_like_lxc() {
    // Quotes, white space, CRLF, martian lines.
    let c = Config::parse_str(
        "lxc.uts.name = \"quoted name\"\r\n\tlxc.tty.max\t=\t4  \r\nnot an lxc line\n\
         lxc.init.cmd = 'x\"\n",
        None,
    )
    .expect("parse");
    assert_eq!(c.get("lxc.uts.name").unwrap(), "quoted name");
    assert_eq!(c.get("lxc.tty.max").unwrap(), "4");
    assert_eq!(c.get("lxc.init.cmd").unwrap(), "'x\"");
}

#[test]
fn empty_value_clears() {
    let c = Config::parse_str(
        "lxc.mount.entry = a b none bind 0 0\nlxc.mount.entry =\nlxc.uts.name = x\nlxc.uts.name =\n",
        None,
    )
    .unwrap();
    assert_eq!(c.get("lxc.mount.entry").unwrap(), "");
    assert_eq!(c.get("lxc.uts.name").unwrap(), "");
    // The lines stay in the saved text, so the file reads back the same.
    let back = Config::parse_str(&c.to_lxc_string(), None).unwrap();
    assert_eq!(back.get("lxc.mount.entry").unwrap(), "");

    let mut c = Config::new();
    c.set("lxc.sysctl.net.ipv4.ip_forward", "1").unwrap();
    c.set("lxc.sysctl.kernel.msgmax", "2").unwrap();
    assert_eq!(
        c.get("lxc.sysctl").unwrap(),
        "lxc.sysctl.net.ipv4.ip_forward = 1\nlxc.sysctl.kernel.msgmax = 2\n"
    );
    c.set("lxc.sysctl.kernel.msgmax", "").unwrap();
    assert_eq!(
        c.get("lxc.sysctl").unwrap(),
        "lxc.sysctl.net.ipv4.ip_forward = 1\n"
    );
    c.set("lxc.sysctl", "").unwrap();
    assert_eq!(c.get("lxc.sysctl").unwrap(), "");
    // An empty value is not always "unset": LXC's lxc.autodev becomes 0, and lxc.arch refuses.
    c.set("lxc.autodev", "").unwrap();
    assert_eq!(c.get("lxc.autodev").unwrap(), "0");
    assert!(c.set("lxc.arch", "").is_err());
}

#[test]
fn ten_mistakes_ten_errors() {
    let d = Dir::new("mistakes");
    let text = "\
# ten mistakes, one per line
lxc.tty.max = four
lxc.no.such.key = 1
lxc.uts.name
lxc.arch = sparc
lxc.idmap = u 0 100000
lxc.cap.drop = none
lxc.mount.auto = proc bogus
lxc.signal.halt = TERM
lxc.cgroup.dir = /absolute
lxc.prlimit.nofile = lots
lxc.uts.name = fine
";
    let file = d.write("config", text);
    let e = Config::load(&file).expect_err("ten mistakes");
    println!("{e}");
    let p = e.problems();
    assert_eq!(p.len(), 10, "{:#?}", problems(&e));
    let keys = [
        "lxc.tty.max",
        "lxc.no.such.key",
        "lxc.uts.name",
        "lxc.arch",
        "lxc.idmap",
        "lxc.cap.drop",
        "lxc.mount.auto",
        "lxc.signal.halt",
        "lxc.cgroup.dir",
        "lxc.prlimit.nofile",
    ];
    for (i, (problem, key)) in p.iter().zip(keys).enumerate() {
        let msg = problem.to_string();
        let at = format!("{}:{}", file.display(), i + 2);
        assert!(msg.contains(&at), "problem {i} names {at}: {msg}");
        assert!(msg.contains(key), "problem {i} names {key}: {msg}");
        match problem {
            Error::InvalidValue { expected, .. } => {
                assert!(!expected.is_empty(), "{msg}");
                assert!(msg.contains("expected"), "{msg}");
            }
            Error::UnknownKey { .. } => assert!(msg.contains("unknown"), "{msg}"),
            Error::Syntax { .. } => assert!(msg.contains("lxc.key = value"), "{msg}"),
            other => panic!("unexpected problem kind: {other:?}"),
        }
    }
    // What was expected, in words.
    let all = problems(&e).join("\n");
    for expected in [
        "an unsigned integer",
        "an architecture",
        "an id mapping",
        "only valid in lxc.cap.keep",
        "automount tokens",
        "a signal",
        "may not be absolute",
        "a limit",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
    // The aggregate names the file and the count.
    let whole = e.to_string();
    assert!(whole.contains("10 problem(s)"), "{whole}");
}

#[test]
fn keys_of_other_subsystems_say_what_provides_them() {
    let e = Config::parse_str("lxc.seccomp.profile = /x\nlxc.net.0.type = veth\n", None)
        .expect_err("not in this build");
    let p = problems(&e);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].contains("lxc-seccomp"), "{}", p[0]);
    assert!(p[1].contains("lxc-net"), "{}", p[1]);
}

#[test]
fn conflicting_keys_are_refused() {
    let mut c = Config::new();
    c.set("lxc.cap.drop", "sys_admin").unwrap();
    let e = c.set("lxc.cap.keep", "mknod").unwrap_err().to_string();
    assert!(e.contains("mutually exclusive"), "{e}");
    c.clear("lxc.cap.drop").unwrap();
    c.set("lxc.cap.keep", "mknod").unwrap();
    assert!(c.set("lxc.cap.drop", "sys_admin").is_err());

    c.set("lxc.namespace.clone", "net").unwrap();
    assert!(c.set("lxc.namespace.keep", "ipc").is_err());
}

#[test]
fn typed_views() {
    let c = Config::parse_str(
        "lxc.arch = x86\n\
         lxc.cap.keep = sys_admin 21\n\
         lxc.idmap = u 0 100000 65536\n\
         lxc.idmap = g 0 100000 65536\n\
         lxc.mount.auto = proc:rw sys:ro\n\
         lxc.mount.auto = cgroup:mixed shmounts:/host:/cont\n\
         lxc.namespace.clone = net IPC\n\
         lxc.prlimit.nofile = 1024:unlimited\n\
         lxc.prlimit.core = 0\n\
         lxc.signal.halt = SIGRTMIN+2\n\
         lxc.init.uid = 4294967295\n\
         lxc.init.groups = 1,2\n\
         lxc.init.groups = 3\n\
         lxc.rootfs.path = overlay:/a:/b\n\
         lxc.environment = A=1\n\
         lxc.hook.pre-start = /bin/true x\n\
         lxc.cgroup.memory.limit_in_bytes = 1G\n\
         lxc.cgroup.dir = payload\n\
         lxc.cgroup2.pids.max = 10\n",
        None,
    )
    .expect("parse");
    assert_eq!(typed::personality(&c), Some(parse::Personality::Linux32));
    let caps = typed::caps(&c);
    assert!(caps.keep);
    assert_eq!(caps.caps, vec![21, 21]);
    let maps = typed::idmaps(&c);
    assert_eq!(maps.len(), 2);
    assert!(maps[0].uid && !maps[1].uid);
    assert_eq!(
        (maps[0].nsid, maps[0].hostid, maps[0].range),
        (0, 100000, 65536)
    );
    assert_eq!(
        c.get("lxc.mount.auto").unwrap(),
        "proc:rw sys:ro cgroup:mixed"
    );
    assert_eq!(
        typed::namespaces_clone(&c),
        libc::CLONE_NEWNET | libc::CLONE_NEWIPC
    );
    let limits = typed::prlimits(&c);
    assert_eq!(limits[0].resource, "nofile");
    assert_eq!(
        (limits[0].soft, limits[0].hard),
        (1024, parse::RLIM_INFINITY)
    );
    assert_eq!(
        parse::rlimit_resource(&limits[1].resource),
        Some(libc::RLIMIT_CORE as i32)
    );
    assert_eq!(typed::signal(&c, "lxc.signal.halt"), Some(36));
    assert_eq!(typed::signal(&c, "lxc.signal.stop"), None);
    assert_eq!(typed::signal(&c, "lxc.monitor.signal.pdeath"), Some(9));
    assert_eq!(typed::number(&c, "lxc.init.uid"), u32::MAX);
    assert_eq!(typed::init_groups(&c), vec![1, 2, 3]);
    assert_eq!(c.get("lxc.rootfs.path").unwrap(), "/a:/b");
    assert_eq!(c.get("lxc.rootfs.managed").unwrap(), "1");
    assert_eq!(
        typed::environment(&c),
        vec![("A".to_string(), "1".to_string())]
    );
    assert_eq!(typed::hooks(&c, "pre-start"), vec!["/bin/true x"]);
    assert_eq!(
        c.get("lxc.cgroup").unwrap(),
        "lxc.cgroup.memory.limit_in_bytes = 1G\n"
    );
    assert_eq!(c.get("lxc.cgroup2").unwrap(), "lxc.cgroup2.pids.max = 10\n");
    assert_eq!(parse::signal("SIGTERM"), Some(libc::SIGTERM));
    assert_eq!(parse::cap("sys_admin"), Some(21));
}

#[test]
fn get_keys_lists_like_lxc() {
    let c = Config::new();
    let all = lxc_core::keys::list_keys(&c, None);
    assert_eq!(all.first().map(String::as_str), Some("lxc.arch"));
    assert!(all.iter().any(|k| k == "lxc.sysctl"));
    assert!(!all.iter().any(|k| k.ends_with('.') || k.contains('*')));
    assert_eq!(
        lxc_core::keys::list_keys(&c, Some("lxc.mount")),
        vec!["auto", "entry", "fstab"]
    );
    assert_eq!(
        lxc_core::keys::list_keys(&c, Some("lxc.signal")),
        vec!["halt", "reboot", "stop"]
    );
    assert!(lxc_core::keys::get_keys(&c, Some("lxc.nosuch")).is_none());
}

#[test]
fn saved_file_is_atomic_and_reloads() {
    let d = Dir::new("save");
    let mut c = Config::new();
    c.set("lxc.uts.name", "x").unwrap();
    c.set("lxc.idmap", "u 0 1 2").unwrap();
    let path: &Path = &d.0.join("sub/config");
    c.save(path).unwrap();
    assert_eq!(
        fs::read_to_string(path).unwrap(),
        "lxc.uts.name = x\nlxc.idmap = u 0 1 2\n"
    );
    assert!(!path.with_extension("lxcrs-tmp").exists());
    let back = Config::load(path).unwrap();
    assert_eq!(back.get("lxc.uts.name").unwrap(), "x");
    assert_eq!(back.get("lxc.idmap").unwrap(), "u 0 1 2");
}

/// A set value or key becomes one line of the saved file: line breaks, NUL and the other
/// control characters are refused on every path that sets (the API's `set`, `set_at` as `-s`
/// uses it, `Container::set_config_item`), naming the key; a tab is a character like any other.
#[test]
fn set_refuses_control_characters() {
    let mut c = Config::parse_str("lxc.uts.name = ok\n", None).unwrap();
    let before = c.to_lxc_string();
    for bad in [
        "x\nlxc.hook.pre-start = /tmp/evil.sh",
        "x\r",
        "a\0b",
        "a\u{1}",
        "a\u{1b}[0m",
        "\u{7f}",
    ] {
        let e = c.set("lxc.uts.name", bad).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, Error::InvalidValue { key, .. } if key == "lxc.uts.name"),
            "{bad:?}: {msg}"
        );
        assert!(msg.contains("control characters"), "{msg}");
        let e = c
            .set_at(
                "lxc.environment",
                bad,
                lxc_core::Origin::file("-s", 1),
                false,
            )
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("-s:1: lxc.environment: invalid value"),
            "{e}"
        );
    }
    for bad_key in [
        "lxc.sysctl.a\nlxc.hook.pre-start",
        "lxc.sysctl.a b",
        "lxc.sysctl.a=b",
        "lxc.uts.name\0",
    ] {
        let e = c.set(bad_key, "1").unwrap_err();
        assert!(matches!(e, Error::InvalidKey { .. }), "{bad_key:?}: {e}");
    }
    assert_eq!(c.to_lxc_string(), before);

    c.set("lxc.environment", "A=1\t2").unwrap();
    assert!(c.to_lxc_string().contains("lxc.environment = A=1\t2\n"));

    let mut ct =
        lxc_core::Container::new_unloaded("lxcrs-t-ctl", Some(Path::new("/nonexistent"))).unwrap();
    assert!(ct.set_config_item("lxc.uts.name", "a\nb").is_err());
}
