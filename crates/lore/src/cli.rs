//! Command-line arguments. The doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The version and the commit it was built from: `0.5.0 (3f2a1b9c0d4e 2026-12-01)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("LORE_BUILT_FROM"),
    ")"
);

/// Environment variables Lore reads.
pub mod env {
    /// Data directory (default: the platform data dir, e.g. ~/.local/share/lore).
    pub const LORE_HOME: &str = "LORE_HOME";
    /// Log filter, e.g. `lore=debug`.
    pub const RUST_LOG: &str = "RUST_LOG";
}

/// Lore: the resident expert of a codebase. Indexes one repository and
/// answers with evidence (file:line).
#[derive(Debug, Parser)]
#[command(name = "lore", version = VERSION, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Repository to use (default: the indexed repository or git work tree
    /// containing the current directory).
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Global options"
    )]
    pub repo: Option<PathBuf>,
    /// Lore's data directory [env: LORE_HOME] (default: the platform data
    /// dir, e.g. ~/.local/share/lore).
    // Read from the environment by `Home::resolve`, not by clap: clap lists
    // an argument set from the environment in every usage line it prints.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub home: Option<PathBuf>,
    /// More logging (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,
    /// No progress bar and no summary.
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index a repository: a full index the first time, only what changed later.
    Index(IndexArgs),
    /// Search code and text by words and identifiers.
    Search(SearchArgs),
    /// Find definitions by name: exact, then prefix, then fuzzy.
    Symbols(SymbolsArgs),
    /// Find references and call sites of a name.
    Refs(RefsArgs),
    /// Show a file's symbols as a tree.
    Outline(OutlineArgs),
    /// A ranked map of the repository's files and symbols that fits a token
    /// budget (PageRank over the reference graph).
    Map(MapArgs),
    /// Show what is indexed: commit vs HEAD, languages, skipped files, size.
    Status(StatusArgs),
    /// List every indexed repository.
    Repos(JsonArg),
    /// Delete a repository's index entirely.
    Forget(ForgetArgs),
    /// Remove files or directories from every store of this repository's
    /// index (index, vectors, embedding cache, answers that used them) and
    /// keep them out of later runs.
    Purge(PurgeArgs),
    /// Embeddings: which embedder, how many chunks are embedded, pending.
    #[command(subcommand)]
    Embed(EmbedCommand),
    /// Background runs (thoughts) of this repository: list them, or show,
    /// rerun or cancel one.
    Runs(RunsArgs),
    /// The symbols a commit range added, removed, modified or renamed,
    /// with their lines.
    Digest(DigestArgs),
    /// Run background thoughts from the queue (`lore runs` shows them).
    Worker(WorkerArgs),
    /// Let Lore keep working on this repository by itself (`on`): every
    /// index run that finds new commits queues a digest of them.
    #[command(subcommand)]
    Learn(LearnCommand),
    /// Git hooks that tell Lore when the code moves (post-commit, -merge,
    /// -checkout, -rewrite); they never block or fail git.
    #[command(subcommand)]
    Hooks(HooksCommand),
    /// Watch the repository's files: a burst of changes becomes one
    /// incremental index run once they are quiet; with learning on, new
    /// commits are digested at once.
    Watch(WatchArgs),
    /// A function's card: signature, doc, callers, callees, complexity,
    /// churn, owners, tests (`name`, `Class.method` or `path:name`).
    Card(CardArgs),
    /// A module's dossier: purpose, public API, dependencies, dependents,
    /// hot spots (a file or a directory).
    Dossier(DossierArgs),
    /// What the background thoughts found: changes, hot spots, entry
    /// points, removed code still referred to; mark them read or dismiss
    /// them.
    Insights(InsightsArgs),
    /// Findings: Lore's rules (complexity, error handling, injection
    /// risks, secrets, duplicated blocks, TODO notes) over the indexed
    /// files, and those imported from other tools' SARIF.
    Findings(FindingsArgs),
    /// Where the next bug is likely to be: files or functions ranked by
    /// risk (churn, past fixes, size, authors, age, complexity, centrality,
    /// findings), from a model fitted on this repository's own history.
    Risks(RisksArgs),
    /// What else may have to change if TARGET changes: callers, importers
    /// and overriders (transitively, each edge labelled resolved, name-only
    /// or co-change), files that change with it, the tests that exercise it.
    /// TARGET is a symbol (`name`, `Class.method`, `path:name`), a path or a
    /// commit range (`FROM..TO`).
    Impact(ImpactArgs),
    /// Where to look for the bug behind a symptom (an error message, an
    /// exception, a log line, a stack trace, plain words): places ranked
    /// with their evidence — literal matches and raise sites, definitions
    /// of the names it mentions, stack frames, search, past fixes and
    /// recent changes of each file.
    Diagnose(DiagnoseArgs),
    /// Review a change: what Lore's rules find on the lines it added, less
    /// findings like ones people dismissed; `--fail-on` makes CI fail.
    Review(ReviewArgs),
    /// Run the repository's tests in the sandbox (no network, a scratch
    /// copy of the tree, time and memory limits): pass/fail per test and
    /// coverage; failing tests become insights. Runs the repository's code:
    /// only when asked.
    Verify(JsonArg),
    /// Run the linters that apply and are installed (ruff, eslint,
    /// golangci-lint, clippy, semgrep with the repository's rules) in the
    /// sandbox; their findings join `lore findings`. Their configs and
    /// plugins are repository code: only when asked.
    Lint(JsonArg),
    /// Measure retrieval quality (Recall@1/5/10, MRR@10 at file and span
    /// level) and latency on a query set.
    Eval(EvalArgs),
    /// Ask a question: an answer whose every citation (file:line at a
    /// commit) was checked against the evidence retrieved. With no provider
    /// configured, the answer is built from the evidence alone.
    Ask(AskArgs),
    /// An interactive session: questions and follow-ups in one conversation
    /// (/help for commands).
    Chat(ChatArgs),
    /// Past questions and answers of this repository.
    History(HistoryArgs),
    /// Say how good an answer was: up or down, a note, the places it
    /// should have cited. Lore learns from it (its reward is printed).
    Feedback(FeedbackArgs),
    /// The repository's own retrieval policies (how search ranks): train
    /// one on queries mined from the repository, list, show, promote, roll
    /// back.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The next lines of a file at FILE:LINE, written by the local model
    /// (`provider.kind local`) wearing this repository's adapter.
    Complete(CompleteArgs),
    /// The repository's own specialist: train a LoRA adapter of the local
    /// base model (`provider.kind local`) on this repository's code; it is
    /// put in force only if it beats the base on held-out files. `status`,
    /// `list`, `promote V`, `rollback [V]`.
    Adapt(AdaptArgs),
    /// What Lore learned about this repository and how well it does:
    /// retrieval quality over time, feedback, retrieval policies, A/B
    /// comparisons, which thoughts people find worth reading.
    Report(ReportArgs),
    /// Show or change settings (providers, models, budgets, privacy), kept
    /// in LORE_HOME/config.toml.
    Config(ConfigArgs),
    /// Chat providers: reachability, models available, latency.
    #[command(subcommand)]
    Providers(ProvidersCommand),
    /// The HTTP API and web UI; indexes the given repositories in the
    /// background.
    Serve(ServeArgs),
    /// The MCP server over stdio, for agents and IDEs.
    Mcp(McpArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Repositories to register and index at start.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Address to listen on. Anything but loopback requires a bearer token
    /// (created in LORE_HOME/server.token on first start).
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "HOST:PORT")]
    pub addr: std::net::SocketAddr,
    /// Origins allowed to call the API from a browser (CORS); none by default.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// A host name clients reach the server by (repeatable). Requests
    /// naming any other host than these, `localhost` and IP addresses are
    /// refused (DNS rebinding).
    #[arg(long = "public-host", value_name = "NAME")]
    pub public_hosts: Vec<String>,
    /// A directory under which the web UI and API may register
    /// repositories (repeatable; default: the working directory).
    #[arg(long = "repo-root", value_name = "DIR")]
    pub repo_roots: Vec<PathBuf>,
    /// Requests per second per client (0: no limit). Loopback clients are
    /// not limited unless --limit-loopback.
    #[arg(long, default_value_t = 50.0, value_name = "N")]
    pub rate_limit: f64,
    /// Apply the rate limit to loopback clients too.
    #[arg(long)]
    pub limit_loopback: bool,
    /// Memory each repository's search data may hold (MiB): vector codes,
    /// file graph and chunk heads stay in memory while they fit, the rest
    /// is read per query. `/metrics` reports what is held
    /// (`lore_resident_bytes`).
    #[arg(long, default_value_t = 512, value_name = "MIB")]
    pub resident_mb: u64,
    /// Answer from the evidence alone, even if a model is configured.
    #[arg(long)]
    pub no_llm: bool,
}

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Answer `ask` from the evidence alone, even if a model is configured.
    #[arg(long)]
    pub no_llm: bool,
}

/// Options shared by `lore ask` and `lore chat`.
#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The model to ask (overrides routing and provider.model).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Answer from the evidence alone, without a model.
    #[arg(long)]
    pub no_llm: bool,
    /// Refuse providers that are not on this machine.
    #[arg(long)]
    pub no_remote: bool,
    /// Answer afresh even when the answer cache holds a still valid answer
    /// to the same question.
    #[arg(long)]
    pub no_cache: bool,
    /// Show how the answer was made: the question as read, the route, every
    /// candidate with its features, whether it was packed and cited.
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question.
    #[arg(required = true, num_args = 1.., value_name = "QUESTION")]
    pub question: Vec<String>,
    /// Continue the latest conversation (follow-up questions).
    #[arg(short = 'c', long = "continue")]
    pub continue_: bool,
    #[command(flatten)]
    pub answer: AnswerArgs,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Continue the latest conversation instead of starting one.
    #[arg(short = 'c', long = "continue")]
    pub continue_: bool,
    #[command(flatten)]
    pub answer: AnswerArgs,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// How many answers, newest first.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Show one answer in full, with its retrieval log.
    #[arg(long, value_name = "ID")]
    pub show: Option<i64>,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct FeedbackArgs {
    /// The answer (`lore history` lists them; `lore ask --json` prints it).
    #[arg(value_name = "ANSWER_ID")]
    pub answer: i64,
    /// `up` or `down`; without one, a note or a correction alone.
    #[arg(value_name = "VERDICT", value_parser = ["up", "down"])]
    pub verdict: Option<String>,
    /// What you think of it (its mood counts a little).
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Where the answer should have pointed (repeatable).
    #[arg(long = "correct", value_name = "PATH:A-B")]
    pub correct: Vec<String>,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// `get KEY`, `set KEY VALUE`, or nothing to show every setting.
    #[arg(value_name = "ACTION")]
    pub action: Option<String>,
    /// A dotted key, e.g. `provider.model`.
    #[arg(value_name = "KEY")]
    pub key: Option<String>,
    /// The new value.
    #[arg(value_name = "VALUE")]
    pub value: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// Check the configured provider: reachable, model available, latency.
    Check(JsonArg),
}

#[derive(Debug, Subcommand)]
pub enum EmbedCommand {
    /// Show the embedder, its model, and embedded and pending chunk counts.
    Status(JsonArg),
    /// Choose the transformer embedder of the repository: `learned` (none,
    /// the default), `local:DIR[?tokens=N]` (a sentence-transformers model
    /// directory), `openai:MODEL[@URL]` or `ollama:MODEL[@URL]`.
    Use(EmbedUseArgs),
    /// Compute the missing transformer vectors now (resumable: stop it any
    /// time; the next run goes on where it stopped).
    Run(EmbedRunArgs),
    /// Maintain the learned vectors: retrain the learned model when the
    /// code's vocabulary has drifted from it, or merge vector segments and
    /// drop deleted rows when they have piled up (`lore index` says when
    /// it is due; `lore serve` does it by itself). Index runs go on
    /// meanwhile.
    Maintain(EmbedMaintainArgs),
}

#[derive(Debug, Subcommand)]
pub enum LearnCommand {
    /// Turn learning on for this repository, optionally changing its policy.
    On(LearnArgs),
    /// Turn it off (queued thoughts wait; `lore runs cancel` removes them).
    Off(LearnArgs),
    /// Whether it is on, what runs and waits, the last index run.
    Status(JsonArg),
    /// The secret GitHub signs webhook deliveries with (created if
    /// missing): give it to the repository's webhook with the URL
    /// `https://HOST/webhooks/github`.
    WebhookSecret {
        /// Make a new one (deliveries signed with the old one are refused).
        #[arg(long)]
        rotate: bool,
    },
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Index once the files have been quiet this long (milliseconds).
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub debounce_ms: u64,
}

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Install them (again: nothing changes; a hook already there runs
    /// first and keeps deciding git's exit status).
    Install,
    /// Remove them, putting back the hooks they replaced.
    Uninstall,
    /// What a hook runs: index, then this repository's runnable thoughts.
    #[command(hide = true)]
    Fire {
        /// The hook that fired.
        hook: String,
    },
}

#[derive(Debug, Args)]
pub struct CardArgs {
    /// `name`, `Class.method` or `path:name`.
    pub symbol: String,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct DossierArgs {
    /// A file or directory of the repository.
    pub path: PathBuf,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct InsightsArgs {
    #[command(subcommand)]
    pub command: Option<InsightsCommand>,
    /// Only this kind (`change`, `hotspot`, `entry-points`,
    /// `broken-reference`).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only this status (`suppressed`: like three or more dismissed).
    #[arg(long, value_parser = ["new", "read", "dismissed", "suppressed"])]
    pub status: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// `FILE:LINE`: the lines before LINE are the prompt; what the model
    /// writes would be line LINE on.
    pub at: String,
    /// Lines to write.
    #[arg(long, default_value_t = 1)]
    pub lines: usize,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AdaptArgs {
    #[command(subcommand)]
    pub command: Option<AdaptCommand>,
    /// Optimizer steps at most (one window of 256 tokens each).
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// Rank of the adapter (its scale is twice the rank over the rank).
    #[arg(long, default_value_t = 8)]
    pub rank: usize,
    /// Wall-time budget of training, `cpu=30m` (s, m or h); evaluation
    /// comes on top.
    #[arg(long, value_name = "cpu=DURATION", default_value = "cpu=30m")]
    pub budget: String,
    /// Steps between checkpoints: a run killed midway resumes from the last
    /// one when it runs again.
    #[arg(long, default_value_t = 25, value_name = "N")]
    pub checkpoint_every: usize,
    /// Continue the adapter in force on what changed since it was made
    /// (code, commits, rated answers) with replay of the rest, as the
    /// worker does when the repository has been idle; a stale adapter is
    /// retrained whole.
    #[arg(long)]
    pub consolidate: bool,
    /// Train on one language's files alone (`python`, `rust`, …): the
    /// adapter is worn for code in that language, the repository's
    /// adapter for the rest.
    #[arg(long, value_name = "LANGUAGE")]
    pub language: Option<String>,
    /// Train now and print the result; without it the run is queued for
    /// the worker (`lore worker`, or the server's).
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Subcommand)]
pub enum AdaptCommand {
    /// The adapter in force, and the base model it runs on.
    Status(JsonArg),
    /// Every version, its held-out evaluation and which is in force.
    List(JsonArg),
    /// Put a version in force.
    Promote {
        /// The version.
        version: u32,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Put back the version in force before (or VERSION); with none
    /// before, the base model alone.
    Rollback {
        /// The version to put back.
        version: Option<u32>,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Measure a version again on the held-out files, base vs adapter.
    Eval {
        /// The version.
        version: u32,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Write a version (default: the one in force) for llama.cpp and
    /// Ollama: DIR/adapter.gguf (GGUF LoRA) and DIR/Modelfile (`FROM` the
    /// base, `ADAPTER` the file; `ollama create NAME -f DIR/Modelfile`).
    Export {
        /// The directory to write.
        #[arg(long, value_name = "DIR")]
        ollama: std::path::PathBuf,
        /// The version.
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        json: JsonArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Every version, its held-out evaluation and which is in force.
    List(JsonArg),
    /// One version in full.
    Show {
        /// The version.
        version: u32,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Train a version on queries mined from the repository (documented
    /// functions with their docs hidden, names, commit subjects) and on
    /// the questions people judged; it is put in force only if it beats
    /// the one in force on held-out queries by the margin and ranks the
    /// judged questions no worse.
    Train {
        /// Doc queries to mine, and half as many of names and of commits
        /// (70% train, 30% held out).
        #[arg(long, default_value_t = 300)]
        queries: usize,
        /// Held-out Recall@10 gain needed to promote.
        #[arg(long, default_value_t = 0.02)]
        margin: f64,
        /// Train now and print the result; without it the run is queued
        /// for the worker (`lore worker`, or the server's).
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Put a version in force.
    Promote {
        /// The version.
        version: u32,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Put back the version in force before (or VERSION).
    Rollback {
        /// The version to put back.
        version: Option<u32>,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Compare a version with the one in force in the server's searches:
    /// their results are interleaved and what people open decides
    /// (`lore report` shows the wins); `--stop` ends it.
    Ab {
        /// The challenger.
        version: Option<u32>,
        /// End the comparison.
        #[arg(long, conflicts_with = "version")]
        stop: bool,
        #[command(flatten)]
        json: JsonArg,
    },
}

/// `lore report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The period: 7d, 24h, 30m.
    #[arg(long, default_value = "7d")]
    pub since: String,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Subcommand)]
pub enum InsightsCommand {
    /// Mark an insight read.
    Read {
        /// Insight id.
        id: i64,
    },
    /// Dismiss an insight (it stays dismissed when it is found again).
    Dismiss {
        /// Insight id.
        id: i64,
    },
}

#[derive(Debug, Args)]
pub struct FindingsArgs {
    #[command(subcommand)]
    pub command: Option<FindingsCommand>,
    /// Only this rule (repeatable), e.g. `security/sql-format`.
    #[arg(long)]
    pub rule: Vec<String>,
    /// Only this severity or higher.
    #[arg(long, value_parser = ["low", "medium", "high"])]
    pub severity: Option<String>,
    /// SARIF 2.1.0 (for GitHub code scanning and other tools).
    #[arg(long, conflicts_with = "json")]
    pub sarif: bool,
    /// Only files under these paths.
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Subcommand)]
pub enum FindingsCommand {
    /// Read a SARIF 2.1.0 file (any tool's): its findings on indexed files
    /// join Lore's, as insights; recorded as a run.
    Import {
        /// The SARIF file.
        file: PathBuf,
        #[command(flatten)]
        json: JsonArg,
    },
}

#[derive(Debug, Args)]
pub struct LearnArgs {
    /// What background thoughts may use: `cpu=20m/h` (CPU time they
    /// actually use), `tokens=50k/day` (LLM tokens); `cpu=none` removes
    /// one. Repeatable. A bucket holds five minutes' worth (a burst).
    #[arg(long, value_name = "RESOURCE=AMOUNT/PERIOD")]
    pub budget: Vec<String>,
    /// No background work starts in this daily window (local time), e.g.
    /// `09:00-18:00`; `none` removes it. Work you ask for still runs.
    #[arg(long, value_name = "HH:MM-HH:MM")]
    pub quiet_hours: Option<String>,
    /// When MapRepo, Summarize and Prioritize run, as a cron expression
    /// (`'0 3 * * *'`: 03:00 daily, local time); `none` removes it.
    #[arg(long, value_name = "CRON")]
    pub cadence: Option<String>,
    /// Thought kinds allowed (replaces the list; `default` restores
    /// scan-diff, map-repo, summarize, prioritize, maintain-vectors,
    /// smell-hunt). Kinds
    /// that run the repository's code (verify, lint) are allowed only here.
    #[arg(long, value_name = "KIND", num_args = 1..)]
    pub allow: Option<Vec<String>>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Run what is runnable now, then exit.
    #[arg(long)]
    pub once: bool,
    /// Only the repositories at these paths (default: all; `--repo PATH`
    /// names one too).
    #[arg(value_name = "PATH")]
    pub repos: Vec<PathBuf>,
    /// Worker threads.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: usize,
    /// How often an idle worker looks for work (milliseconds).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub poll_ms: u64,
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    /// `FROM..TO` in any revision syntax git accepts (default: the last
    /// commit, `HEAD~1..HEAD`).
    #[arg(default_value = "HEAD~1..HEAD", value_name = "RANGE")]
    pub range: String,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    /// Runs of every repository, not only this one.
    #[arg(long)]
    pub all: bool,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: usize,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// One run in full: input, output, spent budget, times.
    Show {
        /// Run id.
        id: i64,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Run it again: a new run, never merged with a queued one.
    Rerun {
        /// Run id.
        id: i64,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Cancel a run that has not finished (a running one stops at its next
    /// heartbeat, without committing).
    Cancel {
        /// Run id.
        id: i64,
    },
}

#[derive(Debug, Args)]
pub struct EmbedMaintainArgs {
    /// Retrain the learned model even if its vocabulary has not drifted.
    #[arg(long)]
    pub retrain: bool,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct EmbedUseArgs {
    /// The embedder spec.
    pub spec: String,
}

#[derive(Debug, Args)]
pub struct EmbedRunArgs {
    /// Embed at most this many chunks.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Chunks per batch (each batch is saved before the next starts).
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub batch: usize,
    #[command(flatten)]
    pub json: JsonArg,
}

/// When `lore index` computes transformer vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EmbedWhen {
    /// In a background process after the index is committed.
    Background,
    /// In this process after the index is committed.
    Wait,
    /// Not now (`lore embed run` later).
    Off,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Repository root (default: current repository or directory).
    pub path: Option<PathBuf>,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_file_size: u64,
    /// Parser threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Most git commits read on a first run.
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub max_commits: usize,
    /// Do not compute vectors (search stays lexical until a run with them).
    #[arg(long)]
    pub no_vectors: bool,
    /// Set the transformer embedder first (see `lore embed use`).
    #[arg(long, value_name = "SPEC")]
    pub embedder: Option<String>,
    /// When to compute transformer vectors, if an embedder is set.
    #[arg(long, value_enum, default_value = "background", value_name = "WHEN")]
    pub embed: EmbedWhen,
    /// Rebuild the index from the source: the way back from a damaged
    /// index. Questions, answers and feedback are kept.
    #[arg(long)]
    pub rebuild: bool,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words, identifiers or both.
    #[arg(required = true)]
    pub query: Vec<String>,
    /// Number of results.
    #[arg(short = 'k', long, default_value_t = 10)]
    pub limit: usize,
    /// Only this language (repeatable): python, rust, typescript, markdown...
    #[arg(long = "lang", value_name = "L")]
    pub langs: Vec<String>,
    /// Only paths matching this glob, e.g. 'src/**/*.rs' or '*.py'.
    #[arg(long = "path", value_name = "GLOB")]
    pub path_glob: Option<String>,
    /// Ranking signals: hybrid (all, fused), lexical (BM25) or vector.
    #[arg(long, default_value = "hybrid", value_name = "MODE")]
    pub mode: String,
    /// Show each ranking feature's part in every result's score.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct SymbolsArgs {
    /// Name or qualified name, e.g. `send` or `Session.send`.
    pub name: String,
    /// Only this kind: function, method, class, struct, enum, trait,
    /// interface, module, namespace, constant, static, type, macro.
    #[arg(long, value_name = "K")]
    pub kind: Option<String>,
    /// Maximum results.
    #[arg(short = 'k', long, default_value_t = 50)]
    pub limit: usize,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct RefsArgs {
    /// Name of the symbol.
    pub name: String,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct OutlineArgs {
    /// File, relative to the repository root or the current directory.
    pub file: String,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct MapArgs {
    /// Token budget (o200k_base tokens).
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub tokens: usize,
    /// Centre the map on a file, a directory or a symbol name.
    #[arg(long, value_name = "PATH|SYMBOL")]
    pub focus: Option<String>,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Repository root (default: current repository).
    pub path: Option<PathBuf>,
    /// List every skipped file with its reason.
    #[arg(long)]
    pub errors: bool,
    /// Read every index file against its checksum and report damage (a
    /// full read of the index); exits with 1 if something is damaged.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Files or directories of the repository.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Let purged paths back in: the next `lore index` indexes them again.
    #[arg(long)]
    pub allow: bool,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Repository root whose index to delete.
    pub path: PathBuf,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "from_docs", "from_history", "risk"])))]
pub struct EvalArgs {
    /// JSONL query set: one {"query": "...", "expected": [{"path": "...",
    /// "start_line": N, "end_line": M}]} per line.
    pub file: Option<PathBuf>,
    /// Build queries from the first sentences of documented functions; their
    /// doc comments are hidden from a scratch index used for the evaluation.
    #[arg(long)]
    pub from_docs: bool,
    /// Use recent commit subjects as queries and the lines each commit
    /// changed (where still unchanged at HEAD) as the expected answers.
    #[arg(long)]
    pub from_history: bool,
    /// Number of queries to build (default: 300 from docs, 200 from history).
    #[arg(long, value_name = "N")]
    pub n: Option<usize>,
    /// Ranking modes to evaluate, comma-separated: hybrid, lexical, vector.
    /// With several, the JSON output is an array of reports.
    #[arg(long, default_value = "hybrid", value_name = "MODES")]
    pub mode: String,
    /// Write the query set used to this JSONL file.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Write every hybrid candidate of every query with its feature values
    /// and whether it was expected (JSONL), to fit a ranking policy on.
    #[arg(long, value_name = "FILE")]
    pub features: Option<PathBuf>,
    /// Evaluate answers instead of search: the share of questions with an
    /// acceptable location among the first 3 citations, citation precision
    /// and answer latency (with the configured provider unless --no-llm).
    #[arg(long, requires = "file")]
    pub ask: bool,
    /// With --ask: extractive answers only.
    #[arg(long, requires = "ask")]
    pub no_llm: bool,
    /// Evaluate the risk map instead: at each cut, risk computed from what
    /// was known then against the files bug-fix commits touched in the
    /// window after (ROC AUC, recall within the riskiest 20% of lines),
    /// beside LOC-only and churn-only baselines.
    #[arg(long, conflicts_with_all = ["file", "from_docs", "from_history", "ask"])]
    pub risk: bool,
    /// With --risk: how long before HEAD a cut is (repeatable; `365d`,
    /// `2y`, `26w`).
    #[arg(long, requires = "risk", value_name = "AGE", value_parser = parse_days)]
    pub cut: Vec<i64>,
    /// With --risk: the window after a cut in which fixes count.
    #[arg(long, requires = "risk", value_name = "SPAN", value_parser = parse_days, default_value = "365d")]
    pub window: i64,
    /// With --risk --json: each cut's files too, with their features, label
    /// and scores (for analysing the model).
    #[arg(long, requires = "risk")]
    pub per_file: bool,
    #[command(flatten)]
    pub json: JsonArg,
}

/// Days of `365d`, `26w`, `2y` (a year is 365 days).
pub fn parse_days(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (n, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = n.parse().map_err(|_| {
        format!("{text:?}: expected a number of days, weeks or years (365d, 26w, 2y)")
    })?;
    let days = match unit {
        "d" | "" => n,
        "w" => n * 7,
        "y" => n * 365,
        _ => return Err(format!("{text:?}: the unit is d, w or y (365d, 26w, 2y)")),
    };
    if days <= 0 {
        return Err(format!("{text:?}: must be more than zero"));
    }
    Ok(days)
}

#[derive(Debug, Args)]
pub struct ImpactArgs {
    /// A symbol, a path or a commit range.
    pub target: String,
    /// Caller hops to follow.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub depth: u32,
    /// Files listed at most.
    #[arg(short = 'k', long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// The symptom; `-` reads it from standard input (a whole stack trace).
    pub symptom: String,
    /// Places listed at most.
    #[arg(short = 'k', long, default_value_t = 10, value_name = "N")]
    pub limit: usize,
    /// Have the configured provider write a hypothesis over the places
    /// (its citations verified); with --json, prints `{places,
    /// hypothesis}` instead of the list. Without this flag a hypothesis is
    /// written in text output whenever a provider is configured.
    #[arg(long, conflicts_with = "no_llm")]
    pub hypothesis: bool,
    /// Never ask a provider.
    #[arg(long)]
    pub no_llm: bool,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// `FROM..TO`, or one commit (`R` = `R~1..R`); default the last commit.
    #[arg(value_name = "RANGE", conflicts_with = "staged")]
    pub range: Option<String>,
    /// The staged changes instead of a range.
    #[arg(long)]
    pub staged: bool,
    /// Output: text, json, sarif (SARIF 2.1.0 for code scanning) or github
    /// (workflow annotations).
    #[arg(long, default_value = "text", value_parser = ["text", "json", "sarif", "github"])]
    pub format: String,
    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_name = "SEVERITY", value_parser = ["low", "medium", "high"])]
    pub fail_on: Option<String>,
    /// Never ask a provider for comments (with one configured, the review
    /// adds the model's comments whose citations verify).
    #[arg(long)]
    pub no_llm: bool,
}

#[derive(Debug, Args)]
pub struct RisksArgs {
    /// Rank files or functions.
    #[arg(long, default_value = "file", value_parser = ["file", "function"])]
    pub level: String,
    /// Only the N riskiest.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Each feature's contribution to the score.
    #[arg(long)]
    pub explain: bool,
    /// The prior weights, not a model fitted on this repository's history.
    #[arg(long)]
    pub prior: bool,
    /// The training window of the fitted model.
    #[arg(long, value_name = "SPAN", value_parser = parse_days, default_value = "365d")]
    pub window: i64,
    #[command(flatten)]
    pub json: JsonArg,
}
