//! The console's keys as liblxc prints them: unset, set, set empty, and refused values.

use lxc_core::Config;
use lxc_ext_console_log as _;
use lxc_testkit::{Oracle, TestDir};

#[test]
fn console_keys_print_as_liblxc() {
    let tmp = TestDir::fresh("lxcrs-t-consolekeys");
    let bin = match Oracle::build(tmp.path()) {
        Ok(b) => b,
        Err(why) => {
            eprintln!("SKIP console_keys_print_as_liblxc: {why}");
            return;
        }
    };
    let mut lxc = Oracle::spawn(&bin, tmp.path(), "lxcrs-t-consolekeys");
    let cases: &[(&str, &[&str])] = &[
        (
            "lxc.console.buffer.size",
            &["auto", "65536", "100000", "", "x"],
        ),
        ("lxc.console.size", &["auto", "4096", "1MB", "", "-1"]),
        ("lxc.console.rotate", &["0", "1", "", "2", "yes"]),
        ("lxc.console.logfile", &["/var/log/c.log", ""]),
    ];
    let mut checked = 0;
    for (key, values) in cases {
        lxc.reset();
        let ours = Config::new().get(key).ok();
        assert_eq!(ours, lxc.get(key), "{key} unset");
        for v in *values {
            lxc.reset();
            let theirs = if lxc.set(key, v) { lxc.get(key) } else { None };
            let mut c = Config::new();
            let ours = c.set(key, v).ok().and_then(|()| c.get(key).ok());
            assert_eq!(ours, theirs, "{key} = {v:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 17);
}
