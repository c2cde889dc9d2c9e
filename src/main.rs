//! The `orgform` binary: everything lives in the library; this only hands
//! the process's arguments to `cli::main`.

fn main() -> std::process::ExitCode {
    orgform::cli::main()
}
