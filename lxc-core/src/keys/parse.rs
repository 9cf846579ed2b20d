//! Value parsers and printers shared by key definitions. A parser returns the normalized value
//! or a description of what was expected.

use crate::config::Config;

pub fn any_string(_key: &str, value: &str) -> Result<String, String> {
    Ok(value.to_string())
}

/// LXC's `lxc_safe_uint`: decimal, no sign, fits in 32 bits; printed back without leading zeros.
pub fn uint(_key: &str, value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err("an unsigned integer".into());
    }
    v.parse::<u32>()
        .map(|n| n.to_string())
        .map_err(|_| "an unsigned integer below 2^32".into())
}

/// For bare keys such as `lxc.sysctl` that can only be cleared.
pub fn only_empty(key: &str, _value: &str) -> Result<String, String> {
    Err(format!(
        "an empty value (setting {key} itself only clears it; set {key}.NAME)"
    ))
}

/// A bare prefix key prints every key below it as `key = value` lines.
pub fn get_prefixed_lines(config: &Config, key: &str) -> String {
    let prefix = format!("{key}.");
    config
        .with_prefix(&prefix)
        .map(|e| format!("{} = {}\n", e.key, e.value))
        .collect()
}

/// A bare prefix key clears every key below it.
pub fn clear_prefixed(config: &mut Config, key: &str) {
    let prefix = format!("{key}.");
    config.remove_where(|e| e.key.starts_with(&prefix));
}
