//! `orgform sandbox`: run the Bot API emulator (`serve`), build a world from
//! a config (`init`) or a synthetic organisation (`generate`), and act as a
//! person against a running sandbox (`act`, `stats`).

use super::output::outln;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::error::{CliError, exit};
use crate::botapi_spec::BotApiSpec;
use crate::sandbox::generate::{self, GenerateOptions};
use crate::sandbox::{self, FaultOptions, SandboxOptions, SeedOptions, World};

#[derive(Args, Debug)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub command: SandboxCommand,
}

#[derive(Subcommand, Debug)]
pub enum SandboxCommand {
    /// Serve the Bot API on 127.0.0.1 from a world file (saved periodically and on exit).
    Serve(ServeArgs),
    /// Write a world matching a config, with some drift, and print its token.
    Init(InitArgs),
    /// Write a synthetic organisation: DIR/config/*.yaml and DIR/world.json.
    Generate(GenerateArgs),
    /// Act as a person in a running sandbox: `act --as 100001 promoteChatMember chat_id=-100… user_id=… can_pin_messages=true`.
    Act(ActArgs),
    /// Print a running sandbox's call counters.
    Stats(StatsArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The world file (see `sandbox init` and `sandbox generate`).
    #[arg(long, value_name = "FILE")]
    pub world: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    /// Accept this token instead of the world's.
    #[arg(long, env = "ORGFORM_SANDBOX_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Requests per second over all chats; more get 429 with retry_after.
    #[arg(long, value_name = "PER_SEC")]
    pub rate_limit: Option<u32>,
    /// Requests per minute to one chat; more get 429 with retry_after.
    #[arg(long, value_name = "PER_MIN")]
    pub per_chat_limit: Option<u32>,
    /// Probability (0–1) of answering 500 Internal Server Error.
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Probability (0–1) of dropping the connection (half of them after the call took effect).
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Milliseconds added to every Bot API call.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,
    /// Seed for faults, so a run can be repeated.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Check every response against a Bot API spec file (violations become
    /// 500s); without FILE, reference/botapi/api-10.3.json of the source tree
    /// this binary was built from.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = crate::botapi_spec::REFERENCE_PATH)]
    pub check_spec: Option<PathBuf>,
    /// Seconds between saves of a changed world.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub save_interval: u64,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The config (file or directory).
    #[arg(long, value_name = "CONFIG")]
    pub from: PathBuf,
    /// Where to write the world.
    #[arg(long, value_name = "FILE", default_value = "sandbox-world.json")]
    pub world: PathBuf,
    /// Seed for the drift and the token.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Make the world match the config exactly.
    #[arg(long)]
    pub no_drift: bool,
    /// Resolve time-bound grants as of this RFC 3339 instant (default: now).
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[arg(long, default_value_t = 1000)]
    pub people: usize,
    #[arg(long, default_value_t = 100)]
    pub chats: usize,
    /// Output directory (config/ and world.json go inside).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct ActArgs {
    /// The sandbox's base URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8081")]
    pub url: String,
    /// The user id to act as.
    #[arg(long = "as", value_name = "ID")]
    pub as_user: i64,
    /// A Bot API method or a human-only action (addChatMember, joinChat, setChatSlowModeDelay, …).
    pub method: String,
    /// Parameters as key=value; values that parse as JSON (numbers, true, objects) are sent as JSON.
    #[arg(value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8081")]
    pub url: String,
    /// Reset the counters after printing them.
    #[arg(long)]
    pub reset: bool,
}

pub fn run(args: SandboxArgs) -> Result<u8, CliError> {
    match args.command {
        SandboxCommand::Serve(a) => serve(a),
        SandboxCommand::Init(a) => init(a),
        SandboxCommand::Generate(a) => generate_cmd(a),
        SandboxCommand::Act(a) => act(a),
        SandboxCommand::Stats(a) => stats(a),
    }
}

fn probability(name: &str, value: f64) -> Result<f64, CliError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(CliError::with_hint(
            format!("{name} {value} is not a probability"),
            "give a number from 0 to 1, e.g. 0.05",
        ))
    }
}

fn serve(args: ServeArgs) -> Result<u8, CliError> {
    if !args.world.exists() {
        return Err(CliError::with_hint(
            format!("world file {} does not exist", args.world.display()),
            "create one with `orgform sandbox init --from CONFIG --world FILE` or `orgform sandbox generate`",
        ));
    }
    let world = World::load(&args.world).map_err(|e| CliError::caused(e.to_string(), e))?;
    let options = SandboxOptions {
        port: args.port,
        token: args.token,
        world_file: Some(args.world.clone()),
        save_interval: Duration::from_secs(args.save_interval.max(1)),
        faults: FaultOptions {
            rate_limit_per_sec: args.rate_limit,
            per_chat_per_min: args.per_chat_limit,
            fail_rate: probability("--fail-rate", args.fail_rate)?,
            drop_rate: probability("--drop-rate", args.drop_rate)?,
            latency: Duration::from_millis(args.latency),
            seed: args.seed,
        },
        check_spec: match &args.check_spec {
            None => None,
            Some(path) => Some(std::sync::Arc::new(BotApiSpec::load(path).map_err(|e| {
                CliError::with_hint(
                    format!("--check-spec: {e}"),
                    "pass the spec file: --check-spec=PATH/TO/api-10.3.json (reference/botapi/ in orgform's source)",
                )
            })?)),
        },
    };
    let bot = world
        .users
        .get(&world.bot_id())
        .and_then(|u| u.username.clone())
        .unwrap_or_default();
    super::connect::server_runtime()?.block_on(async move {
        let running = sandbox::start(options, world)
            .await
            .map_err(|e| CliError::caused(e.to_string(), e))?;
        // The first line is the api_url alone, for scripts.
        outln!("{}", running.base_url())?;
        eprintln!(
            "sandbox: serving @{bot} on {} (world {}); Ctrl-C to stop",
            running.base_url(),
            args.world.display()
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
        wait_for_signal().await;
        let world = running
            .shutdown()
            .await
            .map_err(|e| CliError::caused(e.to_string(), e))?;
        eprintln!(
            "sandbox: saved {} ({} chats, {} users)",
            args.world.display(),
            world.chats.len(),
            world.users.len()
        );
        Ok(exit::OK)
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn init(args: InitArgs) -> Result<u8, CliError> {
    let now = super::parse_now(args.now.as_deref())?;
    let desired = crate::model::load_desired(&args.from, now).map_err(|e| CliError::Config {
        sources: e.sources,
        diagnostics: e.diagnostics,
    })?;
    let options = SeedOptions {
        seed: args.seed,
        drift: !args.no_drift,
        ..SeedOptions::default()
    };
    let world = World::from_desired(&desired, &options);
    world
        .save(&args.world)
        .map_err(|e| CliError::caused(e.to_string(), e))?;
    eprintln!(
        "wrote {}: {} chats, {} users{}",
        args.world.display(),
        world.chats.len(),
        world.users.len(),
        if options.drift { ", with drift" } else { "" }
    );
    eprintln!(
        "serve it with: orgform sandbox serve --world {}",
        args.world.display()
    );
    // The token is the one thing a caller needs from this command.
    outln!("{}", world.bot.token)?;
    Ok(exit::OK)
}

fn generate_cmd(args: GenerateArgs) -> Result<u8, CliError> {
    if args.people == 0 {
        return Err(CliError::user("--people must be at least 1"));
    }
    let started = std::time::Instant::now();
    let generated = generate::generate(&GenerateOptions {
        people: args.people,
        chats: args.chats,
        seed: args.seed,
    });
    generate::write(&generated, &args.out).map_err(|e| CliError::caused(e.to_string(), e))?;
    eprintln!(
        "generated {} people, {} departments, {} chats in {} ms: {}/config/, {}/world.json",
        generated.config.people.len(),
        generated.config.departments.len(),
        generated.config.chats.len(),
        started.elapsed().as_millis(),
        args.out.display(),
        args.out.display()
    );
    outln!("{}", generated.world.bot.token)?;
    Ok(exit::OK)
}

/// `key=value` → JSON: numbers, booleans, null, objects and arrays as JSON,
/// everything else as a string.
fn parse_params(pairs: &[String]) -> Result<Map<String, Value>, CliError> {
    let mut params = Map::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(CliError::with_hint(
                format!("parameter `{pair}` has no `=`"),
                "write parameters as key=value",
            ));
        };
        let value = serde_json::from_str::<Value>(value)
            .unwrap_or_else(|_| Value::String(value.to_string()));
        params.insert(key.to_string(), value);
    }
    Ok(params)
}

fn http_client() -> Result<reqwest::Client, CliError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| CliError::caused(format!("cannot build an HTTP client: {e}"), e))
}

fn act(args: ActArgs) -> Result<u8, CliError> {
    let params = parse_params(&args.params)?;
    let body = json!({"as": args.as_user, "method": args.method, "params": params});
    let url = format!("{}/sandbox/act", args.url.trim_end_matches('/'));
    let response: Value = super::connect::runtime()?.block_on(async {
        let client = http_client()?;
        let r = client
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| unreachable_sandbox(&args.url, e))?;
        r.json().await.map_err(|e| {
            CliError::user(format!(
                "the sandbox answered with something that is not JSON: {e}"
            ))
        })
    })?;
    outln!(
        "{}",
        serde_json::to_string_pretty(&response).unwrap_or_default()
    )?;
    Ok(if response["ok"] == Value::Bool(true) {
        exit::OK
    } else {
        exit::ERROR
    })
}

fn stats(args: StatsArgs) -> Result<u8, CliError> {
    let base = args.url.trim_end_matches('/').to_string();
    let stats: Value = super::connect::runtime()?.block_on(async {
        let client = http_client()?;
        let r = client
            .get(format!("{base}/sandbox/stats"))
            .send()
            .await
            .map_err(|e| unreachable_sandbox(&base, e))?;
        let stats = r
            .json()
            .await
            .map_err(|e| CliError::caused(format!("unexpected stats answer: {e}"), e))?;
        if args.reset {
            client
                .post(format!("{base}/sandbox/stats/reset"))
                .send()
                .await
                .map_err(|e| unreachable_sandbox(&base, e))?;
        }
        Ok::<Value, CliError>(stats)
    })?;
    outln!(
        "{}",
        serde_json::to_string_pretty(&stats).unwrap_or_default()
    )?;
    Ok(exit::OK)
}

fn unreachable_sandbox(url: &str, e: reqwest::Error) -> CliError {
    CliError::with_hint(
        format!("cannot reach the sandbox at {url}: {}", e.without_url()),
        "start it with `orgform sandbox serve --world FILE` and pass its URL with --url",
    )
}
