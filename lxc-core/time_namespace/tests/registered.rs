//! The crate registers `time_namespace` when it is linked.

use lxc_ext_time_namespace as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension("time_namespace"));
}
