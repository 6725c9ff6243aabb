//! What the set-up scripts are still installing in the background. `./scripts/start.sh` serves
//! pads as soon as the server is built and installs the rest afterwards (scripts/lib.sh
//! `install_in_background`): the server-side languages, the exercises' environments and
//! code-server. It writes `<tools_dir>/installing`: `pid <installer's pid>` on the first line,
//! then one feature per line, and drops each line when that install ends. The server reads the
//! file when asked (it is tiny), so each feature switches on by itself when its line goes. A file
//! whose installer is no longer running (killed, or the machine rebooted) is not believed.

use std::path::Path;

/// A feature that is installed after the server is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// The compilers and runtimes of the server-side languages (and of every question's tests).
    Languages,
    /// The exercises' environments (workspace sessions).
    Exercises,
    /// VS Code in the browser (code-server), for workspace sessions.
    CodeServer,
}

impl Feature {
    const ALL: [Feature; 3] = [Feature::Languages, Feature::Exercises, Feature::CodeServer];

    /// The word the installer writes.
    fn key(self) -> &'static str {
        match self {
            Feature::Languages => "languages",
            Feature::Exercises => "exercises",
            Feature::CodeServer => "code-server",
        }
    }

    /// What a person reads.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::Languages => "the server-side languages",
            Feature::Exercises => "the exercises' environments",
            Feature::CodeServer => "VS Code (code-server)",
        }
    }

    /// The answer to someone who asks for the feature before it is there.
    pub fn not_yet(self) -> String {
        format!(
            "{} {} still being installed on this server; this works by itself in a few minutes",
            capitalized(self.describe()),
            if self == Feature::CodeServer {
                "is"
            } else {
                "are"
            }
        )
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The features still being installed (none when nothing is, or the installer is gone).
pub fn pending(tools_dir: &Path) -> Vec<Feature> {
    match std::fs::read_to_string(tools_dir.join("installing")) {
        Ok(text) => parse(&text, installer_running),
        Err(_) => Vec::new(),
    }
}

/// Whether `feature` is still being installed.
pub fn is_pending(tools_dir: &Path, feature: Feature) -> bool {
    pending(tools_dir).contains(&feature)
}

fn installer_running(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

fn parse(text: &str, running: impl Fn(u32) -> bool) -> Vec<Feature> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let pid = lines
        .next()
        .and_then(|l| l.strip_prefix("pid "))
        .and_then(|p| p.trim().parse::<u32>().ok());
    if !pid.is_some_and(running) {
        return Vec::new();
    }
    let named: Vec<&str> = lines.collect();
    Feature::ALL
        .into_iter()
        .filter(|f| named.contains(&f.key()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_the_features_of_a_running_installer() {
        let text = "pid 42\nlanguages\ncode-server\n";
        assert_eq!(
            parse(text, |pid| pid == 42),
            vec![Feature::Languages, Feature::CodeServer]
        );
    }

    #[test]
    fn a_file_left_by_a_dead_installer_or_without_pid_is_not_believed() {
        assert!(parse("pid 42\nlanguages\n", |_| false).is_empty());
        assert!(parse("languages\n", |_| true).is_empty());
        assert!(parse("", |_| true).is_empty());
    }

    #[test]
    fn unknown_lines_are_ignored() {
        assert_eq!(
            parse("pid 1\nsomething\nexercises", |_| true),
            vec![Feature::Exercises]
        );
    }

    #[test]
    fn messages_read_well() {
        assert_eq!(
            Feature::CodeServer.not_yet(),
            "VS Code (code-server) is still being installed on this server; this works by itself in a few minutes"
        );
        assert!(
            Feature::Languages
                .not_yet()
                .starts_with("The server-side languages are")
        );
    }
}
