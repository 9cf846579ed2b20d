//! lxc-rs: LXC's container library in Rust.
//!
//! Pick API extensions with Cargo features named like LXC's extension strings; every linked
//! extension registers itself, so [`has_api_extension`] and [`config_item_is_supported`] answer
//! for exactly what is in the binary.
//!
//! ```no_run
//! let mut c = lxc::Container::new("web01", None)?;
//! c.set_config_item("lxc.uts.name", "web01")?;
//! assert_eq!(c.get_config_item("lxc.uts.name")?, "web01");
//! # Ok::<(), lxc::Error>(())
//! ```

#![forbid(unsafe_code)]

// Naming each extension crate keeps the linker from dropping its registration.
#[cfg(feature = "cgroup2")]
use lxc_ext_cgroup2 as _;
#[cfg(feature = "cgroup2_auto_mounting")]
use lxc_ext_cgroup2_auto_mounting as _;
#[cfg(feature = "cgroup2_devices")]
use lxc_ext_cgroup2_devices as _;
#[cfg(feature = "cgroup_advanced_isolation")]
use lxc_ext_cgroup_advanced_isolation as _;
#[cfg(feature = "cgroup_relative")]
use lxc_ext_cgroup_relative as _;
#[cfg(feature = "console_log")]
pub use lxc_ext_console_log::console_log;
#[cfg(feature = "core_scheduling")]
use lxc_ext_core_scheduling as _;
#[cfg(feature = "devpts_fd")]
pub use lxc_ext_devpts_fd::devpts_fd;
#[cfg(feature = "environment_runtime_hooks")]
use lxc_ext_environment_runtime_hooks as _;
#[cfg(feature = "idmapped_mounts")]
use lxc_ext_idmapped_mounts as _;
#[cfg(feature = "idmapped_mounts_v2")]
use lxc_ext_idmapped_mounts_v2 as _;
#[cfg(feature = "init_pidfd")]
pub use lxc_ext_init_pidfd::init_pidfd;
#[cfg(feature = "lxc_config_item_is_supported")]
use lxc_ext_lxc_config_item_is_supported as _;
#[cfg(feature = "lxc_log")]
pub use lxc_ext_lxc_log as log;
#[cfg(feature = "mount_injection")]
use lxc_ext_mount_injection as _;
#[cfg(feature = "mount_injection_file")]
use lxc_ext_mount_injection_file as _;
#[cfg(feature = "network_bridge_vlan")]
use lxc_ext_network_bridge_vlan as _;
#[cfg(feature = "network_gateway_device_route")]
use lxc_ext_network_gateway_device_route as _;
#[cfg(feature = "network_ipvlan")]
use lxc_ext_network_ipvlan as _;
#[cfg(feature = "network_l2proxy")]
use lxc_ext_network_l2proxy as _;
#[cfg(feature = "network_phys_macvlan_mtu")]
use lxc_ext_network_phys_macvlan_mtu as _;
#[cfg(feature = "network_veth_router")]
use lxc_ext_network_veth_router as _;
#[cfg(feature = "network_veth_routes")]
use lxc_ext_network_veth_routes as _;
#[cfg(feature = "pidfd")]
pub use lxc_ext_pidfd as pidfd;
#[cfg(feature = "reboot2")]
pub use lxc_ext_reboot2::reboot2;
#[cfg(feature = "seccomp_allow_deny_syntax")]
use lxc_ext_seccomp_allow_deny_syntax as _;
#[cfg(feature = "seccomp_allow_nesting")]
use lxc_ext_seccomp_allow_nesting as _;
#[cfg(feature = "seccomp_notify")]
pub use lxc_ext_seccomp_notify::seccomp_notify_fd;
#[cfg(feature = "seccomp_notify_fd_active")]
pub use lxc_ext_seccomp_notify_fd_active::seccomp_notify_fd_active;
#[cfg(feature = "seccomp_proxy_send_notify_fd")]
use lxc_ext_seccomp_proxy_send_notify_fd as _;
#[cfg(feature = "time_namespace")]
use lxc_ext_time_namespace as _;
// The always-on subsystems register phase hooks; naming them keeps them linked.
pub use lxc_cgroup as cgroup;
pub use lxc_console as console;
pub use lxc_mount as mount;
pub use lxc_net as net;
pub use lxc_net::running::{attach_interface, detach_interface, get_interfaces, get_ips};
pub use lxc_seccomp as seccomp;

pub use lxc_core::commands::LxcMonitor;
pub use lxc_core::config::{bytes as config_bytes, Config};
pub use lxc_core::container::{list_defined_containers, Container};
pub use lxc_core::error::{Error, LxcAdvice, Origin, Result};
pub use lxc_core::global::{default_lxcpath, get_global_config_item};
pub use lxc_core::lifecycle::Runtime;
pub use lxc_core::list::{self, list_active_containers, list_all_containers};
pub use lxc_core::lock::{self, ContainerLock};
pub use lxc_core::manage::{
    self, Snapshot, CLONE_ALLOW_RUNNING, CLONE_KEEPBDEVTYPE, CLONE_KEEPMACADDR, CLONE_KEEPNAME,
    CLONE_MAYBE_SNAPSHOT, CLONE_SNAPSHOT,
};
pub use lxc_core::registry::{api_extensions, has_api_extension};
pub use lxc_core::state::State;
pub use lxc_core::template::CreateOptions;
pub use lxc_core::version::{
    lxc_get_version, LXCRS_VERSION, LXC_VERSION, LXC_VERSION_ABI, LXC_VERSION_MAJOR,
    LXC_VERSION_MICRO, LXC_VERSION_MINOR,
};
pub use lxc_core::{attach, check, global, registry, Exit, Phase, StartMode, StartOptions};
pub use lxc_core::{autostart, statemsg};
pub use lxc_core::{idmap, unshare};
/// Checkpoint / restore / migrate through CRIU: `use lxc::criu::CriuExt` for the methods.
pub use lxc_criu as criu;

/// `lxc_config_item_is_supported`: true exactly for keys whose code is linked into this build.
pub fn config_item_is_supported(key: &str) -> bool {
    lxc_core::registry::config_item_is_supported(key)
}
