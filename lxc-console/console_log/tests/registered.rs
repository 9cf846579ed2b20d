//! The crate registers `console_log` when it is linked.

use lxc_ext_console_log as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension("console_log"));
}
