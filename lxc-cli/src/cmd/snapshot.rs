//! `lxc-rs snapshot`, like `lxc-snapshot`: take (`-c` comment), list (`-L`, `-C` comments),
//! restore (`-r NAME [-N NEWNAME | NEWNAME]`) and destroy (`-d NAME`, `-d ALL`) snapshots.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// List the snapshots
    #[arg(short = 'L', long = "list")]
    pub list: bool,

    /// Restore snapshot NAME, e.g. snap0
    #[arg(short = 'r', long = "restore", value_name = "NAME")]
    pub restore: Option<String>,

    /// NEWNAME for the restored container
    #[arg(short = 'N', long = "newname", value_name = "NEWNAME")]
    pub newname: Option<String>,

    /// Destroy snapshot NAME, e.g. snap0; ALL destroys every snapshot
    #[arg(short = 'd', long = "destroy", value_name = "NAME")]
    pub destroy: Option<String>,

    /// Add FILE as the snapshot's comment
    #[arg(short = 'c', long = "comment", value_name = "FILE")]
    pub comment: Option<PathBuf>,

    /// Show the snapshots' comments (with -L)
    #[arg(short = 'C', long = "showcomments")]
    pub showcomments: bool,

    #[command(flatten)]
    pub rc: super::running::Rcfile,

    /// With -r: the restored container's name (as -N)
    #[arg(value_name = "NEWNAME")]
    pub args: Vec<String>,
}

pub fn snapshot(a: &SnapshotArgs, g: &Global) -> Result<ExitCode, CliError> {
    let name = super::need_name(g)?;
    let mut c = lxc::Container::new(name, Some(&super::lxcpath(g)))?;
    // As lxc-snapshot: that file is the container's config, and its config file.
    a.rc.load(&mut c)?;
    // lxc-snapshot's getopt: the last of -L / -r / -d decides; without one, a snapshot is taken.
    if let Some(snap) = &a.destroy {
        // As lxc-snapshot, any prefix of ALL (the empty one too) is ALL.
        let r = if "ALL".starts_with(snap.as_str()) {
            c.snapshot_destroy_all()
        } else {
            c.snapshot_destroy(snap)
        };
        r.map_err(|e| CliError::failed(format!("error destroying snapshot {snap}: {e}")))?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(snap) = &a.restore {
        let newname = match (&a.newname, a.args.as_slice()) {
            (Some(n), _) => Some(n.clone()),
            (None, []) => None,
            (None, [n]) => Some(n.clone()),
            (None, _) => return Err(CliError::Usage("too many arguments".into())),
        };
        c.snapshot_restore(snap, newname.as_deref())
            .map_err(|e| CliError::failed(format!("error restoring snapshot {snap}: {e}")))?;
        return Ok(ExitCode::SUCCESS);
    }
    if a.list {
        let snaps = c
            .snapshot_list()
            .map_err(|e| CliError::failed(format!("error listing snapshots: {e}")))?;
        if snaps.is_empty() {
            super::print("No snapshots\n")?;
            return Ok(ExitCode::SUCCESS);
        }
        let mut out = String::new();
        for s in &snaps {
            out.push_str(&format!(
                "{} ({}) {}\n",
                s.name,
                s.lxcpath.display(),
                s.timestamp.as_deref().unwrap_or("(null)")
            ));
            if a.showcomments {
                if let Some(comment) = s.comment() {
                    out.push_str(&comment);
                }
            }
        }
        super::print(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    c.snapshot(a.comment.as_deref())
        .map_err(|e| CliError::failed(format!("error creating a snapshot: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
