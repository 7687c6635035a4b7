//! `lore ask`, `lore chat`, `lore history`, `lore config`, `lore providers`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use lore_ask::asker::{env, load_config};
use lore_ask::config::Config;
use lore_ask::provider;
use lore_ask::{Answer, AskOptions, AskRequest, Asked, Asker, Mode, Thread};
use lore_core::history::HistoryStore;
use lore_index::{Home, RepoIndex};
use lore_store::SqliteHistory;
use serde_json::json;

use crate::cli::{AnswerArgs, AskArgs, ChatArgs, ConfigArgs, GlobalArgs, HistoryArgs, JsonArg};
use crate::success;

fn request(args: &AnswerArgs) -> AskRequest {
    AskRequest {
        no_llm: args.no_llm,
        no_remote: args.no_remote,
        model: args.model.clone(),
        user: None,
        no_cache: args.no_cache,
    }
}

fn thread(continue_: bool) -> Thread {
    if continue_ {
        Thread::Latest
    } else {
        Thread::New
    }
}

/// `lore ask`.
pub fn ask(home: &Home, index: RepoIndex, args: &AskArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let question = args.question.join(" ");
    if question.trim().is_empty() {
        bail!("the question is empty");
    }
    let mut asker = Asker::open(home.path(), &index, thread(args.continue_))?;
    let stream = !args.json.json;
    let mut stdout = std::io::stdout().lock();
    let asked = asker.ask(&index, &question, &request(&args.answer), &mut |text| {
        if stream {
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        }
    })?;
    drop(stdout);
    if args.json.json {
        let mut value = asked.to_json(asker.conversation());
        if args.answer.explain {
            value["explain"] = asked.explain_json();
        }
        return crate::render::print_json(&value);
    }
    let Asked { answer, id, route } = &asked;
    let (id, route) = (*id, *route);
    finish(answer, id, route, args.answer.explain, g.quiet)?;
    Ok(success())
}

/// Prints what follows a streamed answer: sources, removed citations, the
/// footer, and the explanation if asked.
fn finish(answer: &Answer, id: i64, route: Option<&str>, explain: bool, quiet: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out)?;
    if !answer.citations.is_empty() {
        let commit = &answer.commit[..answer.commit.len().min(12)];
        writeln!(
            out,
            "\nSources{}:",
            if commit.is_empty() {
                String::new()
            } else {
                format!(" at {commit}")
            }
        )?;
        let mut seen = std::collections::HashSet::new();
        let mut citations: Vec<_> = answer.citations.iter().collect();
        citations.sort_by_key(|c| c.n);
        for c in citations {
            if !seen.insert(c.n) {
                continue;
            }
            let p = answer.packed.iter().find(|p| p.n == c.n);
            let (a, b) = p.map_or((c.at.start_line, c.at.end_line), |p| {
                (p.evidence.at.start_line, p.evidence.at.end_line)
            });
            writeln!(
                out,
                "  [{}] {}:{a}-{b}{}{}",
                c.n,
                c.at.path,
                c.at.symbol
                    .as_deref()
                    .map(|s| format!("  {s}"))
                    .unwrap_or_default(),
                if c.stale {
                    "  (file changed since indexed)"
                } else {
                    ""
                }
            )?;
        }
    }
    drop(out);
    if let Some(notice) = &answer.notice {
        eprintln!("note: {notice}");
    }
    if !answer.rejected.is_empty() {
        let what: Vec<String> = answer
            .rejected
            .iter()
            .map(|r| format!("{} ({})", r.text, r.reason))
            .collect();
        eprintln!(
            "warning: {} citation{} removed because {} not match the evidence: {}",
            answer.rejected.len(),
            if answer.rejected.len() == 1 { "" } else { "s" },
            if answer.rejected.len() == 1 {
                "it did"
            } else {
                "they did"
            },
            what.join("; ")
        );
    }
    if explain {
        print_explain(answer, route)?;
    }
    if !quiet {
        let mut footer = vec![match answer.mode {
            Mode::Llm => format!("llm {}", answer.model.as_deref().unwrap_or("?")),
            Mode::Extractive => "extractive".to_owned(),
        }];
        if answer.mode == Mode::Llm {
            footer.push(format!(
                "{}+{} tokens",
                answer.tokens.prompt, answer.tokens.completion
            ));
            footer.push(match answer.cost {
                Some(c) => format!("${c:.4}"),
                None => "cost unknown".into(),
            });
        }
        footer.push(format!("{} ms", answer.latency_ms));
        footer.push(format!("answer {id}"));
        eprintln!("{}", footer.join(" · "));
    }
    Ok(())
}

fn print_explain(answer: &Answer, route: Option<&str>) -> Result<()> {
    let q = &answer.question;
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nHow this answer was made")?;
    writeln!(
        out,
        "  question: intent {:?}, names {:?}, follow-up {}, complex {}",
        q.intent, q.identifiers, q.follow_up, q.complex
    )?;
    if let Some(route) = route {
        writeln!(
            out,
            "  route: {route} → {}",
            answer.model.as_deref().unwrap_or("?")
        )?;
    }
    let p = &answer.policy;
    writeln!(
        out,
        "  context policy v{}: {} chunks, {} graph hop(s), budget {} tokens (+{} answer), temperature {}",
        p.version, p.chunks, p.graph_hops, p.budget_tokens, p.answer_tokens, p.temperature
    )?;
    writeln!(
        out,
        "  context bandit: {}",
        p.arm.as_deref().map_or_else(
            || "off (context.learn = false)".to_owned(),
            |arm| format!("arm {arm}")
        )
    )?;
    let r = &answer.retrieval_policy;
    writeln!(
        out,
        "  retrieval policy: {}",
        r.repository.map_or_else(
            || format!("global v{}", r.version),
            |v| format!("this repository's v{v}")
        )
    )?;
    if let Some(id) = answer.reused {
        writeln!(out, "  from the answer cache: reuses answer {id}")?;
    }
    if answer.redactions > 0 {
        writeln!(
            out,
            "  {} secret(s) redacted before sending",
            answer.redactions
        )?;
    }
    let cited: std::collections::HashSet<usize> = answer.citations.iter().map(|c| c.n).collect();
    writeln!(out, "  candidates (n = id in the context; * = cited):")?;
    for c in &answer.candidates {
        let n = c.chosen.filter(|&i| i < answer.packed.len()).map(|i| i + 1);
        let mark = match n {
            Some(n) if cited.contains(&n) => format!("[{n}]*"),
            Some(n) => format!("[{n}] "),
            None => "  -  ".into(),
        };
        let features: Vec<String> = c
            .features
            .iter()
            .map(|f| format!("{}={:.3}", f.feature.name(), f.value))
            .collect();
        writeln!(
            out,
            "  {mark:>6} {:<10} #{:<2} {}:{}-{} {} {}",
            format!("{:?}", c.source).to_lowercase(),
            c.rank,
            c.evidence.at.path,
            c.evidence.at.start_line,
            c.evidence.at.end_line,
            c.evidence.at.symbol.as_deref().unwrap_or(""),
            features.join(" ")
        )?;
    }
    Ok(())
}

/// `lore chat`: a read-eval-print loop over one conversation.
pub fn chat(home: &Home, index: RepoIndex, args: &ChatArgs) -> Result<ExitCode> {
    let mut asker = Asker::open(home.path(), &index, thread(args.continue_))?;
    let mut explain = args.answer.explain;
    let mut editor = rustyline::DefaultEditor::new().context("cannot start line editing")?;
    let history_file = home.path().join("chat_history.txt");
    let _ = editor.load_history(&history_file);
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprintln!(
            "Lore on {} — ask about the code; /help for commands, Ctrl-D to leave.",
            index.root().display()
        );
    }
    let mut last: Option<Answer> = None;
    loop {
        let line = match editor.readline(if interactive { "lore> " } else { "" }) {
            Ok(line) => line,
            Err(rustyline::error::ReadlineError::Interrupted) => continue,
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("cannot read the question"),
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line);
        match line {
            "/quit" | "/exit" | "/q" => break,
            "/help" => {
                outln!(
                    "/new      start a new conversation\n/explain  show how answers are made (toggle)\n/sources  the last answer's sources again\n/history  this conversation's questions\n/quit     leave"
                )?;
                continue;
            }
            "/new" => {
                asker.restart()?;
                outln!("(new conversation)")?;
                continue;
            }
            "/explain" => {
                explain = !explain;
                outln!("(explain {})", if explain { "on" } else { "off" })?;
                continue;
            }
            "/sources" => {
                if let Some(a) = &last {
                    finish(a, 0, None, false, true)?;
                }
                continue;
            }
            "/history" => {
                for e in asker.history().exchanges(asker.conversation())? {
                    outln!("{:>5}  {}", e.id, e.question)?;
                }
                continue;
            }
            other if other.starts_with('/') => {
                eprintln!("unknown command {other}: /help lists them");
                continue;
            }
            _ => {}
        }
        let mut stdout = std::io::stdout();
        let result = asker.ask(&index, line, &request(&args.answer), &mut |text| {
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        });
        match result {
            Ok(asked) => {
                finish(&asked.answer, asked.id, asked.route, explain, false)?;
                outln!()?;
                last = Some(asked.answer);
            }
            Err(e) => crate::report_error(&e.into()),
        }
    }
    let _ = editor.save_history(&history_file);
    Ok(success())
}

/// `lore history`.
pub fn history(index: RepoIndex, args: &HistoryArgs) -> Result<ExitCode> {
    let path = lore_index::Layout::new(index.data_dir()).history_db();
    let history = SqliteHistory::open(&path)
        .with_context(|| format!("cannot open the history at {}", path.display()))?;
    if let Some(id) = args.show {
        let Some(answer) = history.answer(id)? else {
            bail!("no answer {id} in this repository's history (see `lore history`)");
        };
        let candidates = history.candidates(id)?;
        let feedback = history.feedback(id)?;
        if args.json.json {
            let mut value = serde_json::to_value(&answer)?;
            value["candidates"] = serde_json::to_value(&candidates)?;
            value["feedback"] = serde_json::to_value(&feedback)?;
            return crate::render::print_json(&value);
        }
        outln!("Q: {}\n\n{}\n", answer.question, answer.answer)?;
        outln!(
            "{} · {} · commit {} · {} ms",
            answer.mode,
            answer.model.as_deref().unwrap_or("-"),
            &answer.commit[..answer.commit.len().min(12)],
            answer.latency_ms
        )?;
        for f in &feedback {
            outln!("{}", feedback_line(f))?;
        }
        outln!("retrieval log ({} candidates):", candidates.len())?;
        for c in candidates {
            outln!(
                "  {}{} {:<10} #{:<2} {}:{}-{} {}",
                if c.packed { "packed" } else { "      " },
                if c.cited { " cited" } else { "      " },
                c.source,
                c.rank,
                c.path,
                c.start_line,
                c.end_line,
                c.symbol.unwrap_or_default()
            )?;
        }
        return Ok(success());
    }
    let recent = history.recent(args.limit)?;
    let feedback = recent
        .iter()
        .map(|a| history.feedback(a.id))
        .collect::<lore_core::Result<Vec<_>>>()?;
    if args.json.json {
        let list: Vec<serde_json::Value> = recent
            .iter()
            .zip(&feedback)
            .map(|(a, f)| {
                let mut value = serde_json::to_value(a)?;
                value["feedback"] = serde_json::to_value(f)?;
                Ok(value)
            })
            .collect::<serde_json::Result<_>>()?;
        return crate::render::print_json(&list);
    }
    if recent.is_empty() {
        outln!("No questions asked in this repository yet: `lore ask \"...\"`.")?;
        return Ok(success());
    }
    for (a, feedback) in recent.iter().zip(&feedback) {
        let first = a.answer.lines().next().unwrap_or_default();
        let first: String = first.chars().take(100).collect();
        outln!(
            "{:>5}  {}  {}  [{}]",
            a.id,
            crate::render::ago(Some(a.time)),
            a.question,
            a.mode
        )?;
        outln!("       {first}")?;
        for f in feedback {
            outln!("       {}", feedback_line(f))?;
        }
    }
    Ok(success())
}

/// `lore feedback ANSWER_ID [up|down] [--note TEXT] [--correct PATH:A-B]...`.
pub fn feedback(index: RepoIndex, args: &crate::cli::FeedbackArgs) -> Result<ExitCode> {
    use lore_ask::feedback::{Given, Place};
    use lore_learn::reward::Signal;
    let correct = args
        .correct
        .iter()
        .map(|c| Place::parse(c))
        .collect::<lore_index::Result<Vec<_>>>()?;
    for place in &correct {
        if index.file_hash(&place.path)?.is_none() {
            bail!("--correct {}: not an indexed file", place.path);
        }
    }
    let signal = match args.verdict.as_deref() {
        Some("up") => Signal::Up,
        Some("down") => Signal::Down,
        _ if !correct.is_empty() => Signal::Correct,
        _ if args.note.is_some() => Signal::Note,
        _ => bail!("say up or down, give a --note, or --correct PATH:A-B"),
    };
    let given = Given {
        answer: args.answer,
        signal,
        note: args.note.clone(),
        correct,
        user: lore_ask::feedback::local_user(),
    };
    let recorded = lore_ask::feedback::give(index.data_dir(), &given)?;
    if args.json.json {
        return crate::render::print_json(&recorded);
    }
    outln!(
        "recorded on answer {}: reward {:+.2} from {} {}",
        args.answer,
        recorded.reward.value,
        recorded.reward.people,
        if recorded.reward.people == 1 {
            "person"
        } else {
            "people"
        }
    )?;
    Ok(success())
}

/// One piece of feedback as a line: `feedback: helpful · "note"`.
fn feedback_line(f: &lore_core::history::FeedbackRecord) -> String {
    let mut parts = vec![match f.signal.as_str() {
        "up" => "helpful".to_owned(),
        "down" => "not helpful".to_owned(),
        other => other.to_owned(),
    }];
    if !f.user.is_empty() {
        parts.push(f.user.clone());
    }
    if let Some(note) = &f.note {
        parts.push(format!("{note:?}"));
    }
    let places: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&f.correct_citations)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            format!(
                "{}:{}-{}",
                c["path"].as_str().unwrap_or("?"),
                c["start_line"],
                c["end_line"]
            )
        })
        .collect();
    if !places.is_empty() {
        parts.push(format!("should cite {}", places.join(", ")));
    }
    parts.push(crate::render::ago(Some(f.time)));
    format!("feedback: {}", parts.join(" · "))
}

/// `lore config`.
pub fn config(home: &Home, args: &ConfigArgs) -> Result<ExitCode> {
    let path = Config::path(home.path());
    let mut config = Config::load(&path)?;
    match (args.action.as_deref(), &args.key, &args.value) {
        (None, None, None) => {
            out!("{}", toml_text(&config)?)?;
            eprintln!("# {}", path.display());
        }
        (Some("get"), Some(key), None) => outln!("{}", config.get(key)?)?,
        (Some("set"), Some(key), Some(value)) => {
            config.set(key, value)?;
            config.save(&path)?;
            eprintln!("{key} = {} ({})", config.get(key)?, path.display());
        }
        (Some(action), _, _) if !matches!(action, "get" | "set") => {
            bail!(
                "unknown action `{action}`: use `lore config`, `lore config get KEY` or `lore config set KEY VALUE`"
            )
        }
        _ => bail!("usage: `lore config`, `lore config get KEY` or `lore config set KEY VALUE`"),
    }
    Ok(success())
}

fn toml_text(config: &Config) -> Result<String> {
    let mut out = String::new();
    for key in [
        "provider.kind",
        "provider.base_url",
        "provider.model",
        "provider.small_model",
        "provider.large_model",
        "provider.api_key_env",
        "provider.timeout_secs",
        "provider.retries",
        "context.version",
        "context.chunks",
        "context.graph_hops",
        "context.symbol_cards",
        "context.budget_tokens",
        "context.answer_tokens",
        "context.temperature",
        "privacy.no_remote",
        "privacy.redact_local",
    ] {
        out.push_str(&format!("{key} = {}\n", config.get(key)?));
    }
    Ok(out)
}

/// `lore providers check`.
pub fn providers_check(home: &Home, args: &JsonArg) -> Result<ExitCode> {
    let config = load_config(home.path())?;
    let Some(base) = config.provider(&env)? else {
        if args.json {
            return crate::render::print_json(&json!({"provider": null}));
        }
        outln!(
            "No provider is configured: answers are extractive. Set one with\n  lore config set provider.kind ollama   (or openai)\n  lore config set provider.model NAME"
        )?;
        return Ok(success());
    };
    let mut models = vec![base.model.clone()];
    for m in [&config.provider.small_model, &config.provider.large_model] {
        if !m.is_empty() && !models.contains(m) {
            models.push(m.clone());
        }
    }
    let health = provider::open(base.clone()).health();
    let available: Vec<(String, bool)> = models
        .iter()
        .map(|m| {
            (
                m.clone(),
                health
                    .models
                    .iter()
                    .any(|h| h == m || h.starts_with(&format!("{m}:"))),
            )
        })
        .collect();
    if args.json {
        return crate::render::print_json(&json!({
            "provider": base.kind.name(),
            "url": health.url,
            "remote": !base.is_loopback(),
            "reachable": health.reachable,
            "latency_ms": health.latency_ms,
            "error": health.error,
            "models": available.iter().map(|(m, ok)| json!({"model": m, "available": ok})).collect::<Vec<_>>(),
            "served_models": health.models,
        }));
    }
    outln!(
        "{} at {} ({})",
        base.kind.name(),
        health.url,
        if base.is_loopback() {
            "this machine"
        } else {
            "remote: secrets are redacted before sending"
        }
    )?;
    if health.reachable {
        outln!(
            "  reachable in {} ms, {} model(s) served",
            health.latency_ms,
            health.models.len()
        )?;
        for (m, ok) in &available {
            outln!(
                "  {m}: {}",
                if *ok {
                    "available"
                } else {
                    "NOT served by this provider"
                }
            )?;
        }
    } else {
        outln!(
            "  unreachable: {}",
            health.error.as_deref().unwrap_or("no answer")
        )?;
        outln!("  answers fall back to the evidence alone (extractive) until it is back")?;
    }
    Ok(if health.reachable {
        success()
    } else {
        ExitCode::from(1)
    })
}

/// `lore eval FILE --ask`.
pub fn eval(
    home: &Home,
    index: RepoIndex,
    file: &std::path::Path,
    no_llm: bool,
    as_json: bool,
) -> Result<ExitCode> {
    let config = load_config(home.path())?;
    let queries = lore_index::load_queries(file)?;
    let provider = if no_llm {
        None
    } else {
        config.provider(&env)?.map(|mut p| {
            // Measured as `lore ask` answers: wearing the adapter in force.
            if p.kind == provider::ProviderKind::Local {
                p.adapter = lore_ask::local::adapter_for(index.data_dir(), None);
            }
            provider::open(p)
        })
    };
    let options = AskOptions {
        policy: config.context.clone(),
        no_remote: config.privacy.no_remote,
        redact_local: config.privacy.redact_local,
        cards: Some((home.thinker_db(), home.repo_id(index.root()))),
    };
    let report = lore_ask::eval::evaluate_answers(&index, &queries, provider.as_deref(), &options)?;
    if as_json {
        return crate::render::print_json(&report);
    }
    let mut out = std::io::stdout().lock();
    for r in &report.results {
        writeln!(
            out,
            "{:>4} {:>7.1} ms  {}",
            r.hit.map_or("miss".to_owned(), |h| format!("@{h}")),
            r.latency_ms,
            r.question
        )?;
        if r.hit.is_none() {
            writeln!(out, "                   cited: {}", r.cited.join(", "))?;
        }
    }
    writeln!(
        out,
        "\n{} questions ({} answered by a model): acceptable location in the first {} citations {:.1}%, citation precision {:.1}%, latency p50 {:.1} ms, p95 {:.1} ms",
        report.questions,
        report.llm_answers,
        lore_ask::eval::FIRST_CITATIONS,
        report.hit_at_3 * 100.0,
        report.citation_precision * 100.0,
        report.p50_ms,
        report.p95_ms
    )?;
    Ok(success())
}
