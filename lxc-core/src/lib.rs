//! lxc-core: the extension registry, LXC's config engine and the container API that every
//! lxc-rs crate builds on. Users depend on the `lxc` facade, not on this crate directly.

pub mod atomic;
pub mod attach;
pub mod autostart;
pub mod check;
pub mod commands;
pub mod config;
pub mod container;
pub mod devices;
pub mod error;
pub mod fds;
pub mod global;
pub mod hooks;
pub mod idmap;
pub mod inject;
pub mod keys;
pub mod lifecycle;
pub mod list;
pub mod lock;
pub mod manage;
pub mod monitor;
pub mod phase;
pub mod reactor;
pub mod registry;
pub mod start;
pub mod state;
pub mod statemsg;
pub mod sys;
pub mod template;
pub mod timing;
pub mod unshare;
pub mod version;
mod wire;

pub use config::Config;
pub use container::{list_defined_containers, Container};
pub use error::{Error, LxcAdvice, Origin, Result};
pub use lock::ContainerLock;
pub use phase::{Phase, StartMode};
pub use registry::{config_item_is_supported, has_api_extension};
pub use start::StartOptions;
pub use state::State;
pub use sys::Exit;
pub use version::lxc_get_version;

/// Re-exported so that extension crates register with the same `linkme` the core uses.
pub use linkme;
