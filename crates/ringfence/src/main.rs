//! `ringfence`: see the library crate for the command line and start-up.

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
