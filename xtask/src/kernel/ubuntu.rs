//! The second guest kernel: Ubuntu 24.04's 6.8 from noble-updates, the nearest stock kernel with
//! CONFIG_SCHED_CORE (Debian's 6.1 and 6.12 lack it). Its packages come straight from Ubuntu's
//! archive over plain HTTP (apt here knows only Debian's), checked against the index's SHA256.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::run::{capture_stdout, check_status, display, fail, Result};

const ARCHIVE: &str = "http://archive.ubuntu.com/ubuntu/";
/// A mirror of the archive to use instead (its URL up to and including `ubuntu/`).
const ARCHIVE_ENV: &str = "LXC_RS_UBUNTU_ARCHIVE";
const INDEX: &str = "dists/noble-updates/main/binary-amd64/Packages.gz";
/// `linux-image-unsigned-6.8.0-<abi>-generic` and its `linux-modules-6.8.0-<abi>-generic`.
const IMAGE: (&str, &str) = ("linux-image-unsigned-6.8.0-", "-generic");
const MODULES: (&str, &str) = ("linux-modules-6.8.0-", "-generic");

/// One stanza of the archive's index: what to fetch and how to check it.
#[derive(Clone, Debug, PartialEq)]
struct Deb {
    package: String,
    filename: String,
    sha256: String,
}

/// The newest kernel image and its modules package, downloaded into `dir`: the image's package
/// name and both .deb files.
pub(super) fn download(dir: &Path) -> Result<(String, Vec<PathBuf>)> {
    let archive = std::env::var(ARCHIVE_ENV).unwrap_or_else(|_| ARCHIVE.to_string());
    let index = dir.join("Packages.gz");
    get(&format!("{archive}{INDEX}"), &index).map_err(|e| {
        fail(format!(
            "cannot fetch Ubuntu's package index from {archive} (unreachable from here? \
             {ARCHIVE_ENV} names a mirror): {e}"
        ))
    })?;
    let mut gunzip = Command::new("gzip");
    gunzip.arg("-dc").arg(&index);
    let text = capture_stdout(&mut gunzip)?;
    let (image, modules) = newest(&parse_index(&text)).ok_or_else(|| {
        fail(format!(
            "{archive}{INDEX} lists no {}N{} with a matching {}N{}",
            IMAGE.0, IMAGE.1, MODULES.0, MODULES.1
        ))
    })?;
    let mut debs = Vec::new();
    for deb in [&image, &modules] {
        let file = deb.filename.rsplit('/').next().unwrap_or(&deb.package);
        let path = dir.join(file);
        get(&format!("{archive}{}", deb.filename), &path)?;
        verify(&path, &deb.sha256)?;
        debs.push(path);
    }
    Ok((image.package, debs))
}

/// An HTTP GET into `to` with curl (failing on HTTP errors, bounded in time).
fn get(url: &str, to: &Path) -> Result<()> {
    let mut cmd = Command::new("curl");
    cmd.args(["-fsSL", "--connect-timeout", "20", "--max-time", "600"])
        .args(["--retry", "2", "-o"])
        .arg(to)
        .arg(url)
        .stdin(Stdio::null());
    eprintln!("$ {}", display(&cmd));
    check_status(&mut cmd)
}

fn verify(path: &Path, sha256: &str) -> Result<()> {
    let mut cmd = Command::new("sha256sum");
    cmd.arg(path);
    let out = capture_stdout(&mut cmd)?;
    let got = out.split_whitespace().next().unwrap_or("");
    if !got.eq_ignore_ascii_case(sha256) {
        return Err(fail(format!(
            "{}: SHA256 {got}, the archive's index says {sha256}",
            path.display()
        )));
    }
    Ok(())
}

/// The stanzas of a Packages file that name a package, a file and its SHA256.
fn parse_index(text: &str) -> Vec<Deb> {
    text.split("\n\n")
        .filter_map(|stanza| {
            let field = |name: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
                    .map(|v| v.trim().to_string())
            };
            Some(Deb {
                package: field("Package")?,
                filename: field("Filename")?,
                sha256: field("SHA256")?,
            })
        })
        .collect()
}

/// The ABI number of `name` when it is `prefix<N>suffix`.
fn abi(name: &str, (prefix, suffix): (&str, &str)) -> Option<u32> {
    name.strip_prefix(prefix)?
        .strip_suffix(suffix)?
        .parse()
        .ok()
}

/// The image with the highest ABI number whose modules package is listed too.
fn newest(debs: &[Deb]) -> Option<(Deb, Deb)> {
    debs.iter()
        .filter_map(|d| Some((abi(&d.package, IMAGE)?, d)))
        .filter_map(|(n, image)| {
            let modules = debs.iter().find(|m| abi(&m.package, MODULES) == Some(n))?;
            Some((n, image.clone(), modules.clone()))
        })
        .max_by_key(|(n, _, _)| *n)
        .map(|(_, image, modules)| (image, modules))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_image_with_its_modules_is_chosen() {
        let stanza = |p: &str| format!("Package: {p}\nFilename: pool/{p}.deb\nSHA256: ab{p}\n");
        let text = [
            "linux-image-unsigned-6.8.0-9-generic",
            "linux-modules-6.8.0-9-generic",
            "linux-image-unsigned-6.8.0-100-generic",
            "linux-modules-6.8.0-100-generic",
            // Newer, but its modules are not in this index.
            "linux-image-unsigned-6.8.0-101-generic",
            "linux-image-unsigned-6.8.0-102-lowlatency",
            "linux-modules-6.8.0-102-lowlatency",
        ]
        .map(stanza)
        .join("\n");
        let debs = parse_index(&text);
        assert_eq!(debs.len(), 7);
        let (image, modules) = newest(&debs).unwrap();
        assert_eq!(image.package, "linux-image-unsigned-6.8.0-100-generic");
        assert_eq!(
            image.filename,
            "pool/linux-image-unsigned-6.8.0-100-generic.deb"
        );
        assert_eq!(modules.package, "linux-modules-6.8.0-100-generic");
        assert_eq!(modules.sha256, "ablinux-modules-6.8.0-100-generic");
        assert!(newest(&parse_index("Package: x\n")).is_none());
    }
}
