//! lxc-core: the extension registry, LXC's config engine and the container API that every
//! lxc-rs crate builds on. Users depend on the `lxc` facade, not on this crate directly.

pub mod config;
pub mod container;
pub mod error;
pub mod global;
pub mod keys;
pub mod phase;
pub mod registry;

pub use config::Config;
pub use container::{list_defined_containers, Container};
pub use error::{Error, Origin, Result};
pub use phase::Phase;
pub use registry::{config_item_is_supported, has_api_extension};

/// Re-exported so that extension crates register with the same `linkme` the core uses.
pub use linkme;
