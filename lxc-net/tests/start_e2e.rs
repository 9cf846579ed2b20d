//! Real starts through lxc-core with this crate's hook linked in: an application container
//! (no rootfs) per case, as root, named `lxcrs-t-net-*` under a private lxcpath that is removed
//! after.
//!
//! - a network type no loaded plugin serves fails in PreClone, naming the key, before anything
//!   runs;
//! - `none` shares the host's network namespace;
//! - `empty` gets a namespace of its own, and so does a `none` next to an `empty`.
//!
//! No libtest harness: the monitor is forked from this process, which must have one thread.

use std::path::{Path, PathBuf};

use lxc_core::{Container, Error, Exit, Phase};
// Naming the crate links its registration in.
use lxc_net as _;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn container(lxcpath: &Path, case: &str, net: &[(&str, &str)]) -> Container {
    let name = format!("lxcrs-t-net-{case}-{}", std::process::id());
    let mut c = Container::new(&name, Some(lxcpath)).expect("container handle");
    c.set_config_item("lxc.uts.name", "lxcrs-t-net")
        .expect("uts");
    for (k, v) in net {
        c.set_config_item(k, v).expect("network key");
    }
    c
}

/// Run `sh -c script` in the container and return its exit status.
fn run(c: &Container, script: &str) -> Result<i32, Error> {
    let argv: Vec<String> = ["/bin/sh", "-c", script]
        .iter()
        .map(|s| s.to_string())
        .collect();
    c.execute(&argv).map(Exit::status)
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn main() {
    if !is_root() {
        println!("SKIP start_e2e: starting containers needs root");
        println!("0 passed, 0 failed");
        return;
    }
    let dir = Dir(PathBuf::from(format!(
        "/tmp/lxcrs-t-net-e2e-{}",
        std::process::id()
    )));
    std::fs::create_dir_all(&dir.0).expect("lxcpath");
    let host_ns = std::fs::read_link("/proc/self/ns/net")
        .expect("host netns")
        .display()
        .to_string();
    let same = format!("test \"$(readlink /proc/self/ns/net)\" = '{host_ns}'");
    let differs = format!("test \"$(readlink /proc/self/ns/net)\" != '{host_ns}'");

    let mut failed = Vec::new();
    let mut passed = 0;
    let mut check = |name: &str, ok: bool, detail: String| {
        if ok {
            passed += 1;
            println!("test {name} ... ok");
        } else {
            println!("test {name} ... FAILED: {detail}");
            failed.push(name.to_string());
        }
    };

    // A type no loaded plugin serves: refused before clone, naming the key. (This process
    // runs in the host's network namespace: a type a plugin serves is never started here.)
    let unserved = ["macvlan", "ipvlan", "phys", "vlan", "veth"]
        .into_iter()
        .find(|t| lxc_net::plugins::serving(t).is_err());
    // Every built-in type has a plugin once all of them are built beside this binary: then
    // only this check is skipped, not the ones after it.
    if let Some(t) = unserved {
        let c = container(
            &dir.0,
            t,
            &[("lxc.net.0.type", "empty"), ("lxc.net.1.type", t)],
        );
        let r = run(&c, "exit 0");
        let ok = matches!(
            &r,
            Err(Error::Hook { phase: Phase::PreClone, owner: "net", key: Some(k), message })
                if k == "lxc.net.1.type"
                    && message.starts_with(&format!("no network plugin serves `{t}` ("))
        );
        check("unserved_type_needs_its_plugin", ok, format!("{r:?}"));
        check(
            "nothing_left_running",
            !c.is_running(),
            "the container runs".into(),
        );
    } else {
        println!("SKIP unserved_type_needs_its_plugin: every built-in type has a plugin here");
    }

    let c = container(&dir.0, "none", &[("lxc.net.0.type", "none")]);
    let r = run(&c, &same);
    check(
        "none_shares_the_host_netns",
        matches!(r, Ok(0)),
        format!("{r:?}"),
    );

    let c = container(
        &dir.0,
        "empty",
        &[("lxc.net.0.type", "empty"), ("lxc.net.0.flags", "up")],
    );
    let r = run(&c, &differs);
    check(
        "empty_has_its_own_netns",
        matches!(r, Ok(0)),
        format!("{r:?}"),
    );

    // LXC ignores a none next to other networks. The core decides by lxc_net's answer once it
    // takes the network namespace from the net hook (with the config rules, in one change).
    let wired = lxc_core::Config::new()
        .set("lxc.net.0.macvlan.mode", "bridge")
        .is_err();
    let c = container(
        &dir.0,
        "nonemix",
        &[("lxc.net.0.type", "none"), ("lxc.net.1.type", "empty")],
    );
    if wired {
        let r = run(&c, &differs);
        check(
            "none_next_to_empty_is_ignored",
            matches!(r, Ok(0)),
            format!("{r:?}"),
        );
    } else {
        println!(
            "SKIP none_next_to_empty_is_ignored: the core does not take the network namespace \
             from the net hook yet"
        );
    }

    let c = container(&dir.0, "nonet", &[]);
    let r = run(&c, &differs);
    check(
        "no_network_has_its_own_netns",
        matches!(r, Ok(0)),
        format!("{r:?}"),
    );

    println!("{passed} passed, {} failed", failed.len());
    if !failed.is_empty() {
        std::process::exit(1);
    }
}
