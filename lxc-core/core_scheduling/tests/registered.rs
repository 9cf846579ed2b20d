//! The crate registers `core_scheduling` when it is linked.

use lxc_ext_core_scheduling as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension("core_scheduling"));
}
