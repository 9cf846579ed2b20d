//! The `PreClone` check and what the start reads from the network config: which networks this
//! build can make, whether the container shares the host's network namespace, whether its
//! loopback device comes up. The hook is called directly with a `HookCtx` built here.

use std::path::{Path, PathBuf};

use lxc_core::phase::{HookCtx, StateMap, UndoStack};
use lxc_core::registry;
use lxc_core::{Config, Phase, StartMode};
// The ipvlan type is network_ipvlan's: linked so that its plugin check is reached.
use lxc_ext_network_ipvlan as _;

fn config(text: &str) -> Config {
    Config::parse_str(text, Some(Path::new("/lxcrs-t-net/config"))).expect("config loads")
}

/// Run the registered `net` PreClone hook on a config.
fn pre_clone(c: &Config) -> Result<(), lxc_core::Error> {
    let (_, hook) = registry::hooks_for(Phase::PreClone)
        .into_iter()
        .find(|(owner, _)| *owner == lxc_net::NAME)
        .expect("the net component registers a PreClone hook");
    let mut undo = UndoStack::default();
    let mut state = StateMap::default();
    let mut ctx = HookCtx {
        name: "lxcrs-t-net",
        lxcpath: PathBuf::from("/lxcrs-t-net"),
        config_file: PathBuf::from("/lxcrs-t-net/config"),
        config: c,
        phase: Phase::PreClone,
        mode: StartMode::Start,
        init_pid: None,
        undo: &mut undo,
        state: &mut state,
    };
    let r = (hook.run)(&mut ctx);
    assert!(undo.is_empty(), "the check makes nothing to undo");
    r
}

fn hook_error(r: Result<(), lxc_core::Error>) -> (Phase, &'static str, String, String) {
    match r {
        Err(lxc_core::Error::Hook {
            phase,
            owner,
            key,
            message,
        }) => (phase, owner, key.unwrap_or_default(), message),
        other => panic!("expected a hook error, got {other:?}"),
    }
}

#[test]
fn the_hook_runs_first_in_preclone() {
    let hooks = registry::hooks_for(Phase::PreClone);
    let (first, _) = hooks.first().expect("PreClone hooks");
    assert_eq!(*first, lxc_net::NAME, "nothing is made before the check");
}

/// A type no loaded plugin serves fails before clone, naming the key, the index, and why:
/// the files refused and the directories searched. A plugin next to this test binary (cargo
/// puts the veth plugin's .so there) serves its type, and the check passes.
#[test]
fn plugin_types_fail_before_clone_naming_key_and_index() {
    for t in ["veth", "macvlan", "ipvlan", "phys", "vlan"] {
        let c = config(&format!(
            "lxc.net.0.type = empty\nlxc.net.0.flags = up\nlxc.net.1.type = {t}\nlxc.net.1.link = lxcrs-t-br\n"
        ));
        let why = match lxc_net::plugins::serving(t) {
            Ok(p) => {
                pre_clone(&c).unwrap_or_else(|e| panic!("{t} is served by {p:?}: {e}"));
                continue;
            }
            Err(why) => why,
        };
        assert!(
            why.starts_with(&format!("no network plugin serves `{t}` (")),
            "{why}"
        );
        assert!(why.contains("searched: "), "{why}");
        assert!(!why.contains('\n'), "{why}");
        let (phase, owner, key, message) = hook_error(pre_clone(&c));
        assert_eq!(phase, Phase::PreClone);
        assert_eq!(owner, "net");
        assert_eq!(key, "lxc.net.1.type (/lxcrs-t-net/config:3)");
        assert_eq!(message, why);
        let shown = pre_clone(&c).unwrap_err().to_string();
        assert_eq!(
            shown,
            format!("phase PreClone: net: lxc.net.1.type (/lxcrs-t-net/config:3): {why}")
        );
        let e = lxc_net::check_start(&c).unwrap_err();
        assert!(
            matches!(e, lxc_net::Error::NeedsPlugin { index: 1, .. }),
            "{e:?}"
        );
        assert_eq!(e.key(), "lxc.net.1.type");
        assert_eq!(
            e.to_string(),
            format!("lxc.net.1.type = {t} (/lxcrs-t-net/config:3): {why}")
        );
    }
}

#[test]
fn set_through_the_api_the_error_has_no_file() {
    let mut c = Config::new();
    // No plugin of this landing serves macvlan.
    if lxc_net::plugins::serving("macvlan").is_ok() {
        return;
    }
    c.set("lxc.net.2.type", "macvlan").expect("set");
    let (_, _, key, _) = hook_error(pre_clone(&c));
    assert_eq!(key, "lxc.net.2.type");
}

#[test]
fn empty_and_none_need_nothing() {
    for text in [
        "",
        "lxc.net.0.type = empty\n",
        "lxc.net.0.type = empty\nlxc.net.0.flags = up\n",
        "lxc.net.0.type = none\n",
        "lxc.net.0.type = none\nlxc.net.1.type = none\n",
        "lxc.net.0.type = none\nlxc.net.1.type = empty\n",
        "lxc.net.0.type = veth\nlxc.net =\nlxc.net.0.type = empty\n",
        "lxc.net.0.type = veth\nlxc.net.0.type = none\n",
    ] {
        pre_clone(&config(text)).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
}

#[test]
fn none_shares_the_host_namespace_only_alone() {
    let cases = [
        ("", false),
        ("lxc.net.0.type = none\n", true),
        ("lxc.net.3.type = none\nlxc.net.7.type = none\n", true),
        // LXC ignores a none next to other networks: the container gets its own namespace.
        ("lxc.net.0.type = none\nlxc.net.1.type = empty\n", false),
        ("lxc.net.0.type = empty\nlxc.net.1.type = none\n", false),
        // A network without a type set reads as empty.
        ("lxc.net.0.type = none\nlxc.net.1.flags = up\n", false),
        ("lxc.net.0.type = none\nlxc.net.0.type = empty\n", false),
        ("lxc.net.0.type = empty\nlxc.net.0.type = none\n", true),
        ("lxc.net.0.type = none\nlxc.net =\n", false),
    ];
    for (text, shares) in cases {
        assert_eq!(
            lxc_net::shares_host_netns(&config(text)),
            shares,
            "{text:?}"
        );
    }
    // A cleared type is a network that is not none (LXC then refuses to start).
    let mut c = config("lxc.net.0.type = none\n");
    c.clear("lxc.net.0.type").expect("clear");
    assert!(!lxc_net::shares_host_netns(&c));
    // A none next to a network that needs a plugin: the plugin network is what fails, when no
    // plugin here serves it (with every plugin built beside this binary, none is unserved).
    let unserved = ["macvlan", "ipvlan", "phys", "vlan", "veth"]
        .into_iter()
        .find(|t| lxc_net::plugins::serving(t).is_err());
    if let Some(t) = unserved {
        let c = config(&format!("lxc.net.0.type = none\nlxc.net.1.type = {t}\n"));
        let (_, _, key, _) = hook_error(pre_clone(&c));
        assert!(key.starts_with("lxc.net.1.type"), "{key}");
    }
}

#[test]
fn loopback_comes_up_only_with_flags_up() {
    for (text, up) in [
        ("", false),
        ("lxc.net.0.type = empty\n", false),
        ("lxc.net.0.type = empty\nlxc.net.0.flags = up\n", true),
        ("lxc.net.0.flags = up\nlxc.net.0.type = empty\n", false),
        (
            "lxc.net.0.type = empty\nlxc.net.0.flags = up\nlxc.net.0.flags =\n",
            false,
        ),
    ] {
        assert_eq!(lxc_net::loopback_up(&config(text)), up, "{text:?}");
    }
}

#[test]
fn empty_must_be_named_lo() {
    let c = config("lxc.net.0.type = empty\nlxc.net.0.name = eth0\n");
    let (_, _, key, message) = hook_error(pre_clone(&c));
    assert_eq!(key, "lxc.net.0.name (/lxcrs-t-net/config:2)");
    assert!(message.contains("\"eth0\""), "{message}");
    // A network that never got a type is empty without a name, which LXC refuses too.
    let c = config("lxc.net.0.flags = up\n");
    let (_, _, key, _) = hook_error(pre_clone(&c));
    assert_eq!(key, "lxc.net.0.name");
}

#[test]
fn loopback_settings_are_refused_not_ignored() {
    for (line, sub) in [
        ("lxc.net.0.ipv4.address = 10.1.2.3/8", "ipv4.address"),
        ("lxc.net.0.ipv6.address = fd00::1", "ipv6.address"),
        ("lxc.net.0.hwaddr = 00:16:3e:00:00:01", "hwaddr"),
        ("lxc.net.0.ipv4.gateway = auto", "ipv4.gateway"),
        ("lxc.net.0.script.up = /bin/true", "script.up"),
    ] {
        let c = config(&format!(
            "lxc.net.0.type = empty\nlxc.net.0.flags = up\n{line}\n"
        ));
        let (_, _, key, message) = hook_error(pre_clone(&c));
        assert_eq!(key, format!("lxc.net.0.{sub} (/lxcrs-t-net/config:3)"));
        assert!(message.contains("loopback"), "{message}");
    }
    // An mtu on the loopback device is ignored by LXC too.
    pre_clone(&config("lxc.net.0.type = empty\nlxc.net.0.mtu = 9000\n")).expect("mtu");
}

#[test]
fn a_cleared_type_cannot_start() {
    let mut c = config("lxc.net.0.type = veth\n");
    c.clear("lxc.net.0.type").expect("clear");
    let (_, _, key, message) = hook_error(pre_clone(&c));
    assert_eq!(key, "lxc.net.0.type");
    assert!(message.contains("no type"), "{message}");
}

/// An engine that does not apply `lxc_net::rules` stores entries LXC refuses; the start names
/// them. An engine that applies them refuses the file itself.
#[test]
fn entries_lxc_refuses_fail_the_start_or_the_load() {
    let text = "lxc.net.0.type = veth\nlxc.net.0.macvlan.mode = bridge\n";
    match Config::parse_str(text, Some(Path::new("/lxcrs-t-net/config"))) {
        Ok(c) => {
            let (phase, _, key, message) = hook_error(pre_clone(&c));
            assert_eq!(phase, Phase::PreClone);
            assert_eq!(key, "lxc.net.0.macvlan.mode (/lxcrs-t-net/config:2)");
            assert!(message.contains("type macvlan"), "{message}");
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.contains("lxc.net.0.macvlan.mode"), "{shown}");
            assert!(shown.contains("config:2"), "{shown}");
        }
    }
}
