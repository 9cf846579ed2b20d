//! `lxc-rs usernsexec`, like `lxc-usernsexec`: run a command as root of a new user namespace
//! (in a mount namespace of its own), with `-m` maps or, without them, the caller's first
//! ranges in /etc/subuid and /etc/subgid; `newuidmap`/`newgidmap` write the maps when they can.
//! Exit status: the command's (128 + the signal when one killed it).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;

#[derive(Debug, Args)]
pub struct UsernsexecArgs {
    /// An id map, [u|g|b]:NSID:HOSTID:RANGE (u: uids, g: gids, b: both; repeatable)
    #[arg(short = 'm', value_name = "MAP", value_parser = parse_map)]
    pub maps: Vec<Vec<lxc::idmap::IdMap>>,

    /// Also map the caller's own uid and gid (to the first id after the ranges from 0)
    #[arg(short = 's')]
    pub map_self: bool,

    /// The command and its arguments (default /bin/sh; after `--` when it has options)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub argv: Vec<OsString>,
}

fn parse_map(s: &str) -> Result<Vec<lxc::idmap::IdMap>, String> {
    lxc::idmap::parse_usernsexec_map(s)
        .map_err(|e| e.to_string().trim_start_matches("<api>: ").to_string())
}

pub fn usernsexec(a: &UsernsexecArgs) -> Result<ExitCode, CliError> {
    let mut maps: Vec<lxc::idmap::IdMap> = a.maps.iter().flatten().copied().collect();
    let uid = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    if maps.is_empty() {
        let user = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .ok_or_else(|| CliError::failed(format!("no password entry for uid {uid}")))?;
        maps = lxc::idmap::default_maps(&user.name).map_err(|e| {
            CliError::failed(format!("Failed to find subuid or subgid allocation: {e}"))
        })?;
    }
    if a.map_self {
        lxc::idmap::add_self(&mut maps, uid.as_raw(), gid.as_raw());
    }
    let argv = if a.argv.is_empty() {
        vec![OsString::from("/bin/sh")]
    } else {
        a.argv.clone()
    };
    let child = lxc::unshare::usernsexec(&maps, &argv)?;
    let status = child.wait()?.status();
    Ok(ExitCode::from(u8::try_from(status).unwrap_or(u8::MAX)))
}
