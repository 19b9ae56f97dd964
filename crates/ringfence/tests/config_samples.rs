//! Every sample config in the repository parses (with `deny_unknown_fields`), and the
//! annotated example spells out every setting.

use std::path::{Path, PathBuf};

use ringfence::config::Settings;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn sample_configs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !["target", ".git", "fuzz", "node_modules"].contains(&name.as_str()) {
                sample_configs(&path, out);
            }
        } else if name.starts_with("ringfence") && name.ends_with(".toml") {
            out.push(path);
        }
    }
}

#[test]
fn every_sample_config_parses() {
    let mut files = Vec::new();
    sample_configs(&repo_root(), &mut files);
    assert!(!files.is_empty(), "no ringfence*.toml sample found");
    for f in &files {
        let s = Settings::from_file(f).unwrap_or_else(|e| panic!("{}: {e:#}", f.display()));
        s.admin_config().unwrap_or_else(|e| panic!("{}: {e:#}", f.display()));
        s.https_addr().unwrap();
    }
}

#[test]
fn example_mentions_every_setting() {
    let text = std::fs::read_to_string(repo_root().join("ringfence.example.toml")).unwrap();
    // Uncomment everything: the full example must still parse, so every key is real.
    let all: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let s = Settings::from_toml(&all).unwrap();
    // Each field is present, so the example documents all of them.
    let debug = format!("{s:?}");
    assert!(!debug.contains("None"), "a setting is missing from the example: {debug}");
}
