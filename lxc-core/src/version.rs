//! Versions: the LXC API lxc-rs follows, and lxc-rs's own.
//!
//! `lxc_get_version` answers LXC's version, not lxc-rs's: clients of liblxc (go-lxc,
//! python3-lxc, scripts) compare it against LXC releases to decide what they may use, and
//! lxc-rs implements LXC 5.0.2's API, config keys and tools. lxc-rs's own version is
//! [`LXCRS_VERSION`].

/// `LXC_VERSION_MAJOR` of the LXC release lxc-rs follows.
pub const LXC_VERSION_MAJOR: u32 = 5;
/// `LXC_VERSION_MINOR` of the LXC release lxc-rs follows.
pub const LXC_VERSION_MINOR: u32 = 0;
/// `LXC_VERSION_MICRO` of the LXC release lxc-rs follows.
pub const LXC_VERSION_MICRO: u32 = 2;
/// `LXC_VERSION`: `MAJOR.MINOR.MICRO` of the LXC release lxc-rs follows.
pub const LXC_VERSION: &str = "5.0.2";
/// `LXC_VERSION_ABI`: the ABI of liblxc 5.0.2 (`liblxc.so.1.7.0`).
pub const LXC_VERSION_ABI: &str = "1.7.0";
/// lxc-rs's own version (its crates' version).
pub const LXCRS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `lxc_get_version`: the version of LXC whose API this library implements, [`LXC_VERSION`].
pub fn lxc_get_version() -> &'static str {
    LXC_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_string_is_the_three_numbers() {
        assert_eq!(
            lxc_get_version(),
            format!("{LXC_VERSION_MAJOR}.{LXC_VERSION_MINOR}.{LXC_VERSION_MICRO}")
        );
    }
}
