//! `cargo xtask deb [--check] [--skip-build]`: the Debian package, and its check.
//!
//! The package is Tauri's `.deb` of the console (`tauri build --bundles deb`) with the whole
//! product added: `tauri.conf.json` (`bundle.linux.deb`) names the static files (the systemd
//! system and user units, `/etc/rota/rota.env`, the README) and the maintainer scripts in
//! `packaging/debian/`; this file adds what is built (`/usr/bin/rota`, the shell completions it
//! generates) through `tauri build --config`, then repacks the result with `dpkg-deb` to mark
//! `/etc/rota/rota.env` as a conffile with mode 0640 (Tauri's bundler has no conffiles).
//!
//! `--check` then checks the package: its file list, modes and owners; `lintian`; `systemd-analyze
//! verify` on every unit and `systemd-analyze security` on the system one (at most "OK"); and
//! the maintainer scripts, by installing, upgrading, removing and purging it in a clean Debian
//! root made with debootstrap (`packaging/debian/check-install.sh`). Minutes, not seconds (the
//! root installs the console's WebKit dependencies), so it is not part of `cargo xtask test`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{apt_install, root, run, step, target_dir, Result};

/// Where the package's files go, and their modes: `(path in the package, mode)`. The check
/// compares the package against it (every file root:root; `rota.env` gets its group from
/// postinst, once the `rota` group exists).
const EXPECTED: &[(&str, u32)] = &[
    ("./usr/bin/rota", 0o755),
    ("./usr/bin/rota-desktop", 0o755),
    ("./lib/systemd/system/rota.service", 0o644),
    ("./usr/lib/systemd/user/rota.service", 0o644),
    ("./etc/rota/rota.env", 0o640),
    ("./usr/share/bash-completion/completions/rota", 0o644),
    ("./usr/share/zsh/vendor-completions/_rota", 0o644),
    ("./usr/share/fish/vendor_completions.d/rota.fish", 0o644),
    ("./usr/share/doc/rota/README.md", 0o644),
    ("./usr/share/doc/rota/copyright", 0o644),
    ("./usr/share/doc/rota/changelog.gz", 0o644),
    ("./usr/share/lintian/overrides/rota", 0o644),
    ("./usr/share/applications/Rota.desktop", 0o644),
];

/// The units the package ships, as `(path in the package, source in the repository)`.
const UNITS: &[(&str, &str)] = &[
    ("lib/systemd/system/rota.service", "packaging/debian/rota.service"),
    ("usr/lib/systemd/user/rota.service", "packaging/debian/rota-user.service"),
];

/// The package's maintainer field.
const MAINTAINER: &str = "The Rota authors <rota@example.com>";

/// `systemd-analyze security` levels that pass, best first.
const ACCEPTED_LEVELS: &[&str] = &["PERFECT", "SAFE", "OK"];

/// Which build goes into the package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    Release,
    /// Unoptimised binaries (`tauri build --debug`): minutes instead of most of an hour on a
    /// busy two-core machine, for checking the packaging itself.
    Debug,
}

impl Profile {
    fn dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
        }
    }
}

pub fn deb(args: &[String]) -> Result {
    let mut check = false;
    let mut build = true;
    let mut profile = Profile::Release;
    for arg in args {
        match arg.as_str() {
            "--check" => check = true,
            "--skip-build" => build = false,
            "--debug" => profile = Profile::Debug,
            other => {
                return Err(format!(
                    "deb: unknown argument {other:?}; allowed: --check, --skip-build, --debug"
                ))
            }
        }
    }
    let package = if build { build_deb(profile)? } else { built_deb(profile)? };
    eprintln!("\n    package: {}", package.display());
    if check {
        check_deb(&package)?;
    }
    Ok(())
}

fn bundle_dir(profile: Profile) -> PathBuf {
    target_dir().join(profile.dir()).join("bundle").join("deb")
}

/// The newest `.deb` in the bundle folder.
fn built_deb(profile: Profile) -> Result<PathBuf> {
    let dir = bundle_dir(profile);
    let entries = std::fs::read_dir(&dir)
        .map_err(|error| format!("no package built yet ({}): {error}", dir.display()))?;
    entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .max_by_key(|path| std::fs::metadata(path).and_then(|meta| meta.modified()).ok())
        .ok_or_else(|| format!("no .deb in {}; run cargo xtask deb", dir.display()))
}

fn build_deb(profile: Profile) -> Result<PathBuf> {
    crate::desktop::prepare()?;
    apt_install(&["dpkg-dev", "fakeroot"])?;
    step(&format!("building rota ({})", profile.dir()));
    match profile {
        Profile::Release => run("cargo", &["build", "--release", "--bin", "rota"])?,
        Profile::Debug => run("cargo", &["build", "--bin", "rota"])?,
    }
    let rota = target_dir().join(profile.dir()).join("rota");
    step("generating the shell completions (rota completions bash|zsh|fish)");
    let generated = target_dir().join("package");
    std::fs::create_dir_all(&generated).map_err(|error| error.to_string())?;
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    files.push(("/usr/bin/rota".into(), rota.clone()));
    for (shell, file, installed) in [
        ("bash", "rota.bash", "/usr/share/bash-completion/completions/rota"),
        ("zsh", "_rota", "/usr/share/zsh/vendor-completions/_rota"),
        ("fish", "rota.fish", "/usr/share/fish/vendor_completions.d/rota.fish"),
    ] {
        let output = Command::new(&rota)
            .args(["completions", shell])
            .output()
            .map_err(|error| format!("cannot run {}: {error}", rota.display()))?;
        if !output.status.success() || output.stdout.is_empty() {
            return Err(format!("rota completions {shell} failed: {}", output.status));
        }
        let path = generated.join(file);
        std::fs::write(&path, &output.stdout).map_err(|error| error.to_string())?;
        files.push((installed.into(), path));
    }
    let config = generated.join("tauri.package.json");
    std::fs::write(&config, files_config(&files)).map_err(|error| error.to_string())?;
    step(&format!("building the .deb ({} build; tauri build --bundles deb)", profile.dir()));
    // Only this build's package is left in the folder, so `--skip-build` finds it.
    let _ = std::fs::remove_dir_all(bundle_dir(profile));
    let tauri = root().join("ui").join("node_modules").join(".bin").join("tauri");
    let config = config.to_string_lossy().into_owned();
    let mut args = vec!["build", "--bundles", "deb", "--config", &config];
    if profile == Profile::Debug {
        args.push("--debug");
    }
    run(&tauri.to_string_lossy(), &args)?;
    let package = built_deb(profile)?;
    repack(&package, profile)?;
    Ok(package)
}

/// `{"bundle":{"linux":{"deb":{"files":{...}}}}}`, merged by Tauri into `tauri.conf.json`'s.
fn files_config(files: &[(String, PathBuf)]) -> String {
    let entries: Vec<String> = files
        .iter()
        .map(|(to, from)| format!("{}: {}", json_string(to), json_string(&from.to_string_lossy())))
        .collect();
    format!("{{\"bundle\":{{\"linux\":{{\"deb\":{{\"files\":{{{}}}}}}}}}}}\n", entries.join(","))
}

fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Marks `/etc/rota/rota.env` as a conffile (mode 0640), moves Tauri's changelog from
/// `/usr/share/doc/Rota` (the product name) to the package's `/usr/share/doc/rota`, and sets
/// every file's owner to root, rebuilding the package in place (a debug build's with gzip:
/// xz takes many minutes over its unoptimised binaries).
fn repack(package: &Path, profile: Profile) -> Result {
    step("repacking: /etc/rota/rota.env as a conffile (0640), every file root:root");
    let dir = target_dir().join("package").join("tree");
    let _ = std::fs::remove_dir_all(&dir);
    let dir_text = dir.to_string_lossy().into_owned();
    let package_text = package.to_string_lossy().into_owned();
    run("dpkg-deb", &["-R", &package_text, &dir_text])?;
    std::fs::write(dir.join("DEBIAN").join("conffiles"), "/etc/rota/rota.env\n")
        .map_err(|error| error.to_string())?;
    set_mode(&dir.join("etc/rota/rota.env"), 0o640)?;
    let product_docs = dir.join("usr/share/doc/Rota");
    if product_docs.exists() {
        std::fs::rename(
            product_docs.join("changelog.gz"),
            dir.join("usr/share/doc/rota/changelog.gz"),
        )
        .map_err(|error| format!("cannot move the changelog: {error}"))?;
        std::fs::remove_dir(&product_docs).map_err(|error| error.to_string())?;
    }
    // Tauri names the publisher as the maintainer, without the address Debian requires.
    let control_file = dir.join("DEBIAN").join("control");
    let control = std::fs::read_to_string(&control_file).map_err(|error| error.to_string())?;
    let control: String = control
        .lines()
        .map(|line| match line.strip_prefix("Maintainer:") {
            Some(_) => format!("Maintainer: {MAINTAINER}\n"),
            None => format!("{line}\n"),
        })
        .collect();
    std::fs::write(&control_file, control).map_err(|error| error.to_string())?;
    // Debug symbols stay in the build tree; then the checksums of what is shipped.
    run("strip", &["--strip-unneeded", &format!("{dir_text}/usr/bin/rota")])?;
    run("strip", &["--strip-unneeded", &format!("{dir_text}/usr/bin/rota-desktop")])?;
    run(
        "sh",
        &[
            "-c",
            "cd \"$1\" && find . -type f ! -path './DEBIAN/*' -printf '%P\\0' | sort -z \
             | xargs -0 md5sum > DEBIAN/md5sums",
            "sh",
            &dir_text,
        ],
    )?;
    set_mode(&dir.join("usr/bin/rota"), 0o755)?;
    for script in ["postinst", "prerm", "postrm"] {
        set_mode(&dir.join("DEBIAN").join(script), 0o755)?;
    }
    let compression = match profile {
        Profile::Release => "-Zxz",
        Profile::Debug => "-Zgzip",
    };
    run("dpkg-deb", &["--root-owner-group", compression, "--build", &dir_text, &package_text])?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|error| format!("cannot set the mode of {}: {error}", path.display()))
}

/// Runs `program args`, returning its stdout (stderr passed through); fails if it fails.
fn output(program: &str, args: &[&str]) -> Result<String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot start {program}: {error}"))?;
    if !output.status.success() {
        return Err(format!("`{program} {}` failed ({})", args.join(" "), output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn check_deb(package: &Path) -> Result {
    let package_text = package.to_string_lossy().into_owned();
    step("package: control fields");
    let info = output("dpkg-deb", &["--field", &package_text, "Package", "Version", "Depends"])?;
    eprint!("{info}");
    step("package: file list, modes and owners");
    check_file_list(&output("dpkg-deb", &["--contents", &package_text])?)?;
    let conffiles = output("dpkg-deb", &["--info", &package_text, "conffiles"])?;
    if conffiles.trim() != "/etc/rota/rota.env" {
        return Err(format!("conffiles: {conffiles:?}, expected /etc/rota/rota.env"));
    }
    eprintln!("    ok: conffiles: /etc/rota/rota.env");
    lintian(&package_text)?;
    let tree = target_dir().join("package").join("check-tree");
    let _ = std::fs::remove_dir_all(&tree);
    run("dpkg-deb", &["-x", &package_text, &tree.to_string_lossy()])?;
    systemd_checks(&tree)?;
    let _ = std::fs::remove_dir_all(&tree);
    clean_root_install(package)
}

fn check_file_list(listing: &str) -> Result {
    let mut problems = Vec::new();
    for (path, mode) in EXPECTED {
        let line = listing.lines().find(|line| line.split_whitespace().nth(5) == Some(path));
        let Some(line) = line else {
            problems.push(format!("{path} is missing"));
            continue;
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let expected_mode = mode_text(*mode);
        if fields[0] != expected_mode || fields[1] != "root/root" {
            problems.push(format!(
                "{path} is {} {}, expected {expected_mode} root/root",
                fields[0], fields[1]
            ));
        } else {
            eprintln!("    ok: {expected_mode} root/root {path}");
        }
    }
    let files = listing.lines().filter(|line| line.starts_with('-')).count();
    eprintln!("    {files} files in all");
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("the package's files:\n  {}", problems.join("\n  ")))
    }
}

/// `-rwxr-xr-x` for 0o755.
fn mode_text(mode: u32) -> String {
    let mut text = String::from("-");
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        text.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    text
}

/// Lintian's findings are printed; errors fail the check.
fn lintian(package: &str) -> Result {
    step("lintian");
    apt_install(&["lintian"])?;
    let output = Command::new("lintian")
        .args(["--info", "--display-info", "--no-tag-display-limit", package])
        .output()
        .map_err(|error| format!("cannot start lintian: {error}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    eprint!("{text}{}", String::from_utf8_lossy(&output.stderr));
    let errors = text.lines().filter(|line| line.starts_with("E: ")).count();
    let warnings = text.lines().filter(|line| line.starts_with("W: ")).count();
    eprintln!("    lintian: {errors} errors, {warnings} warnings");
    if errors > 0 {
        return Err(format!("lintian found {errors} errors"));
    }
    Ok(())
}

/// `systemd-analyze verify` on each unit, and `security` on the system unit. `verify` wants
/// the programs a unit starts to exist: each unit is verified from a copy whose `/usr/bin/rota`
/// is the package's own file.
fn systemd_checks(tree: &Path) -> Result {
    apt_install(&["systemd"])?;
    let rota = tree.join("usr/bin/rota");
    let scratch = target_dir().join("package").join("units");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|error| error.to_string())?;
    for (installed, source) in UNITS {
        step(&format!("systemd-analyze verify /{installed}"));
        let text = std::fs::read_to_string(tree.join(installed))
            .map_err(|error| format!("the package has no /{installed}: {error}"))?;
        let repo_text = std::fs::read_to_string(root().join(source)).unwrap_or_default();
        if text != repo_text {
            return Err(format!("/{installed} differs from {source}"));
        }
        let user = installed.contains("/user/");
        let copy = scratch.join(if user { "user" } else { "system" });
        std::fs::create_dir_all(&copy).map_err(|error| error.to_string())?;
        let unit = copy.join("rota.service");
        std::fs::write(&unit, text.replace("/usr/bin/rota", &rota.to_string_lossy()))
            .map_err(|error| error.to_string())?;
        let unit_text = unit.to_string_lossy().into_owned();
        let mut verify = Command::new("systemd-analyze");
        verify.arg("verify");
        if user {
            // A user manager wants its runtime directory, which a build machine has no login
            // session to provide.
            let runtime_dir = scratch.join("runtime");
            std::fs::create_dir_all(&runtime_dir).map_err(|error| error.to_string())?;
            set_mode(&runtime_dir, 0o700)?;
            verify.arg("--user").env("XDG_RUNTIME_DIR", &runtime_dir);
        }
        let result = verify
            .arg(&unit_text)
            .output()
            .map_err(|error| format!("cannot start systemd-analyze: {error}"))?;
        // Unknown keys and bad values are only warnings to systemd (exit 0): any message fails.
        let messages = String::from_utf8_lossy(&result.stderr).into_owned();
        let problems: Vec<&str> = messages.lines().filter(|line| !line.trim().is_empty()).collect();
        if !result.status.success() || !problems.is_empty() {
            return Err(format!("systemd-analyze verify /{installed}:\n{}", problems.join("\n")));
        }
        eprintln!("    ok: no findings");
    }
    step("systemd-analyze security (system unit)");
    let unit = scratch.join("system").join("rota.service");
    let report = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .map_err(|error| format!("cannot start systemd-analyze: {error}"))?;
    let text = String::from_utf8_lossy(&report.stdout);
    let overall = text
        .lines()
        .find(|line| line.contains("Overall exposure level"))
        .ok_or_else(|| format!("systemd-analyze security printed no overall level:\n{text}"))?;
    eprintln!("    {}", overall.trim());
    if !ACCEPTED_LEVELS.iter().any(|level| overall.contains(level)) {
        return Err(format!("the system unit's exposure is worse than OK: {overall}"));
    }
    Ok(())
}

/// Installs the package into a clean Debian 12 root (debootstrap, kept as a tarball under the
/// target folder and unpacked afresh each time) and runs `check-install.sh` there.
fn clean_root_install(package: &Path) -> Result {
    step("maintainer scripts: install, upgrade, remove and purge in a clean Debian root");
    apt_install(&["debootstrap"])?;
    let base = target_dir().join("package").join("debian12-minbase.tar");
    if !base.exists() {
        let fresh = target_dir().join("package").join("debootstrap");
        let _ = std::fs::remove_dir_all(&fresh);
        let fresh_text = fresh.to_string_lossy().into_owned();
        run("debootstrap", &["--variant=minbase", "bookworm", &fresh_text, &host_mirror()])?;
        // No daemon starts on install (as in Debian's container images).
        std::fs::write(fresh.join("usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n")
            .map_err(|error| error.to_string())?;
        set_mode(&fresh.join("usr/sbin/policy-rc.d"), 0o755)?;
        run("tar", &["-C", &fresh_text, "-cf", &base.to_string_lossy(), "."])?;
        let _ = std::fs::remove_dir_all(&fresh);
    }
    let chroot = target_dir().join("package").join("clean-root");
    let _ = std::fs::remove_dir_all(&chroot);
    std::fs::create_dir_all(&chroot).map_err(|error| error.to_string())?;
    let chroot_text = chroot.to_string_lossy().into_owned();
    run("tar", &["-C", &chroot_text, "-xf", &base.to_string_lossy()])?;
    std::fs::copy(package, chroot.join("tmp/rota.deb")).map_err(|error| error.to_string())?;
    std::fs::copy(
        root().join("packaging/debian/check-install.sh"),
        chroot.join("tmp/check-install.sh"),
    )
    .map_err(|error| error.to_string())?;
    std::fs::copy("/etc/resolv.conf", chroot.join("etc/resolv.conf"))
        .map_err(|error| error.to_string())?;
    let proc_dir = chroot.join("proc").to_string_lossy().into_owned();
    run("mount", &["-t", "proc", "proc", &proc_dir])?;
    let script = "apt-get update -q >/dev/null && /tmp/check-install.sh";
    let result = run("chroot", &[&chroot_text, "/bin/sh", "-c", script]);
    let _ = run("umount", &[&proc_dir]);
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&chroot);
    }
    result
}

/// The Debian mirror the host's apt uses.
fn host_mirror() -> String {
    let sources =
        std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    sources
        .lines()
        .filter_map(|line| line.strip_prefix("URIs:"))
        .map(str::trim)
        .find(|uri| !uri.contains("security"))
        .unwrap_or("http://deb.debian.org/debian")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_as_dpkg_lists_them() {
        assert_eq!(mode_text(0o755), "-rwxr-xr-x");
        assert_eq!(mode_text(0o640), "-rw-r-----");
    }

    #[test]
    fn the_files_config_is_json() {
        let text = files_config(&[("/usr/bin/rota".into(), PathBuf::from("/t/a \"b\""))]);
        assert_eq!(
            text,
            "{\"bundle\":{\"linux\":{\"deb\":{\"files\":{\"/usr/bin/rota\": \"/t/a \\\"b\\\"\"}}}}}\n"
        );
    }
}
