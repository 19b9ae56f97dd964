//! Shared helpers for the conformance tests: locating the torture-test corpus.

use std::path::PathBuf;

/// The corpus root (`.../testdata`), or `None` (after saying so) when it is absent and
/// not required. With `RINGFENCE_REQUIRE_CORPUS=1` an absent corpus fails the test.
pub fn corpus(subdir: &str) -> Option<PathBuf> {
    let root = std::env::var_os("RINGFENCE_TESTDATA").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
    });
    let dir = root.join("sip").join(subdir);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("RINGFENCE_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("SIP conformance corpus absent at {}; set RINGFENCE_TESTDATA", dir.display());
    }
    eprintln!("SIP conformance corpus absent at {}; set RINGFENCE_TESTDATA", dir.display());
    None
}

/// Reads one corpus file.
pub fn read(dir: &std::path::Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join(file).display()))
}
