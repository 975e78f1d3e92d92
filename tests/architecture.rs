//! The invariants of ARCHITECTURE.md that reading the sources can check, so that breaking one
//! fails a test naming the rule, the file and the line, instead of waiting for a reviewer.
//!
//! Each check reads the Rust sources as text with comments and string literals blanked out (a
//! comment may mention `sqlx`; only code may not use it), and most leave out the test module
//! at the end of a file (`#[cfg(test)]`), since tests may build what production code may not.
//!
//! What clippy already enforces is not repeated: `disallowed-methods` in clippy.toml refuses
//! `Utc::now`, `Local::now` and `SystemTime::now` in every target; here we check only that the
//! rule is still there and that nothing outside the clock silences it, plus the one wall-clock
//! read clippy cannot refuse without also refusing it in tests and benchmarks, which measure
//! real time on purpose: `std::time::Instant::now` in the library and the console.

use std::path::{Path, PathBuf};

/// A Rust source file: its path from the workspace root and its code, with comments and
/// string literals blanked (lines keep their numbers).
struct Source {
    path: String,
    code: String,
}

impl Source {
    /// The code before the file's test module, if it has one.
    fn without_tests(&self) -> &str {
        let mut offset = 0;
        for line in self.code.split_inclusive('\n') {
            if line.trim() == "#[cfg(test)]" {
                return &self.code[..offset];
            }
            offset += line.len();
        }
        &self.code
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir` (relative to the workspace root), in path order.
fn sources(dir: &str) -> Vec<Source> {
    let mut files = Vec::new();
    collect_rust_files(&root().join(dir), &mut files);
    assert!(!files.is_empty(), "no Rust sources under {dir}");
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
            let path = file.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
            Source { path, code: code_only(&text) }
        })
        .collect()
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// `text` with the contents of comments, string literals and character literals replaced by
/// spaces. Newlines stay, so line numbers do too.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let previous = if i > 0 { Some(chars[i - 1]) } else { None };
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                code.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    code.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    code.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    code.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && (previous.is_none_or(|p| !is_ident(p))
                || (previous == Some('b') && (i < 2 || !is_ident(chars[i - 2]))))
        {
            // A raw string: r"..." or r#"..."# (also br"...").
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                code.push(c);
                i += 1;
                continue;
            }
            let closing: String =
                std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            code.extend(&chars[i..=j]);
            i = j + 1;
            while i < chars.len() {
                let rest: String = chars[i..(i + closing.len()).min(chars.len())].iter().collect();
                if rest == closing {
                    code.push_str(&closing);
                    i += closing.len();
                    break;
                }
                code.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            code.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    code.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    code.push(blank(chars[i]));
                    i += 1;
                }
            }
            code.push('"');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('x' or '\n'); a lifetime ('a) has no closing quote.
            code.push('\'');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    code.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    code.push(blank(chars[i]));
                    i += 1;
                }
            }
            code.push('\'');
            i += 1;
        } else {
            code.push(c);
            i += 1;
        }
    }
    code
}

/// The lines of `code` in which `matches` finds something, as `path:line: text`.
fn offending_lines(
    path: &str,
    code: &str,
    matches: impl Fn(&str) -> bool,
) -> impl Iterator<Item = String> {
    code.lines()
        .enumerate()
        .filter(|(_, line)| matches(line))
        .map(|(number, line)| format!("  {path}:{}: {}", number + 1, line.trim()))
        .collect::<Vec<_>>()
        .into_iter()
}

/// Whether `line` holds `word` as a whole identifier path segment (not part of a longer name).
fn has_word(line: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

fn assert_holds(rule: &str, violations: Vec<String>) {
    assert!(
        violations.is_empty(),
        "ARCHITECTURE.md: {rule}\nbroken at:\n{}",
        violations.join("\n")
    );
}

#[test]
fn only_the_store_imports_sqlx() {
    let mut violations = Vec::new();
    // The runtime's start-up probe opens one raw connection to learn why Postgres does not
    // answer; ARCHITECTURE.md names it as the one exception until the store offers a probe.
    let exempt = ["src/store/", "src/runtime/probe.rs"];
    for source in sources("src") {
        if exempt.iter().any(|prefix| source.path.starts_with(prefix)) {
            continue;
        }
        violations
            .extend(offending_lines(&source.path, &source.code, |line| has_word(line, "sqlx")));
    }
    assert_holds(
        "the engine (and everything else outside src/store) never imports sqlx; only src/store \
         speaks to the database",
        violations,
    );
}

#[test]
fn the_core_never_depends_on_tauri() {
    let mut violations = Vec::new();
    for source in sources("src") {
        violations.extend(offending_lines(&source.path, &source.code, |line| {
            line.to_lowercase().contains("tauri")
        }));
    }
    // The core crate's manifest: no dependency table may name a tauri crate.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let mut in_dependencies = false;
    for (number, line) in manifest.lines().enumerate() {
        let line = line.trim();
        if let Some(table) = line.strip_prefix('[') {
            let table = table.trim_end_matches(']');
            in_dependencies = table.ends_with("dependencies");
            if table.contains("dependencies.") && table.contains("tauri") {
                violations.push(format!("  Cargo.toml:{}: {line}", number + 1));
            }
        } else if in_dependencies && line.starts_with("tauri") {
            violations.push(format!("  Cargo.toml:{}: {line}", number + 1));
        }
    }
    assert_holds("the core crate (src/) never depends on Tauri", violations);
}

#[test]
fn the_store_never_imports_notify() {
    let mut violations = Vec::new();
    for source in sources("src/store") {
        violations.extend(offending_lines(&source.path, &source.code, |line| {
            line.contains("crate::notify")
        }));
    }
    assert_holds(
        "the store never imports notify (both use the event types of a leaf module)",
        violations,
    );
}

#[test]
fn only_the_runtime_starts_the_engine_and_the_notifier() {
    let exempt = ["src/engine/", "src/notify/", "src/runtime.rs", "src/runtime/"];
    let mut violations = Vec::new();
    for source in sources("src").into_iter().chain(sources("src-tauri/src")) {
        if exempt.iter().any(|prefix| source.path.starts_with(prefix)) {
            continue;
        }
        // The front ends do not even describe an engine: they describe a runtime.
        let front_end =
            source.path.starts_with("src/cli/") || source.path.starts_with("src-tauri/");
        violations.extend(offending_lines(&source.path, source.without_tests(), |line| {
            ["Engine::new", "Engine::with_registry", "Notifier::new"]
                .iter()
                .any(|word| has_word(line, word))
                || (front_end
                    && ["EngineConfig", "NotifyConfig"].iter().any(|word| has_word(line, word)))
        }));
    }
    assert_holds(
        "only the runtime (src/runtime) builds and starts the engine and the notifier; the CLI \
         and the console call it",
        violations,
    );
}

#[test]
fn only_the_clock_reads_the_wall_clock() {
    let clippy = std::fs::read_to_string(root().join("clippy.toml")).unwrap();
    for method in ["chrono::Utc::now", "chrono::Local::now", "std::time::SystemTime::now"] {
        assert!(
            clippy.contains(&format!("path = \"{method}\"")),
            "ARCHITECTURE.md: only src/clock.rs reads the wall clock, but clippy.toml's \
             disallowed-methods no longer refuses {method}"
        );
    }

    let mut violations = Vec::new();
    let everything = ["src", "src-tauri/src", "src-tauri/tests", "tests", "benches", "xtask"];
    for source in everything.into_iter().flat_map(sources) {
        if source.path == "src/clock.rs" {
            continue;
        }
        violations.extend(offending_lines(&source.path, &source.code, |line| {
            has_word(line, "disallowed_methods")
        }));
    }
    assert_holds(
        "only src/clock.rs reads the wall clock, so only it may allow clippy::disallowed_methods",
        violations,
    );

    // tokio's Instant follows tokio's paused clock in tests, so it may measure durations; the
    // standard library's does not. Written out in full, the one allowed is plain to see.
    let mut violations = Vec::new();
    for source in sources("src").into_iter().chain(sources("src-tauri/src")) {
        if source.path == "src/clock.rs" {
            continue;
        }
        violations.extend(offending_lines(&source.path, source.without_tests(), |line| {
            line.match_indices("Instant::now").any(|(at, _)| {
                !line[..at].ends_with("tokio::time::") && has_word(&line[at..], "Instant::now")
            })
        }));
    }
    assert_holds(
        "only src/clock.rs reads the wall clock; to measure a duration outside it, use \
         tokio::time::Instant::now() (which tests can pause), written out in full",
        violations,
    );
}

#[test]
fn the_reader_blanks_comments_and_strings_only() {
    let text = "use a; // sqlx\nlet s = \"sqlx\"; /* sqlx /* nested */ sqlx */ let c = '\"';\n\
                let r = r#\"sqlx \"quoted\"\"#; fn f<'a>(x: &'a str) {}\nsqlx::query();";
    let code = code_only(text);
    let lines: Vec<&str> = code.lines().collect();
    assert_eq!(lines.len(), 4, "{code}");
    assert!(lines[..3].iter().all(|line| !has_word(line, "sqlx")), "{code}");
    assert!(lines[2].contains("fn f<'a>(x: &'a str)"), "{code}");
    assert!(has_word(lines[3], "sqlx"), "{code}");
    assert!(!has_word("notify_email", "notify") && has_word("x(notify::y)", "notify"));
}
