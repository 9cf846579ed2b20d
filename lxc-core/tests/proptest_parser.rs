//! Robustness of the config engine: arbitrary bytes and lines never make it panic, and random
//! set/get/clear sequences on random keys keep its answers consistent.

// The cgroup and mount keys are the always-on components' (their registrations).
use lxc_cgroup as _;
use lxc_console as _;
use lxc_core::registry::{self, KeyPattern};
use lxc_core::Config;
use lxc_ext_cgroup2 as _;
use lxc_mount as _;
use proptest::prelude::*;

/// Every key the core registers, instantiated, plus names that sit on the edges of the
/// patterns (bare prefixes, near misses, other subsystems).
fn key_pool() -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for reg in registry::registrations() {
        for def in reg.keys {
            match def.pattern {
                KeyPattern::Exact(k) => keys.push(k.to_string()),
                KeyPattern::Prefix(p) => {
                    keys.push(format!("{p}a"));
                    keys.push(format!("{p}net.ipv4.x"));
                }
                KeyPattern::Indexed { prefix, suffix } => {
                    keys.push(format!("{prefix}0.{suffix}"));
                    keys.push(format!("{prefix}12.{suffix}"));
                }
            }
        }
    }
    keys.extend(
        [
            "lxc.",
            "lxc",
            "",
            "lxc.cgroup.",
            "lxc.cgroup2.",
            "lxc.sysctl.",
            "lxc.cgroupx",
            "lxc.hook.foo",
            "lxc.hook.version.x",
            "lxc.namespace.share.",
            "lxc.namespace.share.bogus",
            "lxc.net.0.type",
            "lxc.seccomp.profile",
            "lxc.uts.name ",
            "lxc.tty.max\n",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    keys
}

const TRICKY: &[&str] = &[
    "",
    " ",
    "\t",
    "0",
    "1",
    "2",
    "-1",
    "+1",
    "0x10",
    "010",
    "08",
    "4294967295",
    "4294967296",
    "18446744073709551616",
    "none",
    "sys_admin",
    "sys_admin bogus",
    "u 0 100000 65536",
    "u 0 1",
    "proc sys:ro cgroup:mixed",
    "shmounts:",
    "SIGTERM",
    "SIGRTMIN+40",
    "unlimited",
    ":5",
    "1:2:3",
    "/abs",
    "a/../b",
    "..",
    "idmap=container",
    "idmap=",
    "\"quoted\"",
    "'",
    "PATH",
    "NO_SUCH_VAR_LXCRS_T",
    "x=y",
    ",",
    "net ipc",
    "lxc.uts.name = injected",
    "a\nlxc.tty.max = 1",
    "\u{e9}\u{1f600}",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(TRICKY).prop_map(str::to_string),
        2 => "\\PC{0,40}",
        1 => any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Random keys. `lxc.include` is left out: it would read whatever files a random path names
/// (config_engine.rs tests includes).
fn key() -> impl Strategy<Value = String> {
    let pool: Vec<String> = key_pool()
        .into_iter()
        .filter(|k| k != "lxc.include")
        .collect();
    prop_oneof![
        4 => proptest::sample::select(pool),
        1 => "lxc\\.[a-z0-9._-]{0,20}",
        1 => "\\PC{0,20}",
    ]
    .prop_map(|k| {
        if k.trim_end() == "lxc.include" {
            format!("{k}x")
        } else {
            k
        }
    })
}

#[derive(Debug, Clone)]
enum Op {
    Set(String, String),
    Get(String),
    Clear(String),
    Reload,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (key(), value()).prop_map(|(k, v)| Op::Set(k, v)),
        2 => key().prop_map(Op::Get),
        2 => key().prop_map(Op::Clear),
        1 => Just(Op::Reload),
    ]
}

/// A config line: mostly `key = value` with odd spacing, quotes and line ends.
fn line() -> impl Strategy<Value = String> {
    (
        key(),
        value(),
        "[ \t]{0,2}",
        "[ \t]{0,2}",
        prop_oneof![Just(""), Just("="), Just("=="), Just("\r")],
        prop_oneof![Just(""), Just("#"), Just("\""), Just("'")],
    )
        .prop_map(|(k, v, sp1, sp2, extra, quote)| {
            format!("{sp1}{k}{sp2}={extra}{sp2}{quote}{v}{quote}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in any::<Vec<u8>>()) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(c) = Config::parse_str(&text, None) {
            let _ = Config::parse_str(&c.to_lxc_string(), None);
        }
    }

    #[test]
    fn arbitrary_lines_never_panic(lines in proptest::collection::vec(line(), 0..30)) {
        let text = lines.join("\n");
        match Config::parse_str(&text, None) {
            Ok(c) => {
                // What was read is saved and reads back without a new problem.
                let again = Config::parse_str(&c.to_lxc_string(), None);
                prop_assert!(again.is_ok(), "{text:?} saved as {:?}: {:?}", c.to_lxc_string(), again.err());
                for k in key_pool() {
                    let _ = c.get(&k);
                }
            }
            Err(e) => {
                // Every problem names a line of the text.
                for p in e.problems() {
                    prop_assert!(!p.to_string().is_empty());
                }
            }
        }
    }

    #[test]
    fn random_operations_stay_consistent(ops in proptest::collection::vec(op(), 0..40)) {
        let mut c = Config::new();
        for op in ops {
            match op {
                Op::Set(k, v) => {
                    let supported = lxc_core::config_item_is_supported(&k);
                    let r = c.set(&k, &v);
                    if !supported {
                        prop_assert!(r.is_err(), "{k:?} is not supported but set worked");
                    }
                    if r.is_ok() && k != "lxc.hook" {
                        prop_assert!(c.get(&k).is_ok(), "set {k:?}={v:?} worked, get failed");
                    }
                }
                Op::Get(k) => {
                    let r = c.get(&k);
                    if !lxc_core::config_item_is_supported(&k) {
                        prop_assert!(r.is_err());
                    }
                }
                Op::Clear(k) => {
                    let r = c.clear(&k);
                    prop_assert_eq!(
                        r.is_ok(),
                        lxc_core::config_item_is_supported(&k),
                        "clear {:?}", k
                    );
                }
                Op::Reload => {
                    // A saved config may not read back (a value set through the API can hold a
                    // newline or lose its meaning when trimmed, as in LXC), but never panics.
                    if let Ok(back) = Config::parse_str(&c.to_lxc_string(), None) {
                        c = back;
                    }
                }
            }
        }
    }
}
