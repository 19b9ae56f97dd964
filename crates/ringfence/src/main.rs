//! `ringfence`: see the library crate for the command line and start-up.

/// jemalloc instead of the C library's allocator. glibc keeps freed memory in per-thread
/// arenas (a burst of registrations left the process at twice its live heap, for good);
/// jemalloc returns unused pages to the system after a few seconds, and costs no more CPU
/// (bench/sip-load/RESULTS.md). Built without it (`--no-default-features`), the process
/// uses glibc's allocator, which heap profilers such as heaptrack can follow.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    match ringfence::main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
