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
    if let Some(ab) = &p.ab {
        writeln!(
            out,
            "A/B: v{} against it in the server's searches (`lore report`)",
            ab.challenger
        )?;
    }
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
        PolicyCommand::Ab {
            version,
            stop,
            json,
        } => {
            let p = match (version, stop) {
                (Some(v), _) => Policies::start_ab(&data_dir, v)?,
                (None, true) => Policies::stop_ab(&data_dir)?,
                (None, false) => Policies::load(&data_dir)?,
            };
            if json.json {
                return print_json(&p);
            }
            listing(&p)
        }
    }
}

/// `lore report`.
pub(crate) fn report(
    home: &Home,
    args: &crate::cli::ReportArgs,
    g: &GlobalArgs,
) -> Result<ExitCode> {
    let since = lore_index::report::parse_since(&args.since)?;
    let index = open(home, g)?;
    let root = index.root().to_owned();
    drop(index);
    let r = lore_index::report::report(home, &root, since)?;
    if args.json.json {
        return print_json(&r);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "since {}", r["since"].as_str().unwrap_or(""))?;
    let rp = &r["retrieval_policy"];
    writeln!(
        out,
        "retrieval policy in force: {}",
        match rp["repository"].as_u64() {
            Some(v) => format!("repository v{v} (refits global v{})", rp["version"]),
            None => format!("global v{}", rp["version"]),
        }
    )?;
    let quality = r["quality"].as_array().cloned().unwrap_or_default();
    if quality.is_empty() {
        writeln!(
            out,
            "quality: not measured in this period (the nightly `report` thought measures it)"
        )?;
    }
    for q in &quality {
        writeln!(
            out,
            "quality {}  span R@10 {:.3}  MRR@10 {:.3}  ({} doc queries, commit {})",
            q["time"].as_str().unwrap_or("").get(..16).unwrap_or(""),
            q["span_r10"].as_f64().unwrap_or(0.0),
            q["span_mrr10"].as_f64().unwrap_or(0.0),
            q["queries"],
            q["commit"].as_str().unwrap_or("").get(..8).unwrap_or(""),
        )?;
    }
    let f = &r["feedback"];
    writeln!(
        out,
        "feedback: {} answers, {} with feedback{}{}",
        f["answers"],
        f["judged"],
        f["rate"]
            .as_f64()
            .map(|x| format!(" ({:.0}%)", x * 100.0))
            .unwrap_or_default(),
        f["mean_reward"]
            .as_f64()
            .map(|x| format!(", mean reward {x:+.2}"))
            .unwrap_or_default(),
    )?;
    if let Some(signals) = f["signals"].as_object().filter(|s| !s.is_empty()) {
        let parts: Vec<String> = signals.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "  signals: {}", parts.join(", "))?;
    }
    for p in r["policies"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "{}policy v{}  {}  held-out R@10 {} → {}  {}",
            if p["in_force"] == true { "* " } else { "  " },
            p["version"],
            p["created_at"]
                .as_str()
                .unwrap_or("")
                .get(..10)
                .unwrap_or(""),
            p["held_out"]["current"]["recall10"],
            p["held_out"]["candidate"]["recall10"],
            if p["passed_gate"] == true {
                "passed the gate"
            } else {
                "refused by the gate"
            },
        )?;
    }
    if let Some(ab) = r["ab"]["running"].as_object() {
        writeln!(
            out,
            "A/B running: challenger v{} since {}",
            ab["challenger"],
            ab["started_at"].as_str().unwrap_or("")
        )?;
    }
    for o in r["ab"]["outcomes"].as_array().into_iter().flatten() {
        let a = o["a"]
            .as_u64()
            .map_or("global".to_owned(), |v| format!("v{v}"));
        writeln!(
            out,
            "A/B {a} vs v{}: {} lists shown, {} won by {a}, {} by v{}, {} ties",
            o["b"], o["impressions"], o["wins_a"], o["wins_b"], o["b"], o["ties"]
        )?;
    }
    for k in r["attention"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "thought {}: {} insights read, {} dismissed (posterior {})",
            k["kind"], k["read"], k["dismissed"], k["mean"]
        )?;
    }
    Ok(success())
}
