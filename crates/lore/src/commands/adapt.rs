//! `lore adapt`: the repository's own LoRA adapter over the local model.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};
use lore_core::jobs::{JobStore, NewJob};
use lore_index::Home;
use lore_index::adapt::{AdapterVersion, Adapters};
use lore_index::worker::kinds;

use crate::cli::{AdaptArgs, AdaptCommand, CompleteArgs, GlobalArgs};
use crate::render::print_json;
use crate::success;

use super::open;

/// `cpu=30m` → seconds.
fn budget_secs(text: &str) -> Result<u64> {
    let value = text.strip_prefix("cpu=").unwrap_or(text).trim();
    let (number, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("--budget {text:?}: expected cpu=DURATION, like cpu=30m"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => bail!("--budget {text:?}: the unit is s, m or h"),
    };
    if secs == 0 {
        bail!("--budget {text:?}: a training run needs some time");
    }
    Ok(secs)
}

/// The local base model's file, from the provider settings.
fn base_model(home: &Home) -> Result<std::path::PathBuf> {
    let config = lore_ask::asker::load_config(home.path())?;
    match config.provider(&lore_ask::asker::env)? {
        Some(p) if p.kind == lore_ask::provider::ProviderKind::Local => Ok(p.model.into()),
        _ => bail!(
            "lore adapt trains over a local base model: `lore config set provider.kind local` \
             and `lore config set provider.model /path/to/model.gguf` (a llama- or qwen2-family GGUF)"
        ),
    }
}

fn line(v: &AdapterVersion, current: Option<u32>) -> String {
    let h = &v.held_out;
    format!(
        "{}v{}  {}  held-out perplexity {:.3} (base {:.3}), next-line exact match {:.3} (base {:.3}), rank {} — {}{}",
        if current == Some(v.version) {
            "* "
        } else {
            "  "
        },
        v.version,
        lore_core::time::rfc3339(v.created_at)
            .get(..10)
            .unwrap_or(""),
        h.adapter_perplexity,
        h.base_perplexity,
        h.adapter_exact_match,
        h.base_exact_match,
        v.config.rank,
        if v.passed { "passed" } else { "refused" },
        if v.stale { " (stale: retrain)" } else { "" },
    )
}

fn listing(a: &Adapters) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if a.versions.is_empty() {
        writeln!(out, "no adapter trained yet: `lore adapt --wait`")?;
    }
    for v in &a.versions {
        writeln!(out, "{}", line(v, a.current))?;
    }
    writeln!(
        out,
        "in force: {}",
        match a.current {
            Some(v) => format!("adapter v{v}"),
            None => "the base model alone".to_owned(),
        }
    )?;
    Ok(success())
}

pub(crate) fn run(home: &Home, args: AdaptArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let data_dir = index.data_dir().to_owned();
    match args.command {
        Some(AdaptCommand::List(json)) => {
            let a = Adapters::load(&data_dir)?;
            if json.json {
                return print_json(&a);
            }
            listing(&a)
        }
        Some(AdaptCommand::Status(json)) => {
            let a = Adapters::load(&data_dir)?;
            let current = a
                .current
                .and_then(|c| a.versions.iter().find(|v| v.version == c));
            if json.json {
                return print_json(&serde_json::json!({
                    "in_force": current.map(|v| v.version),
                    "base_model": current.map(|v| v.base_model.clone()),
                    "base_hash": current.map(|v| v.base_hash.clone()),
                    "versions": a.versions.len(),
                    "stale": current.is_some_and(|v| v.stale),
                }));
            }
            let mut out = std::io::stdout().lock();
            match current {
                Some(v) => writeln!(out, "{}\nbase: {}", line(v, a.current), v.base_model)?,
                None => writeln!(out, "no adapter in force: the base model answers alone")?,
            }
            Ok(success())
        }
        Some(AdaptCommand::Promote { version, json }) => {
            let a = Adapters::promote(&data_dir, version)?;
            if json.json {
                return print_json(&a);
            }
            listing(&a)
        }
        Some(AdaptCommand::Rollback { version, json }) => {
            let a = Adapters::rollback(&data_dir, version)?;
            if json.json {
                return print_json(&a);
            }
            listing(&a)
        }
        Some(AdaptCommand::Eval { version, json }) => {
            let base = base_model(home)?;
            let h = lore_index::adapt::evaluate(
                &index,
                &base,
                version,
                &lore_index::adapt::AdaptOptions::default(),
            )?;
            let (passed, verdict) = lore_index::adapt::gate(&h, 0.02);
            if json.json {
                return print_json(&serde_json::json!({
                    "version": version, "held_out": h, "passes": passed, "verdict": verdict,
                }));
            }
            writeln!(std::io::stdout().lock(), "v{version}: {verdict}")?;
            Ok(success())
        }
        Some(AdaptCommand::Export {
            ollama,
            version,
            json,
        }) => {
            let a = Adapters::load(&data_dir)?;
            let version = version.or(a.current).ok_or_else(|| {
                anyhow::anyhow!("no adapter in force: name a version (`lore adapt list`)")
            })?;
            let v = a.get(version)?;
            let base = std::path::Path::new(&v.base_model);
            let arch = lore_llm::Gguf::open(base)?.hyper.arch.name();
            let adapter = lore_llm::lora::Adapter::load(&Adapters::dir(&data_dir, version))?;
            std::fs::create_dir_all(&ollama)
                .map_err(|e| anyhow::anyhow!("{}: {e}", ollama.display()))?;
            let file = ollama.join("adapter.gguf");
            adapter.export_gguf(arch, &file)?;
            let modelfile = ollama.join("Modelfile");
            std::fs::write(
                &modelfile,
                format!("FROM {}\nADAPTER ./adapter.gguf\n", base.display()),
            )
            .map_err(|e| anyhow::anyhow!("{}: {e}", modelfile.display()))?;
            if json.json {
                return print_json(&serde_json::json!({
                    "version": version, "adapter": file, "modelfile": modelfile,
                }));
            }
            writeln!(
                std::io::stdout().lock(),
                "wrote {} and {} (`ollama create NAME -f {}`)",
                file.display(),
                modelfile.display(),
                modelfile.display()
            )?;
            Ok(success())
        }
        None => {
            let language = match &args.language {
                Some(name) => Some(
                    lore_core::Language::from_name(name)
                        .filter(|l| l.is_parsed())
                        .ok_or_else(|| {
                            anyhow::anyhow!(
                                "--language {name:?}: not a language Lore parses (python, rust, go, javascript, typescript, java, …)"
                            )
                        })?
                        .name(),
                ),
                None => None,
            };
            let base = base_model(home)?;
            let repo = home.repo_id(index.root());
            let input = serde_json::json!({
                "base": base,
                "steps": args.steps.max(1),
                "rank": args.rank,
                "budget_secs": budget_secs(&args.budget)?,
                "checkpoint_every": args.checkpoint_every,
                "incremental": args.consolidate,
                "language": language,
            })
            .to_string();
            let job = NewJob::new(kinds::ADAPT, &repo, &input);
            drop(index);
            if !args.wait {
                let mut queue = lore_store::SqliteJobs::open(&home.thinker_db())?;
                let queued = queue.enqueue(
                    &NewJob {
                        explicit: true,
                        ..job
                    },
                    lore_core::time::now_ms(),
                )?;
                if args.json.json {
                    return print_json(&serde_json::json!({
                        "run_id": queued.id,
                        "state": "queued",
                    }));
                }
                writeln!(
                    std::io::stdout().lock(),
                    "queued run {} (`lore runs show {}`; a worker trains it)",
                    queued.id,
                    queued.id
                )?;
                return Ok(success());
            }
            let (_, trained) = super::findings::run_explicit(home, job)?;
            if args.json.json {
                return print_json(&trained);
            }
            let mut out = std::io::stdout().lock();
            if let Some(why) = trained["skipped"].as_str() {
                writeln!(out, "not retrained: {why}")?;
                return Ok(success());
            }
            writeln!(
                out,
                "adapter v{}: {}\n{}",
                trained["version"],
                trained["verdict"].as_str().unwrap_or(""),
                if trained["promoted"] == true {
                    "in force: `lore ask` with the local model uses it now"
                } else {
                    "not promoted: the adapter (or base) in force stays"
                }
            )?;
            Ok(success())
        }
    }
}

/// `lore complete FILE:LINE`.
pub(crate) fn complete(home: &Home, args: CompleteArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let (file, line) = args
        .at
        .rsplit_once(':')
        .and_then(|(f, l)| Some((f, l.parse::<usize>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("{:?}: expected FILE:LINE, like src/app.py:42", args.at))?;
    let path = if std::path::Path::new(file).is_absolute() {
        std::path::PathBuf::from(file)
    } else {
        std::env::current_dir()?.join(file)
    };
    let text =
        std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    if line == 0 || line > lines.len() + 1 {
        bail!(
            "{}: line {line} is outside the file ({} lines)",
            path.display(),
            lines.len()
        );
    }
    // The 60 lines before, ending without the line break: the model
    // writes the break with the next line's indentation.
    let prompt = lines[line.saturating_sub(61)..line - 1].join("\n");
    let mut config =
        match lore_ask::asker::load_config(home.path())?.provider(&lore_ask::asker::env)? {
            Some(p) if p.kind == lore_ask::provider::ProviderKind::Local => p,
            _ => bail!(
                "lore complete runs the local model: `lore config set provider.kind local` \
             and `lore config set provider.model /path/to/model.gguf`"
            ),
        };
    // The adapter for the file's language, if one is in force; else the
    // repository's.
    let language = lore_core::Language::from_path(std::path::Path::new(&path));
    config.adapter = lore_ask::local::adapter_for(index.data_dir(), Some(language.name()));
    let done = lore_ask::local::complete(&config, &prompt, args.lines)?;
    if args.json.json {
        return print_json(&serde_json::json!({
            "path": file,
            "line": line,
            "completion": done.text,
            "model": done.model,
            "adapter": done.adapter,
            "notice": done.notice,
            "tokens": done.tokens,
            "ms": done.ms,
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", done.text)?;
    if let Some(notice) = &done.notice {
        eprintln!("lore: {notice}");
    }
    Ok(success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_read_as_seconds() {
        assert_eq!(budget_secs("cpu=30m").unwrap(), 1800);
        assert_eq!(budget_secs("cpu=90s").unwrap(), 90);
        assert_eq!(budget_secs("2h").unwrap(), 7200);
        assert!(
            budget_secs("cpu=30d")
                .unwrap_err()
                .to_string()
                .contains("cpu=30d")
        );
        assert!(budget_secs("cpu=lots").is_err());
        assert!(budget_secs("cpu=0m").is_err());
    }
}
