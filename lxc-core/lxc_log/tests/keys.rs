//! The `lxc.log.*` keys through lxc-core's Config: parsing, printing, clearing, and what a
//! container's config turns into; plus Priority and Facility on their own.

mod common;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lxc_core::{config_item_is_supported, has_api_extension, Config, Error as CoreError};
use lxc_ext_lxc_log::{
    container_log_options, container_syslog, Facility, LogOptions, Priority, Syslog, DEV_LOG,
};
use lxc_testkit::{Oracle, TestDir};

/// (value given to set_config_item, what get_config_item prints afterwards or None if the set
/// fails) as measured with Debian's liblxc 5.0.2 (see `lxc_itself_agrees` below).
const LEVELS: &[(&str, Option<&str>)] = &[
    ("0", Some("TRACE")),
    ("00", Some("TRACE")),
    ("1", Some("DEBUG")),
    ("5", Some("ERROR")),
    ("8", Some("FATAL")),
    ("0x3", Some("NOTICE")),
    ("0X7", Some("ALERT")),
    ("010", Some("FATAL")),
    ("debug", Some("DEBUG")),
    ("DeBuG", Some("DEBUG")),
    ("WARN", Some("WARN")),
    ("notice", Some("NOTICE")),
    ("crit", Some("CRIT")),
    ("9", None),
    ("42", None),
    ("08", None),
    ("0x", None),
    ("-1", None),
    (" 3", None),
    ("3 ", None),
    ("3x", None),
    ("99999999999", None),
    ("warning", None),
    ("foo", None),
    ("NOTSET", None),
];

const FACILITIES: &[(&str, bool)] = &[
    ("daemon", true),
    ("DAEMON", true),
    ("Local0", true),
    ("local7", true),
    ("local8", false),
    ("user", false),
    ("kern", false),
    ("syslog", false),
];

fn file_cases(dir: &str) -> Vec<(String, String)> {
    vec![
        (format!("{dir}//a/./b/"), format!("{dir}/a/b")),
        ("./x.log".into(), "x.log".into()),
        (
            format!("{dir}/../{}/c.log", &dir[5..]),
            format!("{dir}/../{}/c.log", &dir[5..]),
        ),
        ("/".into(), "/".into()),
        ("//".into(), "/".into()),
        (".".into(), ".".into()),
        ("./".into(), ".".into()),
        ("a//b/.".into(), "a/b".into()),
        (".hidden/x".into(), ".hidden/x".into()),
    ]
}

#[test]
fn the_extension_and_its_keys_are_registered() {
    assert!(has_api_extension("lxc_log"));
    for key in ["lxc.log.file", "lxc.log.level", "lxc.log.syslog"] {
        assert!(config_item_is_supported(key), "{key}");
    }
}

#[test]
fn log_level_parses_and_prints_like_lxc() {
    let mut c = Config::new();
    assert_eq!(
        c.get("lxc.log.level").unwrap(),
        "NOTSET",
        "unset prints NOTSET"
    );
    for &(value, want) in LEVELS {
        c.set("lxc.log.level", "INFO").unwrap();
        let r = c.set("lxc.log.level", value);
        match want {
            Some(w) => {
                r.unwrap_or_else(|e| panic!("{value:?}: {e}"));
                assert_eq!(c.get("lxc.log.level").unwrap(), w, "{value:?}");
            }
            None => {
                let e = r.expect_err(value);
                assert!(
                    matches!(&e, CoreError::InvalidValue { key, .. } if key == "lxc.log.level"),
                    "{value:?}: {e}"
                );
                assert!(e.to_string().contains("0..8"), "{e}");
                assert_eq!(
                    c.get("lxc.log.level").unwrap(),
                    "INFO",
                    "a failed set keeps the value"
                );
            }
        }
    }
    c.clear("lxc.log.level").unwrap();
    assert_eq!(c.get("lxc.log.level").unwrap(), "NOTSET");
    c.set("lxc.log.level", "2").unwrap();
    c.set("lxc.log.level", "").unwrap();
    assert_eq!(
        c.get("lxc.log.level").unwrap(),
        "NOTSET",
        "empty value clears"
    );
}

#[test]
fn log_syslog_takes_facilities_and_prints_them_as_written() {
    let mut c = Config::new();
    assert_eq!(c.get("lxc.log.syslog").unwrap(), "");
    for &(value, ok) in FACILITIES {
        c.clear("lxc.log.syslog").unwrap();
        let r = c.set("lxc.log.syslog", value);
        assert_eq!(r.is_ok(), ok, "{value:?}: {r:?}");
        let want = if ok { value } else { "" };
        assert_eq!(c.get("lxc.log.syslog").unwrap(), want, "{value:?}");
    }
    c.set("lxc.log.syslog", "local1").unwrap();
    c.clear("lxc.log.syslog").unwrap();
    assert_eq!(c.get("lxc.log.syslog").unwrap(), "");
}

#[test]
fn log_file_is_simplified_like_lxc() {
    let mut c = Config::new();
    assert_eq!(c.get("lxc.log.file").unwrap(), "");
    for (value, want) in file_cases("/tmp/lxcrs-t-x") {
        c.set("lxc.log.file", &value).unwrap();
        assert_eq!(c.get("lxc.log.file").unwrap(), want, "{value:?}");
    }
    let long = format!("/{}", "a".repeat(4095));
    assert!(c.set("lxc.log.file", &long).is_err(), "PATH_MAX");
    c.clear("lxc.log.file").unwrap();
    assert_eq!(c.get("lxc.log.file").unwrap(), "");
}

#[test]
fn keys_round_trip_through_a_config_file() {
    let dir = common::tempdir();
    let path = dir.path().join("config");
    let text = "# log settings\n\
                lxc.log.file = /var/log/lxcrs-t//c1.log\n\
                lxc.log.level = 0x1\n\
                lxc.log.syslog = LOCAL2\n";
    std::fs::write(&path, text).unwrap();
    let c = Config::load(&path).unwrap();
    assert_eq!(c.get("lxc.log.file").unwrap(), "/var/log/lxcrs-t/c1.log");
    assert_eq!(c.get("lxc.log.level").unwrap(), "DEBUG");
    assert_eq!(c.get("lxc.log.syslog").unwrap(), "LOCAL2");
    // Saved as written, like LXC's unexpanded config.
    let saved = dir.path().join("saved");
    c.save(&saved).unwrap();
    assert_eq!(common::read(&saved), text);
    let again = Config::load(&saved).unwrap();
    assert_eq!(again.get("lxc.log.level").unwrap(), "DEBUG");

    std::fs::write(&path, "lxc.log.level = verbose\nlxc.log.syslog = user\n").unwrap();
    let e = Config::load(&path).unwrap_err();
    let problems = e.problems();
    assert_eq!(problems.len(), 2, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(":1: lxc.log.level: invalid value \"verbose\""),
        "{msg}"
    );
    assert!(
        msg.contains(":2: lxc.log.syslog: invalid value \"user\""),
        "{msg}"
    );
}

#[test]
fn container_options_come_from_the_config() {
    let lxcpath = Path::new("/tmp/lxcrs-t-lxcpath");
    let c = Config::parse_str(
        "lxc.log.file = /tmp/lxcrs-t-logs/./c1.log\nlxc.log.level = notice\nlxc.log.syslog = local5\n",
        None,
    )
    .unwrap();
    let o = container_log_options("lxcrs-t-c1", lxcpath, &c);
    assert_eq!(
        o,
        LogOptions {
            name: Some("lxcrs-t-c1".into()),
            lxcpath: Some(lxcpath.into()),
            file: Some(PathBuf::from("/tmp/lxcrs-t-logs/c1.log")),
            level: Some(Priority::Notice),
            prefix: "lxc".into(),
            quiet: false,
        }
    );
    assert_eq!(
        container_syslog(&c),
        Some(Syslog {
            facility: Facility::Local5,
            socket: PathBuf::from(DEV_LOG)
        })
    );

    let empty = Config::new();
    let o = container_log_options("lxcrs-t-c1", lxcpath, &empty);
    assert_eq!((o.file, o.level), (None, None));
    assert_eq!(container_syslog(&empty), None);
}

#[test]
fn priorities_parse_print_and_map_to_tracing() {
    use tracing::Level;
    let want = [
        ("TRACE", Level::TRACE, 7),
        ("DEBUG", Level::DEBUG, 7),
        ("INFO", Level::INFO, 6),
        ("NOTICE", Level::INFO, 5),
        ("WARN", Level::WARN, 4),
        ("ERROR", Level::ERROR, 3),
        ("CRIT", Level::ERROR, 2),
        ("ALERT", Level::ERROR, 1),
        ("FATAL", Level::ERROR, 0),
    ];
    for (i, (p, (name, level, severity))) in Priority::ALL.iter().zip(want).enumerate() {
        assert_eq!(p.to_string(), name);
        assert_eq!(format!("{p:<8}|"), format!("{name:<8}|"));
        assert_eq!(Priority::from_str(name).unwrap(), *p);
        assert_eq!(Priority::from_str(&name.to_lowercase()).unwrap(), *p);
        assert_eq!(Priority::from_str(&i.to_string()).unwrap(), *p);
        assert_eq!(usize::from(p.number()), i);
        assert_eq!(tracing::Level::from(*p), level);
        assert_eq!(p.syslog_severity(), severity);
    }
    assert_eq!(Priority::default(), Priority::Error);
    assert!(Priority::Trace < Priority::Fatal);
    let e = "verbose".parse::<Priority>().unwrap_err();
    assert!(e.to_string().contains("\"verbose\""), "{e}");
    assert_eq!(Priority::from_tracing_level(&Level::WARN), Priority::Warn);

    assert_eq!("LOCAL4".parse::<Facility>().unwrap(), Facility::Local4);
    assert_eq!(Facility::Local4.to_string(), "local4");
    assert_eq!(Facility::Daemon.code(), 3);
    assert_eq!(Facility::Local7.code(), 23);
    assert!("user".parse::<Facility>().is_err());
}

/// Differential: the same values through Debian's liblxc (lxc-testkit's oracle), when a C
/// compiler and lxc-dev are installed. Only values that open no file are sent (LXC opens
/// `lxc.log.file` while parsing), and the file cases use paths inside a temp dir.
#[test]
fn lxc_itself_agrees() {
    if !Path::new("/usr/include/lxc/lxccontainer.h").exists() {
        println!("skipped: lxc-dev headers are not installed");
        return;
    }
    let dir = TestDir::fresh("lxcrs-t-log-keys");
    let d = dir.path().to_str().unwrap().to_string();
    let bin = match Oracle::build(dir.path()) {
        Ok(bin) => bin,
        Err(why) => {
            println!("skipped: cannot build the liblxc oracle: {why}");
            return;
        }
    };
    let mut cases: Vec<(String, String)> = Vec::new();
    for &(v, _) in LEVELS {
        cases.push(("lxc.log.level".into(), v.into()));
    }
    for &(v, _) in FACILITIES {
        cases.push(("lxc.log.syslog".into(), v.into()));
    }
    for (v, _) in file_cases(&d)
        .into_iter()
        .filter(|(v, _)| v.starts_with(&d))
    {
        cases.push(("lxc.log.file".into(), v));
    }
    let mut lxc = Oracle::spawn(&bin, dir.path(), "lxcrs-t-oracle");
    for (key, value) in &cases {
        lxc.clear(key);
        let ok = lxc.set(key, value);
        let printed = lxc.get(key).unwrap_or_default();
        let mut c = Config::new();
        let ours = c.set(key, value);
        assert_eq!(
            ours.is_ok(),
            ok,
            "{key} = {value:?}: lxc says {ok} {printed:?}, we {ours:?}"
        );
        if ours.is_ok() {
            assert_eq!(c.get(key).unwrap(), printed, "{key} = {value:?}");
        }
    }
}
