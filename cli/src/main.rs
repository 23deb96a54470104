//! The `skiff` binary: parses the command line and runs the chosen role.

mod agent_cmd;
mod client;
mod completion_cmd;
mod component_args;
mod debug_cmd;
mod detach;
mod down_cmd;
mod limits;
mod server_cmd;
mod signals;
mod up_cmd;
mod user_kubeconfig;

use clap::{CommandFactory, Parser, Subcommand};

/// mimalloc instead of glibc's malloc: under write load glibc's chunk consolidation alone took
/// about 8% of a replica's CPU (bench/README.md, "Store"). Built with `no_thp`: mimalloc
/// otherwise madvises its arenas for transparent huge pages, and every purge then re-fault
/// cleared a whole 2 MiB page; during a 3,000-pod burst on `skiff up` the kernel's page
/// clearing alone took 22% of the process's CPU (bench/README.md, "skiff up").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "skiff",
    version,
    about = "Kubernetes for WebAssembly: control plane, node agent and CLI in one binary"
)]
struct Cli {
    /// `--kubeconfig`, `--context`, `-n`: which cluster the client verbs talk to (and, for
    /// `skiff up`, which kubeconfig it writes its context into).
    #[command(flatten)]
    connect: client::session::ConnectArgs,
    /// How log lines are written to stderr: `text` for people, `json` (one object a line:
    /// timestamp, level, target, fields) for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The `--log-format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run one control-plane replica: the replicated store, the Kubernetes API server, the
    /// scheduler and the controller manager.
    Server(server_cmd::ServerArgs),
    /// Run a node agent: register this machine as a Node and run the pods bound to it.
    Agent(agent_cmd::AgentArgs),
    /// Run a whole single-node cluster in this process: a replica and a node agent.
    Up(up_cmd::UpArgs),
    /// Stop the `skiff up --detach` of a data directory.
    Down(down_cmd::DownArgs),
    /// Inspect a replica's data directory (read-only diagnosis).
    Debug(debug_cmd::DebugArgs),
    /// Print a shell completion script (bash, zsh or fish).
    Completion(completion_cmd::CompletionArgs),
    #[command(flatten)]
    Client(client::ClientCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The client verbs print for people; only warnings of their libraries belong on stderr.
    let default_filter = match cli.command {
        Command::Client(_) | Command::Completion(_) => "warn,kube_client=off",
        _ => "info,openraft=warn",
    };
    init_logging(cli.log_format, default_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("skiff: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if matches!(
        cli.command,
        Command::Server(_) | Command::Agent(_) | Command::Up(_)
    ) {
        limits::raise_open_file_limit();
    }
    let result = runtime.block_on(async {
        match cli.command {
            Command::Server(args) => server_cmd::run(args).await,
            Command::Agent(args) => agent_cmd::run(args).await,
            Command::Up(args) => up_cmd::run(args, cli.connect.kubeconfig).await,
            Command::Down(args) => down_cmd::run(args).await,
            Command::Debug(args) => debug_cmd::run(args).await,
            Command::Completion(args) => {
                completion_cmd::run(&args, &mut Cli::command());
                Ok(())
            }
            Command::Client(verb) => client::run(verb, &cli.connect).await.map_err(Into::into),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.is::<client::Failure>() => {
            // kubectl's words, with nothing in front; a `Reported` failure printed its own.
            let text = e.to_string();
            if !text.is_empty() {
                eprintln!("{text}");
            }
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("skiff: {}", render_error(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Log lines go to stderr, filtered by `SKIFF_LOG` (else `default_filter`), as text or JSON.
fn init_logging(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SKIFF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// One line for an error and its causes, skipping causes whose text the line already carries
/// (many library errors print their source in their own message).
fn render_error(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's consistency checks over every verb: a flag that a subcommand reuses from a
    /// global one, or two arguments with one name, fail here rather than at a user's parse.
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
