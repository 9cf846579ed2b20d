//! Differential test of `lxc.seccomp.notify.proxy` and `lxc.seccomp.notify.cookie` against
//! liblxc itself (Debian's LXC 5.0.2), through lxc-testkit's oracle as lxc-core's and lxc-net's
//! differential tests drive it: good and bad values are set in both engines, both keys printed
//! after each step (an abstract proxy prints without its `@`), cleared, set empty, saved and
//! read back by both engines, and config files loaded by both.
//!
//! Skips (saying why) only when liblxc's development files or a C compiler are missing.
//! Everything it makes lives under /tmp/lxcrs-t-notifydiff-<pid> and is removed after, with
//! liblxc's lock directory for it.

use lxc_core::Config;
use lxc_ext_seccomp_notify::keys::{COOKIE, PROXY};
use lxc_testkit::{Allow, Harness, Oracle, TestDir};

const ALLOWED: &[Allow] = &[];

fn long(n: usize) -> String {
    format!("unix:/{}", "p".repeat(n))
}

fn proxy_values() -> (Vec<String>, Vec<String>) {
    let good = [
        "unix:/run/lxcrs-proxy.sock",
        "unix:@lxcrs-proxy",
        "unix:/a//b/../c",
        "unix:@with space",
        "unix:/ab",
        "unix:@x",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([long(106)])
    .collect();
    let bad = [
        "unix:", "unix:/", "unix:@", "unix:x", "UNIX:/x", "tcp:/x", "/x", "@x", " unix:/x",
        "unix: /x",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([long(107), format!("unix:@{}", "p".repeat(107))])
    .collect();
    (good, bad)
}

struct Diff {
    h: Harness,
    ours: Config,
}

impl Diff {
    fn reset(&mut self) {
        self.h.main.reset();
        self.ours = Config::new();
    }

    fn set(&mut self, case: &str, k: &str, v: &str) -> bool {
        let lxc = self.h.main.set(k, v);
        let ours = self.ours.set(k, v).is_ok();
        self.h.check(case, &format!("set {k}={v:?}"), lxc, ours);
        lxc
    }

    fn clear(&mut self, case: &str, k: &str) {
        let lxc = self.h.main.clear(k);
        let ours = self.ours.clear(k).is_ok();
        self.h.check(case, &format!("clear {k}"), lxc, ours);
    }

    fn compare(&mut self, case: &str) {
        let ours = &self.ours;
        self.h.compare_state(case, |k| ours.get(k).ok());
    }

    fn compare_saved(&mut self, case: &str) {
        let ours = &self.ours;
        self.h.compare_saved(
            case,
            |f| ours.save(f).expect("save ours"),
            |f| Config::load(f).ok(),
            |c, k| c.get(k).ok(),
        );
    }
}

#[test]
fn notify_keys_match_liblxc() {
    let tmp = TestDir::fresh("lxcrs-t-notifydiff");
    let bin = match Oracle::build(tmp.path()) {
        Ok(b) => b,
        Err(why) => {
            eprintln!("SKIP notify_keys_match_liblxc: {why}");
            return;
        }
    };
    let keys = vec![PROXY.to_string(), COOKIE.to_string()];
    let mut d = Diff {
        h: Harness::new(&bin, tmp.path(), "lxcrs-t-notifydiff", keys, ALLOWED),
        ours: Config::new(),
    };
    d.reset();
    d.compare("defaults");

    let (good, bad) = proxy_values();
    let cookies: Vec<String> = ["c", "a cookie with spaces", "ünïcode", "x=y;z"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (key, list, ok) in [
        (PROXY, &good, true),
        (PROXY, &bad, false),
        (COOKIE, &cookies, true),
    ] {
        for v in list {
            let case = format!("{} {key}={v:?}", if ok { "set" } else { "rejected" });
            d.reset();
            let lxc_ok = d.set(&case, key, v);
            if lxc_ok != ok {
                d.h.failures.push(format!(
                    "{case}: the value table says LXC {} it, but LXC {} it",
                    if ok { "accepts" } else { "refuses" },
                    if lxc_ok { "accepts" } else { "refuses" }
                ));
            }
            d.compare(&case);
            if !lxc_ok {
                continue;
            }
            d.compare_saved(&case);
            let c = format!("{case}: then cleared");
            d.clear(&c, key);
            d.compare(&c);
            d.compare_saved(&c);
            let c = format!("{case}: then set empty");
            d.reset();
            d.set(&c, key, v);
            d.set(&c, key, "");
            d.compare(&c);
            d.compare_saved(&c);
        }
    }

    // A refused value keeps the one before; the last good one wins.
    let c = "a refused proxy keeps the old one";
    d.reset();
    d.set(c, PROXY, "unix:@first");
    d.set(c, PROXY, "unix:nope");
    d.compare(c);
    d.set(c, PROXY, "unix:/second");
    d.compare(c);
    d.compare_saved(c);

    for (name, text) in [
        (
            "file with both keys",
            "lxc.seccomp.notify.proxy = unix:@lxcrs-p\nlxc.seccomp.notify.cookie = secret\n",
        ),
        (
            "file with a path, later replaced",
            "lxc.seccomp.notify.proxy = unix:/run/a\nlxc.seccomp.notify.proxy = unix:/run/b\n",
        ),
        ("file with an empty proxy", "lxc.seccomp.notify.proxy =\n"),
        (
            "file with a bad proxy",
            "lxc.seccomp.notify.proxy = tcp:1\n",
        ),
    ] {
        let (file, lxc_ok) = d.h.load_file(text);
        let ours = Config::load(&file);
        d.h.check(name, "load", lxc_ok, ours.is_ok());
        if let (true, Ok(c)) = (lxc_ok, ours) {
            d.ours = c;
            d.compare(name);
            d.compare_saved(name);
        }
    }

    d.h.print_allowed();
    assert!(
        d.h.failures.is_empty(),
        "{} differences from liblxc:\n{}",
        d.h.failures.len(),
        d.h.failures.join("\n")
    );
}
