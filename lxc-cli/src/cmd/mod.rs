//! One module per command group. A lifecycle command (create, start, stop, ...) is added as a
//! new module here and a new variant of `crate::Command`.

pub mod checkconfig;
pub mod config;
pub mod extensions;
pub mod ls;

use std::io::Write;

use crate::error::CliError;

/// Write a command's whole output to stdout at once.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

/// Pretty JSON followed by a newline.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    print(&s)
}
