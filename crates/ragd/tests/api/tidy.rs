//! Repository hygiene that a reviewer would otherwise have to remember: every Rust file opens
//! with a `//!` line saying what it is for; the maps cannot drift (every module is named in its
//! crate's `# Layout` doc, every source file in ARCHITECTURE.md's code map); the two backends'
//! new migrations share their numbers; no function grows past a screen, no file past 600 lines.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n != "target" && n != "fixtures")
            {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_doc_line() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&crates, &mut files);
    assert!(files.len() > 20, "found the sources");
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .map(|f| f.strip_prefix(&crates).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading //! line: {missing:?}"
    );
}

/// The `.rs` files under `crate_dir/src`, as paths relative to it (`sql/assets.rs`).
fn crate_sources(crate_dir: &Path) -> Vec<String> {
    let src = crate_dir.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut rel: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    rel.sort();
    rel
}

fn crate_dirs() -> Vec<std::path::PathBuf> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs: Vec<_> = std::fs::read_dir(&crates)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 7, "found the crates: {dirs:?}");
    dirs
}

/// The text of a markdown-ish section: from the line `start` to the next line that starts with
/// one of `ends` (or the end).
fn section<'a>(lines: impl Iterator<Item = &'a str>, start: &str, ends: &[&str]) -> String {
    let mut inside = false;
    let mut out = String::new();
    for line in lines {
        if inside && ends.iter().any(|e| line.starts_with(e)) {
            break;
        }
        if line.trim_end() == start {
            inside = true;
        } else if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn every_module_is_named_in_a_layout_doc() {
    let declaration = |line: &str| {
        let line = line.trim_start();
        let line = line
            .strip_prefix("pub(crate) ")
            .or_else(|| line.strip_prefix("pub "))
            .unwrap_or(line);
        let name = line.strip_prefix("mod ")?.strip_suffix(';')?;
        (name != "tests").then(|| name.to_owned())
    };
    let layout_of = |path: &Path| {
        let doc: String = std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("//!"))
            .map(|l| l.trim_start().to_owned() + "\n")
            .collect();
        section(doc.lines(), "# Layout", &["# "])
    };
    let mut missing = Vec::new();
    for dir in crate_dirs() {
        let layout = layout_of(&dir.join("src/lib.rs"));
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !layout.is_empty(),
            "{name}/src/lib.rs has no `# Layout` section in its doc"
        );
        for file in crate_sources(&dir) {
            let path = dir.join("src").join(&file);
            // A module with submodules may map them in its own `# Layout` section.
            let own = layout_of(&path);
            let text = std::fs::read_to_string(&path).unwrap();
            for module in text.lines().filter_map(declaration) {
                let named = format!("`{module}`");
                if !layout.contains(&named) && !own.contains(&named) {
                    missing.push(format!("{name}: `{module}` (declared in {file})"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "modules missing from their crate's `# Layout` doc (src/lib.rs): {missing:#?}"
    );
}

#[test]
fn every_source_file_is_in_the_architecture_code_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut missing = Vec::new();
    for dir in crate_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let heading = format!("### `crates/{name}`");
        let entry = section(map.lines(), &heading, &["### ", "## "]);
        if entry.is_empty() {
            missing.push(format!("the heading {heading}"));
            continue;
        }
        for file in crate_sources(&dir) {
            if !entry.contains(&format!("`{file}`")) {
                missing.push(format!("crates/{name}/src/{file}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "missing from ARCHITECTURE.md's code map: {missing:#?}"
    );
}

/// The two backends' migrations were numbered apart until 0011 (those already run in the field,
/// so they keep their numbers); every later migration takes one number and one name on both.
#[test]
fn later_migrations_share_one_number_on_both_backends() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ragd-store/migrations");
    let later = |backend: &str| {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(backend))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n[..4].parse::<u32>().unwrap() > 11)
            .collect();
        names.sort();
        names
    };
    assert_eq!(later("sqlite"), later("postgres"));
}

/// Functions of more than one screen (80 lines) outside tests, as `crate/src/file::name`: the
/// ones left from before the limit. A function leaves the list when it is split (the test fails
/// until it is removed from here); none joins it.
const LONG_FUNCTIONS: &[&str] = &[];

/// The functions of a rustfmt-formatted file longer than `limit` lines, with their lengths;
/// `#[cfg(test)]` modules are skipped.
fn long_functions(text: &str, limit: usize) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let closing = |from: usize, indent: usize| {
        let close = format!("{}}}", " ".repeat(indent));
        (from..lines.len()).find(|&k| lines[k] == close)
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        let indent = lines[i].len() - trimmed.len();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .get(i + 1)
                .is_some_and(|l| l.trim_start().starts_with("mod ") && l.ends_with('{'))
        {
            i = closing(i + 2, indent).unwrap_or(lines.len()) + 1;
            continue;
        }
        let mut rest = trimmed;
        for prefix in [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "const ",
            "async ",
            "unsafe ",
        ] {
            rest = rest.strip_prefix(prefix).unwrap_or(rest);
        }
        if let Some(sig) = rest.strip_prefix("fn ") {
            let name: String = sig
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // The signature ends at the first line ending in `{` (a body), `;` or `}` (no body
            // of its own or a one-liner).
            let end = (i..lines.len()).find(|&j| {
                let l = lines[j].trim_end();
                l.ends_with('{') || l.ends_with(';') || l.ends_with('}')
            });
            if let Some(end) = end.filter(|&j| lines[j].trim_end().ends_with('{'))
                && let Some(close) = closing(end + 1, indent)
                && close - i + 1 > limit
            {
                out.push((name, close - i + 1));
            }
        }
        i += 1;
    }
    out
}

#[test]
fn no_function_over_a_screen_and_no_file_over_600_lines() {
    let (mut long, mut big) = (Vec::new(), Vec::new());
    for dir in crate_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in crate_sources(&dir) {
            if file.ends_with("tests.rs") || file.ends_with("fixtures.rs") {
                continue;
            }
            let text = std::fs::read_to_string(dir.join("src").join(&file)).unwrap();
            if text.lines().count() > 600 {
                big.push(format!("{name}/src/{file}: {} lines", text.lines().count()));
            }
            for (function, n) in long_functions(&text, 80) {
                long.push((format!("{name}/src/{file}::{function}"), n));
            }
        }
    }
    assert!(big.is_empty(), "files over 600 lines: {big:#?}");
    let new: Vec<_> = long
        .iter()
        .filter(|(f, _)| !LONG_FUNCTIONS.contains(&f.as_str()))
        .collect();
    assert!(
        new.is_empty(),
        "functions over 80 lines (split them): {new:#?}"
    );
    let split: Vec<_> = LONG_FUNCTIONS
        .iter()
        .filter(|f| !long.iter().any(|(l, _)| l == *f))
        .collect();
    assert!(
        split.is_empty(),
        "no longer over 80 lines; remove them from LONG_FUNCTIONS: {split:?}"
    );
}

#[test]
fn every_source_type_has_a_descriptor_and_a_collector() {
    use ragd_core::domain::SourceType;
    use ragd_engine::sources::{RemoteConfig, SourceSettings, git::GitConfig};
    let dir = tempfile::tempdir().unwrap();
    let remote = RemoteConfig {
        allow_hosts: Vec::new(),
        max_file_bytes: 1,
    };
    let collectors = ragd_engine::sources::collectors(SourceSettings {
        blobs: std::sync::Arc::new(ragd_store::ObjectBlobs::local(dir.path()).unwrap()),
        web: Default::default(),
        git: GitConfig {
            dir: dir.path().to_owned(),
            allow_file_urls: false,
            max_file_bytes: 1,
            fetch_timeout: std::time::Duration::from_secs(1),
            allow_hosts: Vec::new(),
        },
        remote,
    });
    for t in SourceType::ALL {
        assert!(
            ragd_core::sources::source_type(*t).is_some(),
            "{t} has a descriptor"
        );
        assert!(collectors.contains_key(t), "{t} has a collector");
    }
    assert_eq!(collectors.len(), SourceType::ALL.len());
}
