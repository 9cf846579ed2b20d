//! The crate registers `cgroup2_devices` when it is linked.

use lxc_ext_cgroup2_devices as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension("cgroup2_devices"));
}
