//! The crate registers `cgroup_advanced_isolation` and its three keys when it is linked.

use lxc_core::config::Config;
use lxc_ext_cgroup_advanced_isolation as _;

const KEYS: [&str; 3] = [
    "lxc.cgroup.dir.monitor",
    "lxc.cgroup.dir.container",
    "lxc.cgroup.dir.container.inner",
];

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension(
        "cgroup_advanced_isolation"
    ));
}

#[test]
fn owns_its_keys() {
    for k in KEYS {
        assert!(lxc_core::registry::config_item_is_supported(k), "{k}");
    }
}

#[test]
fn set_get_clear_like_lxc() {
    let mut c = Config::new();
    for k in KEYS {
        assert_eq!(c.get(k).unwrap(), "(null)", "{k} unset");
    }
    c.set("lxc.cgroup.dir.container", "lxcrs-t-a//b").unwrap();
    c.set("lxc.cgroup.dir.container.inner", "inner").unwrap();
    c.set("lxc.cgroup.dir.monitor", "lxcrs-t-mon").unwrap();
    assert_eq!(c.get("lxc.cgroup.dir.container").unwrap(), "lxcrs-t-a/b");
    assert_eq!(c.get("lxc.cgroup.dir.container.inner").unwrap(), "inner");
    assert_eq!(c.get("lxc.cgroup.dir.monitor").unwrap(), "lxcrs-t-mon");
    let e = c.set("lxc.cgroup.dir.container.inner", "a/b").unwrap_err();
    assert!(
        e.to_string().contains("lxc.cgroup.dir.container.inner"),
        "{e}"
    );
    let e = c.set("lxc.cgroup.dir.monitor", "/abs").unwrap_err();
    assert!(e.to_string().contains("may not be absolute"), "{e}");
    c.set("lxc.cgroup.dir.monitor", "").unwrap();
    assert_eq!(c.get("lxc.cgroup.dir.monitor").unwrap(), "(null)");
    // Not a cgroup v1 controller setting.
    assert!(!c.get("lxc.cgroup").unwrap().contains("dir.container"));
}
