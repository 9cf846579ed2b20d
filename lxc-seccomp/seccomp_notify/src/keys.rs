//! `lxc.seccomp.notify.proxy` and `lxc.seccomp.notify.cookie`, as LXC 5.0's confile.c sets,
//! prints and clears them.
//!
//! LXC keeps the proxy as a `sockaddr_un`: `unix:/PATH` fills `sun_path` with the path,
//! `unix:@NAME` an abstract name (a NUL, then NAME). Its getter prints `sun_path` for a path
//! and what follows the NUL for an abstract name, so `unix:@NAME` reads back as `NAME` and
//! `unix:/PATH` as `/PATH`; never set (or cleared), it prints nothing. The value itself is
//! saved as written. The cookie is a plain string.

use std::borrow::Cow;

use lxc_core::config::{bytes, Config};

pub const PROXY: &str = "lxc.seccomp.notify.proxy";
pub const COOKIE: &str = "lxc.seccomp.notify.cookie";

/// `sizeof(sockaddr_un.sun_path)`.
const SUN_PATH: usize = 108;

/// The address a proxy value names: a filesystem path, or an abstract name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyAddr {
    Path(Vec<u8>),
    /// The name after the `@`, without the leading NUL.
    Abstract(Vec<u8>),
}

impl ProxyAddr {
    /// What `connect` is given as `sun_path`: the path, or a NUL then the abstract name.
    pub fn sun_path(&self) -> Vec<u8> {
        match self {
            ProxyAddr::Path(p) => p.clone(),
            ProxyAddr::Abstract(n) => {
                let mut v = Vec::with_capacity(n.len() + 1);
                v.push(0);
                v.extend_from_slice(n);
                v
            }
        }
    }

    /// As `ss -x` shows it: a path, or `@name`.
    pub fn display(&self) -> String {
        match self {
            ProxyAddr::Path(p) => String::from_utf8_lossy(p).into_owned(),
            ProxyAddr::Abstract(n) => format!("@{}", String::from_utf8_lossy(n)),
        }
    }
}

const EXPECTED: &str = "unix:/PATH or unix:@NAME (a socket address of at most 107 bytes)";

/// LXC's `set_config_seccomp_notify_proxy` on a non-empty value (an empty one clears): `unix:`
/// then `lxc_unix_sockaddr`'s rules — `/` or `@` first, something after it, and room for the
/// terminating NUL in `sun_path`.
pub fn parse_proxy(value: &str) -> Result<ProxyAddr, String> {
    let raw: Cow<'_, [u8]> = bytes::encode(value);
    let Some(rest) = raw.strip_prefix(b"unix:") else {
        return Err(EXPECTED.into());
    };
    if rest.len() < 2 || rest.len() + 1 > SUN_PATH || rest.contains(&0) {
        return Err(EXPECTED.into());
    }
    match rest[0] {
        b'/' => Ok(ProxyAddr::Path(rest.to_vec())),
        b'@' => Ok(ProxyAddr::Abstract(rest[1..].to_vec())),
        _ => Err(EXPECTED.into()),
    }
}

/// The key's parser: the value is kept as written (it is what gets saved), once it is valid.
pub fn proxy(_key: &str, value: &str) -> Result<String, String> {
    parse_proxy(value).map(|_| value.to_string())
}

/// LXC's getter: the path, or the abstract name without its `@`; nothing when unset.
pub fn get_proxy(config: &Config, key: &str) -> String {
    match config.last(key).map(parse_proxy) {
        Some(Ok(ProxyAddr::Path(p))) => bytes::decode(&p),
        Some(Ok(ProxyAddr::Abstract(n))) => bytes::decode(&n),
        _ => String::new(),
    }
}

/// The proxy of a config, if one is set.
pub fn proxy_of(config: &Config) -> Option<ProxyAddr> {
    config
        .last(PROXY)
        .filter(|v| !v.is_empty())
        .and_then(|v| parse_proxy(v).ok())
}

/// The cookie sent with every message, if one is set (LXC sends `strlen(cookie)` bytes).
pub fn cookie_of(config: &Config) -> Option<Vec<u8>> {
    config
        .last(COOKIE)
        .filter(|v| !v.is_empty())
        .map(|v| bytes::encode(v).into_owned())
}

pub fn get_cookie(config: &Config, key: &str) -> String {
    lxc_core::registry::last_or(config, key, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_values_as_lxc_takes_them() {
        assert_eq!(
            parse_proxy("unix:/run/p.sock"),
            Ok(ProxyAddr::Path(b"/run/p.sock".to_vec()))
        );
        assert_eq!(
            parse_proxy("unix:@p"),
            Ok(ProxyAddr::Abstract(b"p".to_vec()))
        );
        for bad in [
            "unix:", "unix:/", "unix:@", "unix:p", "UNIX:/x", "tcp:/x", "/x", "@x", " unix:/x",
        ] {
            assert!(parse_proxy(bad).is_err(), "{bad}");
        }
        let longest = format!("unix:/{}", "x".repeat(106));
        assert!(parse_proxy(&longest).is_ok());
        let too_long = format!("unix:/{}", "x".repeat(107));
        assert!(parse_proxy(&too_long).is_err());
        assert_eq!(ProxyAddr::Abstract(b"p".to_vec()).sun_path(), b"\0p");
    }
}
