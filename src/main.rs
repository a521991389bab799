fn main() -> std::process::ExitCode {
    emcee::cli::main()
}
