//! `lore policy`: the repository's own retrieval policies.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use lore_core::jobs::{JobStore, NewJob};
use lore_index::Home;
use lore_index::policy::{Policies, Version};
use lore_index::worker::kinds;

use crate::cli::{GlobalArgs, PolicyCommand};
use crate::render::print_json;

use super::open;
use crate::success;

fn line(v: &Version, current: Option<u32>) -> String {
    let h = &v.verdict;
    format!(
        "{}v{}  {}  held-out R@10 {:.3} (was {:.3}), MRR@10 {:.3} (was {:.3}) on {} queries — {}",
        if current == Some(v.version) {
            "* "
        } else {
            "  "
        },
        v.version,
        lore_core::time::rfc3339(v.created_at)
            .get(..10)
            .unwrap_or(""),
        h.candidate.recall10,
        h.current.recall10,
        h.candidate.mrr10,
        h.current.mrr10,
        h.candidate.queries,
        if h.promote { "promoted" } else { "refused" },
    )
}

fn listing(p: &Policies) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if p.versions.is_empty() {
        writeln!(out, "no retrieval policy trained yet: `lore policy train`")?;
    }
    for v in &p.versions {
        writeln!(out, "{}", line(v, p.current))?;
    }
    writeln!(
        out,
        "in force: {}",
        match p.current {
            Some(v) => format!("repository policy v{v}"),
            None => "the global policy".to_owned(),
        }
    )?;
    Ok(success())
}

/// `lore policy ...`.
pub(crate) fn run(home: &Home, command: PolicyCommand, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let data_dir = index.data_dir().to_owned();
    let root = index.root().to_owned();
    drop(index);
    match command {
        PolicyCommand::List(json) => {
            let p = Policies::load(&data_dir)?;
            if json.json {
                return print_json(&p);
            }
            listing(&p)
        }
        PolicyCommand::Show { version, json } => {
            let p = Policies::load(&data_dir)?;
            let Some(v) = p.versions.iter().find(|v| v.version == version) else {
                anyhow::bail!("no retrieval policy version {version} (`lore policy list`)");
            };
            if json.json {
                return print_json(v);
            }
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", line(v, p.current))?;
            writeln!(out, "{}", v.verdict.reason)?;
            for (feature, weight) in &v.weights {
                writeln!(out, "  {feature:<12} {weight}")?;
            }
            Ok(success())
        }
        PolicyCommand::Train {
            queries,
            margin,
            wait,
            json,
        } => {
            let repo = home.repo_id(&root);
            let input = serde_json::json!({ "queries": queries, "margin": margin }).to_string();
            let job = NewJob::new(kinds::TRAIN_POLICY, &repo, &input);
            if !wait {
                let mut queue = lore_store::SqliteJobs::open(&home.thinker_db())?;
                let queued = queue.enqueue(
                    &NewJob {
                        explicit: true,
                        ..job
                    },
                    lore_core::time::now_ms(),
                )?;
                if json.json {
                    return print_json(&serde_json::json!({
                        "run_id": queued.id,
                        "state": "queued",
                        "deduplicated": queued.deduplicated,
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
            if json.json {
                return print_json(&trained);
            }
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "trained v{} on {} queries ({} held out): {}",
                trained["version"],
                trained["queries"][0],
                trained["queries"][1],
                trained["record"]["verdict"]["reason"]
                    .as_str()
                    .unwrap_or("")
            )?;
            writeln!(
                out,
                "{}",
                if trained["promoted"] == true {
                    "promoted: search ranks with it now"
                } else {
                    "not promoted: the policy in force stays"
                }
            )?;
            Ok(success())
        }
        PolicyCommand::Promote { version, json } => {
            let p = Policies::promote(&data_dir, version)?;
            if json.json {
                return print_json(&p);
            }
            listing(&p)
        }
        PolicyCommand::Rollback { version, json } => {
            let p = Policies::rollback(&data_dir, version)?;
            if json.json {
                return print_json(&p);
            }
            listing(&p)
        }
    }
}
