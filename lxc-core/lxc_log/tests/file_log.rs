//! Logging to real files: priorities, the line layout, appending, default paths,
//! reconfiguration and a container's own keys taking over.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use lxc_ext_lxc_log::{
    alert, crit, fatal, log_apply_container, log_close, log_init, notice, LogOptions, Priority,
};

fn opts(file: Option<PathBuf>, level: Option<Priority>) -> LogOptions {
    LogOptions {
        name: Some("lxcrs-t-c1".into()),
        file,
        level,
        prefix: "lxc-test".into(),
        quiet: true,
        ..LogOptions::default()
    }
}

fn emit_all(tag: &str) {
    tracing::trace!("{tag} trace");
    tracing::debug!("{tag} debug");
    tracing::info!("{tag} info");
    notice!("{tag} notice");
    tracing::warn!("{tag} warn");
    tracing::error!("{tag} error");
    crit!("{tag} crit");
    alert!("{tag} alert");
    fatal!("{tag} fatal");
}

const ALL: [&str; 9] = [
    "trace", "debug", "info", "notice", "warn", "error", "crit", "alert", "fatal",
];

/// The messages of `tag` found in `text`, in order.
fn seen(text: &str, tag: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split(" - ").nth(2))
        .filter_map(|m| m.strip_prefix(&format!("{tag} ")))
        .map(str::to_string)
        .collect()
}

#[test]
fn priorities_filter() {
    let _s = common::serial();
    let dir = common::tempdir();
    for (i, p) in Priority::ALL.into_iter().enumerate() {
        let path = dir.path().join(format!("{p}.log"));
        let g = log_init(&opts(Some(path.clone()), Some(p))).unwrap();
        emit_all("prio");
        drop(g);
        let want: Vec<String> = ALL[i..].iter().map(|s| s.to_string()).collect();
        assert_eq!(seen(&common::read(&path), "prio"), want, "level {p}");
    }
    // No level: LXC's default, ERROR.
    let path = dir.path().join("default.log");
    let g = log_init(&opts(Some(path.clone()), None)).unwrap();
    emit_all("prio");
    drop(g);
    assert_eq!(
        seen(&common::read(&path), "prio"),
        ["error", "crit", "alert", "fatal"]
    );
}

#[test]
fn lines_carry_prefix_name_time_priority_and_location() {
    let _s = common::serial();
    let dir = common::tempdir();
    let path = dir.path().join("layout.log");
    let g = log_init(&opts(Some(path.clone()), Some(Priority::Trace))).unwrap();
    let line_a = line!() + 1;
    tracing::warn!(pid = 42, path = "/x", "layout outside");
    let span = tracing::info_span!("phase_pre_clone");
    let line_b = {
        let _e = span.enter();
        let l = line!() + 1;
        notice!("layout inside");
        l
    };
    drop(g);
    let text = common::read(&path);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");

    for (line, prio, func, src_line, msg) in [
        (
            lines[0],
            "WARN",
            "file_log",
            line_a,
            "layout outside pid=42 path=\"/x\"",
        ),
        (
            lines[1],
            "NOTICE",
            "phase_pre_clone",
            line_b,
            "layout inside",
        ),
    ] {
        let rest = line.strip_prefix("lxc-test lxcrs-t-c1 ").expect(line);
        let (ts, rest) = rest.split_at(18);
        assert!(
            ts.len() == 18
                && ts[..14].bytes().all(|b| b.is_ascii_digit())
                && &ts[14..15] == "."
                && ts[15..].bytes().all(|b| b.is_ascii_digit()),
            "timestamp {ts:?} in {line}"
        );
        assert!(ts.starts_with("20"), "{ts}");
        let rest = rest.strip_prefix(' ').expect(line);
        assert_eq!(&rest[..9], format!("{prio:<8} "), "{line}");
        let rest = &rest[9..];
        let want_tail =
            format!("file_log - lxc-core/lxc_log/tests/file_log.rs:{func}:{src_line} - {msg}");
        assert_eq!(rest, want_tail, "{line}");
    }
}

#[test]
fn file_is_appended_with_mode_0640_and_its_directories_made() {
    let _s = common::serial();
    let dir = common::tempdir();
    let old = dir.path().join("old.log");
    fs::write(&old, "an earlier line\n").unwrap();
    let g = log_init(&opts(Some(old.clone()), None)).unwrap();
    tracing::error!("append one");
    drop(g);
    let g = log_init(&opts(Some(old.clone()), None)).unwrap();
    tracing::error!("append two");
    drop(g);
    let text = common::read(&old);
    assert!(text.starts_with("an earlier line\n"), "{text}");
    assert_eq!(seen(&text, "append"), ["one", "two"]);

    let deep = dir.path().join("a/b/c/new.log");
    let g = log_init(&opts(Some(deep.clone()), None)).unwrap();
    assert_eq!(g.file(), Some(deep.clone()));
    tracing::error!("deep one");
    drop(g);
    assert_eq!(seen(&common::read(&deep), "deep"), ["one"]);
    let mode = fs::metadata(&deep).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode & !0o640, 0, "mode {mode:o} is at most 0640");
    assert_eq!(mode & 0o600, 0o600, "mode {mode:o}: owner reads and writes");
    let dmode = fs::metadata(dir.path().join("a/b"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dmode & !0o755, 0, "dir mode {dmode:o}");

    // A file that cannot be opened is an error naming it.
    let bad = dir.path().join("old.log/x.log");
    let e = log_init(&opts(Some(bad.clone()), None)).unwrap_err();
    assert!(e.to_string().contains(&bad.display().to_string()), "{e}");
}

#[test]
fn default_file_under_lxcpath_and_none() {
    let _s = common::serial();
    let dir = common::tempdir();
    let o = LogOptions {
        name: Some("lxcrs-t-c9".into()),
        lxcpath: Some(dir.path().to_path_buf()),
        level: Some(Priority::Info),
        quiet: true,
        ..LogOptions::default()
    };
    let g = log_init(&o).unwrap();
    let want = dir.path().join("lxcrs-t-c9/lxcrs-t-c9.log");
    assert_eq!(g.file(), Some(want.clone()));
    tracing::info!("dflt one");
    drop(g);
    let text = common::read(&want);
    assert_eq!(seen(&text, "dflt"), ["one"]);
    assert!(
        text.starts_with("lxc lxcrs-t-c9 "),
        "default prefix is lxc: {text}"
    );

    let none = LogOptions {
        file: Some("none".into()),
        ..o.clone()
    };
    let g = log_init(&none).unwrap();
    assert_eq!(g.file(), None);
    tracing::error!("dflt two");
    drop(g);
    assert_eq!(
        seen(&common::read(&want), "dflt"),
        ["one"],
        "`none` writes no file"
    );

    let unnamed = LogOptions {
        name: None,
        ..o.clone()
    };
    let g = log_init(&unnamed).unwrap();
    assert_eq!(g.file(), None, "no file and no name: no file");
    drop(g);
}

#[test]
fn second_init_reconfigures() {
    let _s = common::serial();
    let dir = common::tempdir();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    let ga = log_init(&opts(Some(a.clone()), Some(Priority::Info))).unwrap();
    tracing::info!("re one");
    let gb = log_init(&LogOptions {
        name: Some("lxcrs-t-other".into()),
        ..opts(Some(b.clone()), Some(Priority::Warn))
    })
    .unwrap();
    tracing::info!("re two");
    tracing::warn!("re three");
    // The replaced guard is inert.
    drop(ga);
    tracing::warn!("re four");
    drop(gb);
    tracing::error!("re five");
    assert_eq!(seen(&common::read(&a), "re"), ["one"]);
    let bt = common::read(&b);
    assert_eq!(seen(&bt, "re"), ["three", "four"]);
    assert!(bt.starts_with("lxc-test lxcrs-t-other "), "{bt}");
}

#[test]
fn container_keys_take_over_unless_a_file_was_given() {
    let _s = common::serial();
    let dir = common::tempdir();
    let cfg_file = dir.path().join("c1/c1.log");
    let config = lxc_core::Config::parse_str(
        &format!(
            "lxc.log.file = {}\nlxc.log.level = DEBUG\n",
            cfg_file.display()
        ),
        None,
    )
    .unwrap();
    let copts = lxc_ext_lxc_log::container_log_options("lxcrs-t-c1", dir.path(), &config);

    // Like lxc-start without -o: the container's file and level apply.
    let g = log_init(&LogOptions {
        name: None,
        file: Some("none".into()),
        ..opts(None, Some(Priority::Error))
    })
    .unwrap();
    tracing::debug!("ct hidden");
    log_apply_container(&copts).unwrap();
    assert_eq!(g.file(), Some(cfg_file.clone()));
    tracing::debug!("ct one");
    drop(g);
    let text = common::read(&cfg_file);
    assert_eq!(seen(&text, "ct"), ["one"]);
    assert!(
        text.starts_with("lxc-test lxcrs-t-c1 "),
        "the container's name: {text}"
    );

    // With -o: the tool's file and level stay.
    let tool = dir.path().join("tool.log");
    let g = log_init(&opts(Some(tool.clone()), Some(Priority::Error))).unwrap();
    log_apply_container(&copts).unwrap();
    tracing::debug!("ct two");
    tracing::error!("ct three");
    assert_eq!(g.file(), Some(tool.clone()));
    drop(g);
    assert_eq!(seen(&common::read(&tool), "ct"), ["three"]);
    assert_eq!(seen(&common::read(&cfg_file), "ct"), ["one"]);
}

#[test]
fn close_stops_the_file() {
    let _s = common::serial();
    let dir = common::tempdir();
    let path = dir.path().join("close.log");
    let g = log_init(&opts(Some(path.clone()), None)).unwrap();
    tracing::error!("cl one");
    log_close();
    assert_eq!(g.file(), None);
    tracing::error!("cl two");
    drop(g);
    assert_eq!(seen(&common::read(&path), "cl"), ["one"]);
    let e = log_apply_container(&LogOptions::default());
    assert!(
        e.is_ok(),
        "apply after close reuses the closed configuration: {e:?}"
    );
}
