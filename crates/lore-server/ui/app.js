// Lore's web UI: renders from the JSON API (see /openapi.json). Routes:
//   #/                    repositories, index runs with live progress
//   #/repo/ID             chat with sources panel and code viewer
//   #/repo/ID/search      search with filters
//   #/repo/ID/runs        background runs: logs, metrics, rerun, cancel
//   #/repo/ID/insights    what the thoughts found, with evidence
//   #/repo/ID/risk        risk heatmap: files by lines, coloured by risk
//   #/repo/ID/settings    learning policy: budgets, quiet hours, cadence, kinds
//   #/repo/ID/learning    retrieval policies, their evaluations, A/B, rollback
//   #/repo/ID/card/NAME   a function's card
//   #/repo/ID/diagnose    a symptom in, ranked places to look with evidence
//   #/repo/ID/impact/T    what else may change if T (symbol, path, range) does

const main = document.getElementById("main");
const nav = document.getElementById("nav");

// ---- API ---------------------------------------------------------------

function token() { return localStorage.getItem("lore.token") || ""; }
// This page's CSRF token: the server refuses a browser's state-changing
// request without it.
const csrf = (document.querySelector('meta[name="lore-csrf"]') || {}).content || "";

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token()) headers["Authorization"] = "Bearer " + token();
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const method = options.method || (options.body !== undefined ? "POST" : "GET");
  if (method !== "GET") headers["X-Lore-Csrf"] = csrf;
  const response = await fetch(path, {
    method,
    headers,
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  if (response.status === 401) {
    const given = prompt("This server needs its bearer token (LORE_HOME/server.token):");
    if (given) { localStorage.setItem("lore.token", given.trim()); return api(path, options); }
  }
  const text = await response.text();
  let data;
  try { data = JSON.parse(text); } catch { data = text; }
  if (!response.ok) throw new Error((data && data.error) || response.statusText);
  return data;
}

// ---- helpers -----------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function ago(seconds) {
  if (!seconds) return "never";
  const d = Math.max(0, Date.now() / 1000 - seconds);
  if (d < 60) return `${Math.round(d)}s ago`;
  if (d < 3600) return `${Math.round(d / 60)}m ago`;
  if (d < 86400) return `${Math.round(d / 3600)}h ago`;
  return `${Math.round(d / 86400)}d ago`;
}

const short = (c) => (c ? c.slice(0, 7) : "no commit");
const fmt = (n) => Number(n).toLocaleString("en-US");

function statusText(repo) {
  if (!repo.indexed) return "not indexed";
  return `indexed ${ago(repo.indexed_at)} at ${short(repo.commit)} · ${fmt(repo.files)} files · ${repo.search}`;
}

function errorBox(err) { return el("p", { class: "error" }, String(err.message || err)); }

function setNav(id, active) {
  // replaceChildren would print a null as the text "null".
  nav.replaceChildren(...[
    el("a", { href: "#/", class: active === "repos" ? "active" : "" }, "Repos"),
    id && el("a", { href: `#/repo/${id}`, class: active === "chat" ? "active" : "" }, "Chat"),
    id && el("a", { href: `#/repo/${id}/search`, class: active === "search" ? "active" : "" }, "Search"),
    id && el("a", { href: `#/repo/${id}/runs`, class: active === "runs" ? "active" : "" }, "Runs"),
    id && el("a", { href: `#/repo/${id}/insights`, class: active === "insights" ? "active" : "" }, "Insights"),
    id && el("a", { href: `#/repo/${id}/risk`, class: active === "risk" ? "active" : "" }, "Risk"),
    id && el("a", { href: `#/repo/${id}/diagnose`, class: active === "diagnose" ? "active" : "" }, "Diagnose"),
    id && el("a", { href: `#/repo/${id}/impact`, class: active === "impact" ? "active" : "" }, "Impact"),
    id && el("a", { href: `#/repo/${id}/learning`, class: active === "learning" ? "active" : "" }, "Learning"),
    id && el("a", { href: `#/repo/${id}/settings`, class: active === "settings" ? "active" : "" }, "Settings"),
  ].filter(Boolean));
}

// ---- learning ----------------------------------------------------------

// The learning toggle and the thinker's status line ("indexed 2m ago · 1
// thought running · 3 queued"), refreshed every few seconds while shown.
function learningBar(id) {
  const toggle = el("input", { type: "checkbox", id: "learning-toggle" });
  const line = el("span", { id: "thinker-status", class: "muted" }, "…");
  const bar = el("div", { class: "learning-bar" },
    el("label", {}, toggle, " keep learning"), line);
  const show = (status) => {
    toggle.checked = status.on;
    line.textContent = status.status_line;
  };
  const load = async () => {
    try { show(await api(`/learning/status?repo_id=${id}`)); }
    catch (err) { line.textContent = err.message; }
  };
  toggle.addEventListener("change", async () => {
    try { show(await api("/learning/toggle", { body: { repo_id: id, on: toggle.checked } })); }
    catch (err) { line.textContent = err.message; toggle.checked = !toggle.checked; }
  });
  load();
  const timer = setInterval(() => { if (!bar.isConnected) clearInterval(timer); else load(); }, 3000);
  return bar;
}

const when = (t) => (t ? t.replace("T", " ").replace("Z", "") : "—");

async function showRuns(id) {
  setNav(id, "runs");
  const table = el("table", { id: "runs" });
  const detail = el("section", { class: "panel", id: "run-detail", hidden: true });
  const load = async () => {
    let runs;
    try { runs = await api(`/runs?repo_id=${id}&limit=100`); } catch (err) { table.replaceChildren(el("tr", {}, el("td", {}, errorBox(err)))); return; }
    const act = (run, what) => el("button", {
      class: `run-${what}`,
      onclick: async () => {
        try { await api(`/runs/${run.id}/${what}`, { method: "POST", body: {} }); } catch (err) { alert(err.message); }
        load();
      },
    }, what === "rerun" ? "Rerun" : "Cancel");
    const finished = (r) => ["succeeded", "cancelled", "dead"].includes(r.state);
    table.replaceChildren(
      el("tr", {}, ...["Run", "Kind", "State", "Attempts", "CPU", "Started", "Finished", ""].map((h) => el("th", {}, h))),
      ...runs.map((r) => el("tr", { class: `run state-${r.state}`, "data-run": r.id },
        el("td", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); showRun(r); } }, `#${r.id}`)),
        el("td", {}, r.kind),
        el("td", {}, el("span", { class: `state ${r.state}` }, r.state), r.reason ? el("div", { class: "meta" }, r.reason) : ""),
        el("td", {}, `${r.attempts}/${r.max_attempts}`),
        el("td", {}, `${(r.cpu_ms / 1000).toFixed(2)} s`),
        el("td", {}, when(r.started_at)),
        el("td", {}, when(r.finished_at)),
        el("td", {}, finished(r) ? act(r, "rerun") : act(r, "cancel")))));
    if (!runs.length) table.append(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No runs yet: turn learning on.")));
  };
  const showRun = async (brief) => {
    detail.hidden = false;
    let r = brief;
    try { r = await api(`/runs/${brief.id}`); } catch (err) { detail.replaceChildren(errorBox(err)); return; }
    const artifact = el("pre", { class: "snippet", id: "artifact-view", hidden: true });
    detail.replaceChildren(el("h3", {}, `Run #${r.id} · ${r.kind} · ${r.state}`),
      el("p", { class: "meta" }, `worker ${r.worker || "—"} · ${r.attempts} attempts · CPU ${r.cpu_ms} ms · tokens ${r.tokens} · queued ${when(r.created_at)}`),
      r.reason ? el("p", {}, "Reason: ", r.reason) : "",
      r.kind === "verify" && r.output ? verifySummary(r.output) : "",
      el("h4", {}, "Log"), el("pre", { class: "snippet", id: "run-log" }, (r.log || []).join("\n") || "—"),
      (r.artifacts || []).length ? el("div", {}, el("h4", {}, "Artifacts"), el("ul", {}, ...r.artifacts.map((a) => el("li", {},
        el("a", { href: "#", class: "artifact-link", onclick: async (e) => {
          e.preventDefault();
          try { artifact.textContent = await api(`/runs/${r.id}/artifacts/${encodeURIComponent(a.name)}`); } catch (err) { artifact.textContent = err.message; }
          artifact.hidden = false;
        } }, a.name), el("span", { class: "muted" }, ` ${fmt(a.bytes)} bytes · sha256 ${a.sha256.slice(0, 12)}…`)))), artifact) : "",
      el("h4", {}, "Input"), el("pre", { class: "snippet" }, JSON.stringify(r.input, null, 2)),
      el("h4", {}, "Output"), el("pre", { class: "snippet", id: "run-output" }, JSON.stringify(r.output, null, 2)));
  };
  main.replaceChildren(el("h2", {}, "Runs"), learningBar(id), el("section", { class: "panel" }, table), detail);
  load();
  // Runs move on by themselves: the table follows while it is shown.
  const timer = setInterval(() => { if (!table.isConnected) clearInterval(timer); else load(); }, 3000);
}

// A Verify run at a glance: outcome, tests, coverage and the least
// covered files.
function verifySummary(out) {
  const t = out.tests || {};
  const c = out.coverage;
  return el("div", { id: "verify-summary" },
    el("h4", {}, "Verify"),
    el("p", {}, el("span", { class: `state ${out.status === "passed" ? "succeeded" : "failed"}` }, out.status || "—"),
      out.tool ? ` · ${out.tool}` : "", out.seconds !== undefined ? ` · ${out.seconds} s` : "",
      out.tests ? ` · ${t.passed || 0} passed, ${t.failed || 0} failed, ${t.skipped || 0} skipped` : "",
      out.message ? ` · ${out.message}` : ""),
    c ? el("p", { id: "verify-coverage" }, `Coverage: ${(100 * c.ratio).toFixed(1)}% of ${fmt(c.lines)} runnable lines in ${fmt(c.files)} files`) : el("p", { class: "muted" }, "No coverage report."),
    c && (c.least_covered || []).length ? el("table", { class: "coverage" },
      el("tr", {}, el("th", {}, "Least covered"), el("th", {}, "Lines"), el("th", {}, "Covered")),
      ...c.least_covered.map((f) => el("tr", {}, el("td", {}, f.path), el("td", {}, fmt(f.lines)),
        el("td", {}, `${fmt(f.covered)} (${f.lines ? Math.round((100 * f.covered) / f.lines) : 100}%)`)))) : "");
}

function evidenceLinks(evidence, viewer, id) {
  return el("ul", { class: "evidence" }, ...(evidence || []).map((e) => el("li", {},
    el("a", { href: "#", class: "evidence-link", onclick: (ev) => { ev.preventDefault(); openCode(viewer, id, e.path, e.start_line, e.end_line, e.commit); } },
      `${e.path}:${e.start_line}${e.end_line !== e.start_line ? "-" + e.end_line : ""}`))));
}

async function showInsights(id) {
  setNav(id, "insights");
  const filter = el("select", { id: "insight-filter" }, ["new", "read", "dismissed", "suppressed", "all"].map((f) => el("option", { value: f }, f)));
  const feed = el("div", { id: "insights" });
  const viewer = el("div", { id: "viewer" }, el("p", { class: "muted" }, "Click evidence to see the code."));
  const load = async () => {
    let found;
    try { found = await api(`/insights?repo_id=${id}&filter=${filter.value}`); } catch (err) { feed.replaceChildren(errorBox(err)); return; }
    const mark = (i, status, label) => el("button", { class: `insight-${status}`, onclick: async () => {
      try { await api(`/insights/${i.id}`, { body: { status } }); } catch (err) { alert(err.message); }
      load();
    } }, label);
    feed.replaceChildren(...found.map((i) => el("div", { class: `insight sev-${i.severity}`, "data-insight": i.id },
      el("div", {}, el("span", { class: `sev ${i.severity}` }, i.severity), " ", el("span", { class: "muted" }, i.kind), " ", el("strong", {}, i.title)),
      el("div", { class: "insight-body" }, i.body),
      evidenceLinks(i.evidence, viewer, id),
      el("div", { class: "meta" }, `found ${when(i.updated_at)} · ${i.status} `,
        i.status !== "read" ? mark(i, "read", "Mark read") : "",
        i.status !== "dismissed" ? mark(i, "dismissed", "Dismiss") : ""))));
    if (!found.length) feed.append(el("p", { class: "muted" }, "Nothing here yet."));
  };
  filter.addEventListener("change", load);
  main.replaceChildren(el("h2", {}, "Insights"), learningBar(id),
    el("div", { class: "split" }, el("section", { class: "panel" }, el("label", {}, "Show ", filter), feed), el("section", { class: "panel" }, viewer)));
  load();
}

const KINDS = ["scan-diff", "map-repo", "summarize", "prioritize", "smell-hunt", "maintain-vectors", "verify", "lint"];
const RUNS_CODE = ["verify", "lint"];

async function showSettings(id) {
  setNav(id, "settings");
  let status;
  try { status = await api(`/learning/status?repo_id=${id}`); } catch (err) { main.replaceChildren(errorBox(err)); return; }
  const b = status.budgets || {};
  const cpu = el("input", { id: "budget-cpu", value: b.cpu ? b.cpu.limit : "", placeholder: "e.g. 20m/h" });
  const tokens = el("input", { id: "budget-tokens", value: b.tokens ? b.tokens.limit : "", placeholder: "e.g. 50k/day" });
  const quiet = el("input", { id: "quiet-hours", value: status.quiet_hours || "", placeholder: "e.g. 09:00-18:00" });
  const cadence = el("input", { id: "cadence", value: status.cadence || "", placeholder: "e.g. 0 3 * * *" });
  const boxes = KINDS.map((k) => el("label", { class: "kind" },
    el("input", { type: "checkbox", value: k, checked: status.allow.includes(k) }), " ", k,
    RUNS_CODE.includes(k) ? el("span", { class: "muted" }, " (runs the repository's code)") : ""));
  const note = el("p", { id: "settings-note", class: "muted" });
  const form = el("form", { class: "settings", onsubmit: async (e) => {
    e.preventDefault();
    const body = {
      repo_id: id, on: status.on,
      budgets: { cpu: cpu.value.trim() || null, tokens: tokens.value.trim() || null },
      quiet_hours: quiet.value.trim() || "none",
      cadence: cadence.value.trim() || "none",
      allow: boxes.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value),
    };
    try { status = await api("/learning/toggle", { body }); note.className = "muted"; note.textContent = "Saved: " + status.status_line; }
    catch (err) { note.className = "error"; note.textContent = err.message; }
  } },
    el("p", {}, el("label", {}, "CPU budget ", cpu), " ", el("label", {}, "LLM tokens ", tokens)),
    el("p", {}, el("label", {}, "Quiet hours ", quiet), " ", el("label", {}, "Cadence (cron) ", cadence)),
    el("fieldset", {}, el("legend", {}, "Thoughts allowed"), ...boxes),
    el("button", { class: "primary", type: "submit", id: "save-settings" }, "Save"), note);
  main.replaceChildren(el("h2", {}, "Settings"), learningBar(id), el("section", { class: "panel" }, form));
}

async function showLearning(id) {
  setNav(id, "learning");
  let r;
  try { r = await api(`/report?repo_id=${id}&since=30d`); } catch (err) { main.replaceChildren(errorBox(err)); return; }
  const note = el("p", { id: "learning-note", class: "muted" });
  const rp = r.retrieval_policy;
  const inForce = el("p", { id: "policy-in-force" }, "Retrieval policy in force: ",
    el("strong", {}, rp.repository ? `repository v${rp.repository} (refits global v${rp.version})` : `global v${rp.version}`));
  const metric = (m) => `${m.recall10.toFixed(3)} / ${m.mrr10.toFixed(3)}`;
  const rows = r.policies.map((p) => el("tr", { class: p.in_force ? "in-force" : "" },
    el("td", {}, `v${p.version}`, p.in_force ? " ✓" : ""),
    el("td", {}, p.created_at.slice(0, 16).replace("T", " ")),
    el("td", {}, Object.entries(p.sources || {}).map(([k, v]) => `${k} ${v}`).join(", ")),
    el("td", {}, metric(p.held_out.current)),
    el("td", {}, metric(p.held_out.candidate)),
    el("td", { title: p.reason }, p.passed_gate ? "passed" : "refused")));
  const rollback = el("button", { id: "rollback", disabled: !rp.repository, onclick: async () => {
    try {
      const after = await api("/policies/rollback", { body: { repo_id: id } });
      note.className = "muted";
      note.textContent = after.current ? `Rolled back: v${after.current} is in force.` : "Rolled back: the global policy is in force.";
      showLearning(id);
    } catch (err) { note.className = "error"; note.textContent = err.message; }
  } }, "Roll back");
  const versions = r.policies.length
    ? el("table", { id: "policy-versions" },
      el("tr", {}, ...["version", "trained", "mined queries", "held-out R@10 / MRR@10 before", "after", "gate"].map((h) => el("th", {}, h))),
      ...rows)
    : el("p", { class: "muted" }, "No retrieval policy trained yet: `lore policy train`, or the cadence's train-policy thought.");
  const ab = r.ab.running
    ? el("p", { id: "ab-running" }, `A/B running: v${r.ab.running.challenger} against the policy in force since ${r.ab.running.started_at.slice(0, 16)}.`)
    : el("p", { class: "muted" }, "No A/B comparison running (`lore policy ab V`).");
  const outcomes = r.ab.outcomes.map((o) => el("li", {},
    `${o.a ? "v" + o.a : "global"} vs v${o.b}: ${o.impressions} lists shown, ${o.wins_a} won by ${o.a ? "v" + o.a : "global"}, ${o.wins_b} by v${o.b}, ${o.ties} ties`));
  const quality = r.quality.length
    ? el("ul", { id: "quality" }, ...r.quality.map((q) => el("li", {},
      `${q.time.slice(0, 16).replace("T", " ")}: span R@10 ${q.span_r10.toFixed(3)}, MRR@10 ${q.span_mrr10.toFixed(3)} on ${q.queries} doc queries`)))
    : el("p", { class: "muted" }, "Quality is measured by the nightly report thought.");
  const f = r.feedback;
  const feedback = el("p", { id: "feedback-summary" },
    `${f.answers} answers, ${f.judged} with feedback` + (f.mean_reward !== null ? `, mean reward ${f.mean_reward.toFixed(2)}` : "") +
    (Object.keys(f.signals).length ? " — " + Object.entries(f.signals).map(([k, v]) => `${k} ${v}`).join(", ") : ""));
  const attention = r.attention.map((k) => el("li", {}, `${k.kind}: ${k.read} read, ${k.dismissed} dismissed (posterior ${k.mean})`));
  main.replaceChildren(el("h2", {}, "Learning"),
    el("section", { class: "panel" }, el("h3", {}, "Retrieval policies"), inForce, versions, el("p", {}, rollback), note),
    el("section", { class: "panel" }, el("h3", {}, "A/B"), ab, outcomes.length ? el("ul", { id: "ab-outcomes" }, ...outcomes) : ""),
    el("section", { class: "panel" }, el("h3", {}, "Quality over time"), quality),
    el("section", { class: "panel" }, el("h3", {}, "Feedback (30 days)"), feedback),
    el("section", { class: "panel" }, el("h3", {}, "Thoughts people read"),
      attention.length ? el("ul", { id: "attention" }, ...attention)
        : el("p", { class: "muted" }, "No insight read or dismissed yet: every kind of thought keeps its share.")));
}

async function showCard(id, symbol) {
  setNav(id, null);
  const viewer = el("div", { id: "viewer" });
  const body = el("div", { id: "card" }, el("p", { class: "muted" }, "Loading…"));
  main.replaceChildren(el("h2", {}, "Card: ", symbol), el("div", { class: "split" }, el("section", { class: "panel" }, body), el("section", { class: "panel" }, viewer)));
  let cards;
  try { cards = await api(`/cards?repo_id=${id}&symbol=${encodeURIComponent(symbol)}`); } catch (err) { body.replaceChildren(errorBox(err)); return; }
  const place = (p) => el("a", { href: "#", class: "card-place", onclick: (e) => { e.preventDefault(); openCode(viewer, id, p.path, p.line || p.start_line, p.end_line || p.line, null); } },
    `${p.path}:${p.line || p.start_line}`, p.in ? ` (${p.in})` : "");
  body.replaceChildren(...cards.map((c) => el("div", { class: "card" },
    el("h3", {}, c.symbol, " ", el("span", { class: "muted" }, c.kind), " ",
      el("a", { class: "impact-link", href: `#/repo/${id}/impact/${encodeURIComponent(c.path + ":" + c.symbol)}` }, "impact")),
    c.stale ? el("p", { class: "stale" }, "The code moved since this card was written; it will be rewritten.") : "",
    el("p", {}, place({ path: c.path, start_line: c.start_line, end_line: c.end_line })),
    el("pre", { class: "snippet" }, c.signature),
    c.doc ? el("p", {}, c.doc) : "",
    el("p", { class: "meta" }, `complexity ${c.complexity} · ${c.lines} lines · ${c.callers_total} call sites by name` +
      (c.churn ? ` · ${c.churn.commits} commits, last ${when(c.churn.last_change)}` : "")),
    c.callers.length ? el("div", {}, el("h4", {}, "Callers"), el("ul", {}, ...c.callers.map((p) => el("li", {}, place(p))))) : "",
    c.tests.length ? el("div", {}, el("h4", {}, "Tests"), el("ul", {}, ...c.tests.map((p) => el("li", {}, place(p))))) : "",
    c.callees.length ? el("p", {}, "Calls: ", c.callees.map((x) => x.name).join(", ")) : "",
    c.owners.length ? el("p", { class: "meta" }, "Owners: ", c.owners.map((o) => `${o.author} (${o.commits})`).join(", ")) : "")));
  if (cards[0]) openCode(viewer, id, cards[0].path, cards[0].start_line, cards[0].end_line, null);
}

// ---- change ------------------------------------------------------------

// A `path:line` evidence location (diagnose) as a link into the viewer; a
// commit stays text.
function atLink(at, viewer, id) {
  const m = /^(.*):(\d+)$/.exec(at || "");
  if (!m) return at ? el("code", {}, short(at)) : "";
  const line = Number(m[2]);
  return el("a", { href: "#", class: "evidence-link", onclick: (e) => { e.preventDefault(); openCode(viewer, id, m[1], line, line, null); } }, at);
}

async function showDiagnose(id) {
  setNav(id, "diagnose");
  const symptom = el("textarea", { id: "symptom", rows: 4, placeholder: "an error message, an exception, a stack trace, a log line or plain words" });
  const places = el("div", { id: "places" });
  const viewer = el("div", { id: "viewer" });
  const form = el("form", {
    class: "search-form",
    onsubmit: async (e) => {
      e.preventDefault();
      if (!symptom.value.trim()) return;
      places.replaceChildren(el("p", { class: "muted" }, "Looking…"));
      let got;
      try { got = await api("/diagnose", { body: { repo_id: id, symptom: symptom.value, limit: 10, hypothesis: true } }); }
      catch (err) { places.replaceChildren(errorBox(err)); return; }
      const found = got.places;
      if (!found.length) { places.replaceChildren(el("p", { class: "muted" }, "Nothing in the code matches this symptom.")); return; }
      // With a provider configured, its hypothesis: only verified citations
      // are links (the rest were removed before it got here).
      const h = got.hypothesis;
      const written = !h ? "" : h.not_written ? el("p", { class: "muted", id: "hypothesis" }, `No hypothesis: ${h.not_written}`)
        : el("div", { id: "hypothesis", class: "card" }, el("h4", {}, `Hypothesis (${h.model}, citations checked)`),
          answerBody(h.text, (n, a) => { const c = h.citations.find((x) => x.n === n && (!a || x.start_line === a)) || h.citations.find((x) => x.n === n); if (c) openCode(viewer, id, c.path, c.start_line, c.end_line, c.commit); }),
          h.rejected.length ? el("p", { class: "muted" }, `${h.rejected.length} citation(s) removed: not in the evidence shown`) : "");
      places.replaceChildren(written, el("ol", { class: "places" }, ...found.map((p) => el("li", { class: "place" },
        el("a", { href: "#", class: "place-link", onclick: (ev) => { ev.preventDefault(); openCode(viewer, id, p.path, p.start_line, p.end_line, null); } },
          `${p.path}:${p.start_line}-${p.end_line}`),
        p.symbol ? el("span", { class: "muted" }, `  ${p.symbol}`) : "",
        el("span", { class: "muted" }, `  score ${p.score.toFixed(2)}`),
        el("ul", { class: "evidence" }, ...p.evidence.map((ev) => el("li", { "data-kind": ev.kind },
          el("strong", {}, ev.kind), ": ", ev.detail, ev.at ? " — " : "", atLink(ev.at, viewer, id))))))));
      openCode(viewer, id, found[0].path, found[0].start_line, found[0].end_line, null);
    },
  }, symptom, el("button", { class: "primary", type: "submit", id: "diagnose" }, "Diagnose"));
  main.replaceChildren(el("h2", {}, "Diagnose"), form,
    el("div", { class: "split" }, el("section", { class: "panel" }, places), el("section", { class: "panel" }, viewer)));
  symptom.focus();
}

async function showImpact(id, target) {
  setNav(id, "impact");
  const input = el("input", { id: "impact-target", placeholder: "a symbol (name, Class.method, path:name), a path or a range A..B", size: 40, value: target || "" });
  const out = el("div", { id: "impact" });
  const viewer = el("div", { id: "viewer" });
  const form = el("form", {
    class: "search-form",
    onsubmit: (e) => {
      e.preventDefault();
      if (input.value.trim()) location.hash = `#/repo/${id}/impact/${encodeURIComponent(input.value.trim())}`;
    },
  }, input, el("button", { class: "primary", type: "submit" }, "Impact"));
  main.replaceChildren(el("h2", {}, "Impact"), form,
    el("div", { class: "split" }, el("section", { class: "panel" }, out), el("section", { class: "panel" }, viewer)));
  if (!target) return;
  out.replaceChildren(el("p", { class: "muted" }, "Following the graph and the history…"));
  let r;
  try { r = await api("/impact", { body: { repo_id: id, target } }); } catch (err) { out.replaceChildren(errorBox(err)); return; }
  const open = (path, start, end) => (e) => { e.preventDefault(); openCode(viewer, id, path, start, end, r.commit); };
  const fileRow = (f) => el("tr", {},
    el("td", {}, el("a", { href: "#", class: "impact-file", onclick: open(f.path, 1, 1) }, f.path)),
    el("td", {}, f.score.toFixed(2)),
    el("td", {}, f.reasons.join("; "), f.runs && f.runs.length ? el("ul", { class: "runs" }, ...f.runs.map((t) => el("li", {}, el("code", {}, t)))) : ""),
    el("td", {}, f.risk === undefined || f.risk === null ? "" : f.risk.toFixed(2)));
  const table = (tid, files) => files.length
    ? el("table", { id: tid }, el("tr", {}, el("th", {}, "File"), el("th", {}, "Score"), el("th", {}, "Why"), el("th", {}, "Risk")), ...files.map(fileRow))
    : el("p", { class: "muted", id: tid }, "None.");
  const defs = r.target.definitions;
  out.replaceChildren(
    el("p", { class: "meta" }, `${r.target.kind} ${r.target.query} at ${short(r.commit)}`,
      defs.length > 1 ? ` — ${defs.length} definitions of this name, all followed` : ""),
    defs.length ? el("ul", { id: "impact-definitions" }, ...defs.map((d) => el("li", {},
      el("a", { href: "#", onclick: open(d.path, d.start_line, d.end_line) }, `${d.path}:${d.start_line}-${d.end_line}`), ` ${d.symbol}`))) : "",
    r.target.risk.length ? el("p", { id: "impact-risk" }, "Risk of what it touches: ",
      r.target.risk.map((t) => `${t.path} ${t.score.toFixed(2)} (rank ${t.rank} of ${t.of})`).join(", ")) : "",
    r.uncertain.length ? el("ul", { id: "impact-uncertain", class: "stale" }, ...r.uncertain.map((u) => el("li", {}, u))) : "",
    el("h4", {}, "Files that may have to change too"), table("impact-files", r.files),
    el("h4", {}, "Uses"),
    r.symbols.length ? el("ul", { id: "impact-symbols" }, ...r.symbols.map((s) => el("li", { "data-edge": s.edge },
      el("a", { href: "#", onclick: open(s.path, s.start_line, s.end_line) }, `${s.path}:${s.start_line}`),
      ` ${s.symbol || "(top level)"} — ${s.relation}, ${s.distance} hop${s.distance > 1 ? "s" : ""}, `, el("span", { class: "edge" }, s.edge))))
      : el("p", { class: "muted", id: "impact-symbols" }, "No uses found in the graph."),
    el("h4", {}, "Tests"), table("impact-tests", r.tests));
  if (defs[0]) openCode(viewer, id, defs[0].path, defs[0].start_line, defs[0].end_line, r.commit);
}

// ---- risk --------------------------------------------------------------

// Squarified treemap (Bruls, Huizing, van Wijk): lays `items` ({value})
// out in the rectangle, rows of near-square cells. Returns [{item, x, y, w, h}].
function squarify(items, x, y, w, h) {
  const out = [];
  const total = items.reduce((s, i) => s + i.value, 0);
  if (!total || w <= 0 || h <= 0) return out;
  const scale = (w * h) / total;
  let rest = items.map((i) => ({ item: i, area: i.value * scale }));
  while (rest.length) {
    const side = Math.min(w, h);
    let row = [rest[0]];
    let sum = rest[0].area;
    const worst = (r, s) => {
      const max = Math.max(...r.map((c) => c.area)), min = Math.min(...r.map((c) => c.area));
      return Math.max((side * side * max) / (s * s), (s * s) / (side * side * min));
    };
    for (let k = 1; k < rest.length; k++) {
      const next = rest[k];
      if (worst([...row, next], sum + next.area) > worst(row, sum)) break;
      row.push(next);
      sum += next.area;
    }
    const thick = sum / side;
    let at = 0;
    for (const c of row) {
      const len = c.area / thick;
      if (w >= h) out.push({ item: c.item, x, y: y + at, w: thick, h: len });
      else out.push({ item: c.item, x: x + at, y, w: len, h: thick });
      at += len;
    }
    if (w >= h) { x += thick; w -= thick; } else { y += thick; h -= thick; }
    rest = rest.slice(row.length);
  }
  return out;
}

// Risk by rank: the riskiest files red, the calmest pale.
function heat(rank, total) {
  const t = total > 1 ? 1 - (rank - 1) / (total - 1) : 1;
  const hue = 50 - 50 * t, light = 92 - 45 * t;
  return `hsl(${hue}, 85%, ${light}%)`;
}

function reasonList(card, viewer, id) {
  return el("ol", { class: "reasons" }, ...card.reasons.map((r) => el("li", { class: `reason ${r.contribution > 0 ? "up" : "down"}`, "data-feature": r.feature },
    el("div", {}, el("strong", {}, r.feature.replace("_", " ")), " ",
      el("span", { class: "muted" }, `${r.contribution >= 0 ? "+" : ""}${r.contribution.toFixed(2)}`), " · ", r.text),
    r.evidence.length ? el("ul", { class: "evidence" }, ...r.evidence.map((e) => el("li", {},
      el("a", { href: "#", class: "evidence-link", onclick: (ev) => { ev.preventDefault(); openCode(viewer, id, e.path, e.start_line, e.end_line, null); } },
        `${e.path}:${e.start_line}${e.end_line !== e.start_line ? "-" + e.end_line : ""}`),
      e.commit ? el("span", { class: "muted" }, ` @ ${short(e.commit)}`) : "",
      el("span", { class: "evidence-note" }, ` ${e.note}`)))) : "")));
}

async function showRisk(id) {
  setNav(id, "risk");
  const map = el("div", { id: "heatmap", class: "heatmap" });
  const side = el("div", { id: "risk-card" }, el("p", { class: "muted" }, "Click a file to see its functions and why it is risky."));
  const viewer = el("div", { id: "viewer" });
  const note = el("p", { class: "muted", id: "risk-note" }, "Computing the risk map…");
  main.replaceChildren(el("h2", {}, "Risk"), note,
    el("div", { class: "split" }, el("section", { class: "panel" }, map), el("section", { class: "panel" }, side, viewer)));
  let risks;
  try { risks = await api(`/risks?repo_id=${id}`); } catch (err) { note.replaceWith(errorBox(err)); return; }
  note.textContent = `${fmt(risks.length)} source files, sized by lines, coloured by risk rank (red: riskiest).`;
  const showFunction = async (path, f) => {
    side.replaceChildren(el("p", { class: "muted" }, "Loading…"));
    let card;
    try { card = await api(`/risks/why?repo_id=${id}&path=${encodeURIComponent(path)}&symbol=${encodeURIComponent(f.symbol)}&start_line=${f.start_line}`); }
    catch (err) { side.replaceChildren(errorBox(err)); return; }
    side.replaceChildren(el("div", { class: "card", id: "function-card" },
      el("p", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); showFile(path); } }, `← ${path}`)),
      el("h3", {}, card.symbol, " ", el("span", { class: "muted" }, `risk ${card.score.toFixed(2)} · ${card.rank} of its file's functions`)),
      el("p", { class: "meta" }, `${path}:${card.start_line}-${card.end_line} · ${card.model} model at ${short(card.commit)}`),
      el("h4", {}, "Why"), reasonList(card, viewer, id)));
    openCode(viewer, id, path, card.start_line, card.end_line, null);
  };
  const showFile = async (path) => {
    for (const c of map.querySelectorAll(".cell.on")) c.classList.remove("on");
    const cell = map.querySelector(`.cell[data-path="${CSS.escape(path)}"]`);
    if (cell) cell.classList.add("on");
    side.replaceChildren(el("p", { class: "muted" }, "Loading…"));
    let card;
    try { card = await api(`/risks/why?repo_id=${id}&path=${encodeURIComponent(path)}`); }
    catch (err) { side.replaceChildren(errorBox(err)); return; }
    side.replaceChildren(el("div", { class: "card", id: "file-card" },
      el("h3", {}, path, " ", el("span", { class: "muted" }, `risk ${card.score.toFixed(2)} · rank ${card.rank} of ${risks.length}`)),
      el("p", { class: "meta" }, `${card.model} model at ${short(card.commit)}`),
      el("h4", {}, "Functions"),
      card.functions.length ? el("table", { id: "risk-functions" },
        el("tr", {}, ...["Function", "Lines", "Risk"].map((h) => el("th", {}, h))),
        ...card.functions.map((f) => el("tr", {},
          el("td", {}, el("a", { href: "#", class: "function-link", onclick: (e) => { e.preventDefault(); showFunction(path, f); } }, f.symbol)),
          el("td", {}, `${f.start_line}-${f.end_line}`),
          el("td", {}, el("span", { class: "swatch", style: `background:${heat(f.rank, card.functions.length)}` }), ` ${f.score.toFixed(2)}`))))
        : el("p", { class: "muted" }, "No functions."),
      el("h4", {}, "Why"), reasonList(card, viewer, id)));
  };
  // Two levels: top directories, then their files.
  const groups = new Map();
  for (const r of risks) {
    const top = r.path.includes("/") ? r.path.split("/")[0] : ".";
    if (!groups.has(top)) groups.set(top, []);
    groups.get(top).push(r);
  }
  const width = Math.max(320, map.clientWidth || 600), height = Math.round(width * 0.75);
  map.style.height = `${height}px`;
  const tops = [...groups.entries()].map(([name, files]) => ({ name, files, value: files.reduce((s, f) => s + Math.max(1, f.features.lines), 0) }))
    .sort((a, b) => b.value - a.value);
  for (const g of squarify(tops, 0, 0, width, height)) {
    const box = el("div", { class: "group", style: `left:${g.x}px;top:${g.y}px;width:${g.w}px;height:${g.h}px`, title: g.item.name },
      g.w > 60 && g.h > 14 ? el("span", { class: "group-name" }, g.item.name) : "");
    map.append(box);
    const files = g.item.files.map((f) => Object.assign({ value: Math.max(1, f.features.lines) }, f)).sort((a, b) => b.value - a.value);
    const pad = g.h > 30 ? 14 : 0;
    for (const c of squarify(files, g.x, g.y + pad, g.w, g.h - pad)) {
      const f = c.item;
      map.append(el("div", {
        class: "cell", "data-path": f.path, "data-rank": f.rank,
        style: `left:${c.x}px;top:${c.y}px;width:${Math.max(0, c.w - 1)}px;height:${Math.max(0, c.h - 1)}px;background:${heat(f.rank, risks.length)}`,
        title: `${f.path}\nrisk ${f.score.toFixed(2)} · rank ${f.rank} · ${fmt(f.features.lines)} lines`,
        onclick: () => showFile(f.path),
      }, c.w > 70 && c.h > 16 ? f.path.split("/").at(-1) : ""));
    }
  }
  if (risks[0]) showFile(risks[0].path);
}

// ---- index runs --------------------------------------------------------

function watchJob(id, bar, label, onDone) {
  const url = `/index/${id}/events` + (token() ? `?access_token=${encodeURIComponent(token())}` : "");
  const source = new EventSource(url);
  source.addEventListener("progress", (event) => {
    const job = JSON.parse(event.data);
    const pct = job.total ? Math.round((100 * job.done) / job.total) : 0;
    bar.style.width = (job.state === "done" ? 100 : pct) + "%";
    label.textContent = job.state === "failed"
      ? `failed: ${job.error}`
      : `${job.state} ${fmt(job.done)}/${fmt(job.total)} files`;
    if (job.state === "done" || job.state === "failed") { source.close(); onDone(job); }
  });
  source.onerror = () => { source.close(); };
}

function jobWidget(repo, refresh) {
  const bar = el("div");
  const label = el("span", { class: "muted job-state" });
  const box = el("div", { class: "job-progress", hidden: true }, el("div", { class: "progress" }, bar), label);
  const start = async (kind) => {
    try {
      await api(`/index/${repo.id}/${kind}`, { method: "POST", body: {} });
    } catch (err) {
      label.textContent = err.message;
      box.hidden = false;
      return;
    }
    box.hidden = false;
    watchJob(repo.id, bar, label, refresh);
  };
  const running = repo.job && !["done", "failed"].includes(repo.job.state);
  if (running) { box.hidden = false; watchJob(repo.id, bar, label, refresh); }
  const button = el("button", {
    class: "index", disabled: running,
    onclick: () => { button.disabled = true; start(repo.indexed ? "diff" : "initial"); },
  }, repo.indexed ? "Re-index" : "Index");
  return el("div", {}, button, box);
}

// ---- repositories ------------------------------------------------------

async function showRepos() {
  setNav(null, "repos");
  let repos;
  try { repos = await api("/repos"); } catch (err) { main.replaceChildren(errorBox(err)); return; }
  const refresh = () => showRepos();
  const path = el("input", { name: "path", placeholder: "/absolute/path/to/repository", size: 50 });
  const message = el("span", { class: "muted" });
  const add = el("form", {
    class: "search-form",
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api("/repos", { body: { path: path.value.trim(), index: true } });
        refresh();
      } catch (err) { message.textContent = err.message; message.className = "error"; }
    },
  }, path, el("button", { class: "primary", type: "submit" }, "Add and index"), message);
  const rows = repos.map((repo) => el("tr", { class: "repo-row", "data-id": repo.id },
    el("td", {}, el("a", { href: `#/repo/${repo.id}` }, repo.id), el("div", { class: "muted" }, repo.root)),
    el("td", { class: "repo-status" }, statusText(repo)),
    el("td", {}, jobWidget(repo, refresh)),
  ));
  main.replaceChildren(
    el("h2", {}, "Repositories"),
    repos.length
      ? el("table", { id: "repos" }, el("tr", {}, el("th", {}, "Repository"), el("th", {}, "Index"), el("th", {}, "")), rows)
      : el("p", { class: "muted", id: "repos" }, "No repositories yet: add one below, or start the server with `lore serve PATH`."),
    el("h3", {}, "Add a repository"),
    add,
  );
}

// ---- code viewer -------------------------------------------------------

function renderLine(line, marked) {
  const chars = Array.from(line.text);
  const parts = [];
  let at = 0;
  for (const [start, end, cls] of line.spans) {
    if (start > at) parts.push(chars.slice(at, start).join(""));
    parts.push(el("span", { class: "t-" + cls }, chars.slice(start, end).join("")));
    at = end;
  }
  if (at < chars.length) parts.push(chars.slice(at).join(""));
  return el("div", { class: "line" + (marked ? " hl" : ""), "data-n": line.n },
    el("span", { class: "n" }, line.n), el("span", { class: "src" }, parts));
}

// Shows `path` with lines start..end marked. With `actions` (a function of
// the shown path returning nodes), those go under the title; with
// `onSelect`, clicking a line number selects it (shift-click: a range) and
// `onSelect(path, a, b)` is called.
async function openCode(viewer, repoId, path, start, end, commit, actions, onSelect) {
  viewer.replaceChildren(el("p", { class: "muted" }, `Loading ${path}…`));
  let file;
  try {
    file = await api(`/files/${repoId}/${path.split("/").map(encodeURIComponent).join("/")}`);
  } catch (err) { viewer.replaceChildren(errorBox(err)); return; }
  const title = el("div", { id: "viewer-title" },
    `${file.path}:${start}-${end} @ ${short(commit || file.commit)}`,
    file.stale ? el("span", { class: "stale" }, " · changed since indexed") : "");
  const code = el("div", { class: "code" }, file.lines.map((l) => renderLine(l, l.n >= start && l.n <= end)));
  if (onSelect) {
    let anchor = null;
    code.addEventListener("click", (e) => {
      const n = e.target.closest(".n");
      if (!n) return;
      const line = Number(n.parentElement.dataset.n);
      const a = e.shiftKey && anchor ? Math.min(anchor, line) : line;
      const b = e.shiftKey && anchor ? Math.max(anchor, line) : line;
      if (!e.shiftKey) anchor = line;
      for (const row of code.querySelectorAll(".line")) {
        const k = Number(row.dataset.n);
        row.classList.toggle("sel", k >= a && k <= b);
      }
      onSelect(file.path, a, b);
    });
  }
  viewer.replaceChildren(title, actions ? el("div", { class: "viewer-actions" }, actions(file.path)) : "", code);
  const first = code.querySelector(".line.hl");
  if (first) code.scrollTop = Math.max(0, first.offsetTop - code.offsetTop - 60);
}

// ---- chat --------------------------------------------------------------

function answerBody(text, onCite) {
  // Escape-free rendering: split into text, code and [n] / [n:a-b] citations.
  // Code is `x`, or reStructuredText's ``x`` and :role:`x` (docstrings quote
  // code that way).
  const out = [];
  const re = /(?::[\w.-]+:)?(``(?:[^`\n]|`(?!`))+?``|`[^`\n]+`)|\[(\d+)(?::(\d+)(?:-(\d+))?)?\]/g;
  let at = 0, m;
  while ((m = re.exec(text))) {
    if (m.index > at) out.push(text.slice(at, m.index));
    if (m[1]) {
      const double = m[1].startsWith("``");
      const inner = double ? m[1].slice(2, -2).replace(/^ ([^]*) $/, "$1") : m[1].slice(1, -1);
      out.push(el("code", {}, inner));
    }
    else {
      const n = Number(m[2]);
      const a = m[3] ? Number(m[3]) : null;
      const b = m[4] ? Number(m[4]) : a;
      out.push(el("a", { href: "#", class: "cite", "data-n": n, onclick: (e) => { e.preventDefault(); onCite(n, a, b); } }, m[0]));
    }
    at = re.lastIndex;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

// The order in which an answer first cites each source.
function citationOrder(answer) {
  const order = [];
  const re = /\[(\d+)(?::\d+(?:-\d+)?)?\]/g;
  let m;
  while ((m = re.exec(answer.answer))) {
    const n = Number(m[1]);
    if (!order.includes(n)) order.push(n);
  }
  for (const c of answer.citations) if (!order.includes(c.n)) order.push(c.n);
  return order;
}

function retrievalPolicyText(r) {
  if (!r) return "retrieval policy unknown";
  return r.repository
    ? `retrieval policy: this repository's v${r.repository} (trained here)`
    : `retrieval policy: global v${r.version}`;
}

function whyPanel(answer, onClose) {
  const x = answer.explain || {};
  const p = x.policy || {};
  const rows = (x.candidates || []).map((c) => el("tr", {},
    el("td", {}, c.n ? `[${c.n}]${c.cited ? "*" : ""}` : "–"),
    el("td", {}, c.source), el("td", {}, `${c.path}:${c.start_line}-${c.end_line}`),
    el("td", {}, c.symbol || ""),
    el("td", {}, (c.features || []).filter((f) => f.value).map((f) => `${f.feature}=${Number(f.value).toFixed(2)}`).join(" ")),
  ));
  return el("div", { class: "why" },
    el("div", { class: "why-head" }, el("h3", {}, "Why this answer?"),
      el("span", { class: "muted" }, answer.question ? `“${answer.question}”` : ""),
      el("button", { class: "why-close", onclick: onClose }, "Close")),
    el("div", {}, `mode ${answer.mode}` + (answer.model ? ` · model ${answer.model}` : "") +
      (x.route ? ` · route ${x.route}` : "")),
    el("div", { class: "why-retrieval" }, retrievalPolicyText(answer.retrieval_policy)),
    el("div", { class: "why-context" }, `context policy v${answer.policy_version}: ${p.chunks} chunks, ${p.graph_hops} graph hop(s), budget ${p.budget_tokens} tokens` +
      (p.arm ? ` · the context bandit's arm ${p.arm}` : " · as configured (context.learn is off)")),
    el("div", { class: "why-cache" }, answer.cache?.hit
      ? `from the answer cache: reuses answer ${answer.cache.answer_id} (nothing it depends on has changed)`
      : "answered afresh (not from the answer cache)"),
    el("div", {}, `tokens ${answer.tokens.prompt} prompt + ${answer.tokens.completion} completion · cost ` +
      (answer.cost === null || answer.cost === undefined ? "unknown" : `$${answer.cost.toFixed(4)}`) +
      ` · ${answer.latency_ms} ms`),
    el("div", {}, `question read as: intent ${x.question?.intent}, names ${(x.question?.identifiers || []).join(", ") || "none"}`),
    el("div", { class: "why-table" },
      el("table", {}, el("tr", {}, el("th", {}, "id"), el("th", {}, "source"), el("th", {}, "location"), el("th", {}, "symbol"), el("th", {}, "features")), rows)),
  );
}

function feedbackBox(repoId, answer) {
  const note = el("textarea", { class: "note", placeholder: "A note on this answer (optional)" });
  const saved = el("span", { class: "muted" });
  let vote = "none";
  // Feedback given earlier (a reloaded conversation) is shown as it was
  // left: the last vote and note (implicit signals are not shown).
  const explicit = (answer.feedback || []).filter((f) => f.vote !== 0 || f.note);
  const last = explicit.at(-1);
  const up = el("button", { class: "vote vote-up", title: "Helpful", onclick: () => choose("up") }, "▲ helpful");
  const down = el("button", { class: "vote vote-down", title: "Not helpful", onclick: () => choose("down") }, "▼ not helpful");
  const send = async () => {
    try {
      await api("/feedback", { body: { repo_id: repoId, answer_id: answer.answer_id, vote, note: note.value || null } });
      saved.textContent = "feedback saved";
      saved.className = "feedback-saved muted";
    } catch (err) { saved.textContent = err.message; saved.className = "error"; }
  };
  function mark(v) {
    vote = v;
    up.classList.toggle("on", v === "up");
    down.classList.toggle("on", v === "down");
  }
  function choose(v) { mark(v); send(); }
  if (last) {
    mark(last.vote > 0 ? "up" : last.vote < 0 ? "down" : "none");
    if (last.note) note.value = last.note;
    saved.textContent = `feedback given ${ago(last.time)}`;
    saved.className = "feedback-saved muted";
  }
  return el("div", { class: "feedback" }, up, down, el("button", { class: "save-note", onclick: send }, "Save note"), saved, note);
}

async function showRepo(id) {
  setNav(id, "chat");
  const title = el("h2", { id: "repo-title" }, id);
  const status = el("p", { class: "status-line", id: "status-line" }, "…");
  const log = el("div", { class: "chat-log", id: "chat-log" });
  const sources = el("ul", { class: "sources", id: "sources" });
  const viewer = el("div", { id: "viewer" }, el("p", { class: "muted" }, "Click a citation to see the code."));
  const why = el("section", { class: "panel why-panel", id: "why", hidden: true });
  const question = el("input", { id: "question", placeholder: "Ask about the code, e.g. what calls send?", autocomplete: "off" });
  const askButton = el("button", { id: "ask", class: "primary", type: "submit" }, "Ask");
  // The conversation survives a reload: its id is kept per repository and
  // its exchanges are read back from the server.
  const conversationKey = `lore.conversation.${id}`;
  let conversation = Number(localStorage.getItem(conversationKey)) || null;
  const setConversation = (c) => {
    conversation = c;
    if (c) localStorage.setItem(conversationKey, String(c));
    else localStorage.removeItem(conversationKey);
  };

  const showSources = (answer, activeN) => {
    const byN = new Map();
    for (const c of answer.citations) if (!byN.has(c.n)) byN.set(c.n, c);
    sources.replaceChildren(...citationOrder(answer).filter((n) => byN.has(n)).map((n) => {
      const c = byN.get(n);
      return el("li", {}, el("a", {
        href: "#", class: "source" + (c.n === activeN ? " active" : ""), "data-n": c.n,
        onclick: (e) => { e.preventDefault(); cite(answer, c.n, null, null); },
      }, `[${c.n}] ${c.path}:${c.start_line}-${c.end_line}`), c.symbol ? el("span", { class: "muted" }, " " + c.symbol) : "",
        c.symbol ? el("a", { class: "card-link", href: `#/repo/${id}/card/${encodeURIComponent(c.path + ":" + c.symbol)}` }, " card") : "");
    }));
  };
  // Implicit feedback: sent and forgotten (a failure costs nothing).
  const signal = (answer, name, extra = {}) =>
    api("/feedback", { body: Object.assign({ repo_id: id, answer_id: answer.answer_id, signal: name }, extra) }).catch(() => {});
  let current = null; // the answer whose evidence the viewer shows
  const cite = (answer, n, a, b) => {
    const c = answer.citations.find((x) => x.n === n && (a === null || (x.start_line <= a && a <= x.end_line)))
      || answer.citations.find((x) => x.n === n);
    if (!c) return;
    current = answer;
    showSources(answer, n);
    signal(answer, "open");
    const said = el("span", { class: "muted", id: "correction-note" });
    let chosen = null;
    const right = el("button", { id: "right-place", disabled: true, onclick: async () => {
      try {
        await api("/feedback", { body: { repo_id: id, answer_id: answer.answer_id, signal: "correct",
          correct_citations: [{ path: chosen.path, start_line: chosen.a, end_line: chosen.b }] } });
        said.textContent = `noted: the right place is ${chosen.path}:${chosen.a}-${chosen.b}`;
      } catch (err) { said.textContent = err.message; }
    } }, "The right place is… (select lines)");
    const wrong = el("button", { id: "wrong-citation", onclick: async () => {
      try {
        await api("/feedback", { body: { repo_id: id, answer_id: answer.answer_id, signal: "wrong",
          correct_citations: [{ path: c.path, start_line: c.start_line, end_line: c.end_line }] } });
        said.textContent = `noted: [${c.n}] ${c.path}:${c.start_line}-${c.end_line} is wrong`;
      } catch (err) { said.textContent = err.message; }
    } }, "This citation is wrong");
    openCode(viewer, id, c.path, a ?? c.start_line, b ?? c.end_line, c.commit, () => [wrong, right, said], (path, a2, b2) => {
      chosen = { path, a: a2, b: b2 };
      right.disabled = false;
      right.textContent = `The right place is ${path}:${a2}-${b2}`;
    });
  };
  viewer.addEventListener("copy", () => { if (current) signal(current, "copy"); });
  const showWhy = (answer) => {
    why.replaceChildren(whyPanel(answer, () => { why.hidden = true; }));
    why.hidden = false;
    why.scrollIntoView({ block: "start" });
  };
  // One answered exchange in the log.
  const render = (entry, answer) => {
    entry.append(
      el("div", { class: "answer", "data-answer-id": answer.answer_id }, answerBody(answer.answer, (n, a, b) => cite(answer, n, a, b))),
      answer.notice ? el("div", { class: "meta" }, "note: " + answer.notice) : "",
      el("div", { class: "meta" }, `${answer.mode} · ${answer.citations.length} citations checked · at ${short(answer.commit)}`,
        answer.explain ? el("button", { class: "why-open link", onclick: () => showWhy(answer) }, "Why this answer?") : ""),
      feedbackBox(id, answer),
    );
    entry.addEventListener("click", (e) => {
      if (e.target.closest("a, button, textarea")) return;
      showSources(answer, null);
    });
    entry.querySelector(".answer").addEventListener("copy", () => signal(answer, "copy"));
  };

  const form = el("form", {
    class: "ask-form",
    onsubmit: async (e) => {
      e.preventDefault();
      const q = question.value.trim();
      if (!q) return;
      askButton.disabled = true;
      const entry = el("div", { class: "exchange" }, el("div", { class: "q" }, q), el("p", { class: "muted" }, "Thinking…"));
      log.append(entry);
      log.scrollTop = entry.offsetTop;
      try {
        const answer = await api("/chat", { body: { repo_id: id, question: q, conversation_id: conversation } });
        answer.question = q;
        setConversation(answer.conversation_id);
        entry.lastChild.remove();
        render(entry, answer);
        showSources(answer, null);
        question.value = "";
      } catch (err) {
        entry.lastChild.replaceWith(errorBox(err));
      } finally {
        askButton.disabled = false;
        // The lead sentence first: show the new exchange from its top.
        log.scrollTop = entry.offsetTop;
      }
    },
  }, question, askButton);

  main.replaceChildren(
    title,
    status,
    learningBar(id),
    el("div", { class: "split" },
      el("section", { class: "panel" }, el("h3", {}, "Chat"), log, form,
        el("div", { class: "meta" }, el("a", { href: "#", onclick: (e) => { e.preventDefault(); setConversation(null); log.replaceChildren(); sources.replaceChildren(); } }, "new conversation"))),
      el("section", { class: "panel" }, el("h3", {}, "Sources"), sources, viewer),
    ),
    why,
  );
  try {
    const repos = await api("/repos");
    const repo = repos.find((r) => r.id === id);
    status.textContent = repo ? statusText(repo) : `no repository ${id}`;
    if (repo) title.replaceChildren(repo.root.split("/").filter(Boolean).at(-1) || repo.root, " ", el("span", { class: "muted repo-root" }, repo.root));
  } catch (err) { status.replaceWith(errorBox(err)); }
  if (conversation) {
    try {
      const past = await api(`/conversations/${id}/${conversation}`);
      let lastAnswer = null;
      for (const x of past.exchanges) {
        const entry = el("div", { class: "exchange" }, el("div", { class: "q" }, x.question));
        log.append(entry);
        render(entry, x);
        lastAnswer = x;
      }
      if (lastAnswer) { showSources(lastAnswer, null); log.scrollTop = log.lastChild.offsetTop; }
    } catch (err) {
      // Gone (a forgotten index, another server): start afresh.
      setConversation(null);
    }
  }
  question.focus();
}

// ---- search ------------------------------------------------------------

async function showSearch(id) {
  setNav(id, "search");
  const q = el("input", { name: "q", placeholder: "words, names or a question" });
  const langs = el("input", { name: "langs", placeholder: "languages, e.g. python,rust", size: 18 });
  const path = el("input", { name: "path", placeholder: "path glob, e.g. src/**", size: 16 });
  const mode = el("select", { name: "mode" }, ["hybrid", "lexical", "vector"].map((m) => el("option", { value: m }, m)));
  const results = el("div", { id: "results" });
  const viewer = el("div", { id: "viewer" });
  const form = el("form", {
    class: "search-form",
    onsubmit: async (e) => {
      e.preventDefault();
      if (!q.value.trim()) return;
      results.replaceChildren(el("p", { class: "muted" }, "Searching…"));
      try {
        const body = {
          repo_id: id, query: q.value, mode: mode.value, limit: 20,
          langs: langs.value.split(",").map((s) => s.trim()).filter(Boolean),
          path: path.value.trim() || null,
        };
        const found = await api("/search", { body });
        // An A/B comparison learns from what is opened.
        const clicked = (rank) => {
          if (found.impression === undefined) return;
          api("/search/click", { body: { repo_id: id, impression: found.impression, rank } }).catch(() => {});
        };
        results.replaceChildren(
          el("p", { class: "muted" }, `${found.hits.length} results in ${found.took_ms.toFixed(1)} ms (${found.mode}) at ${short(found.commit)}`),
          ...found.hits.map((h, rank) => el("div", { class: "hit" },
            el("a", { href: "#", class: "hit-link", onclick: (ev) => { ev.preventDefault(); clicked(rank); openCode(viewer, id, h.path, h.start_line, h.end_line, found.commit); } },
              `${h.path}:${h.start_line}-${h.end_line}`),
            h.symbol ? el("span", { class: "muted" }, `  ${h.symbol} [${h.kind}]`) : "",
            el("div", { class: "snippet" }, h.snippet))));
      } catch (err) { results.replaceChildren(errorBox(err)); }
    },
  }, q, langs, path, mode, el("button", { class: "primary", type: "submit" }, "Search"));
  main.replaceChildren(el("h2", {}, "Search"), form,
    el("div", { class: "split" }, el("section", { class: "panel" }, results), el("section", { class: "panel" }, viewer)));
  q.focus();
}

// ---- routing -----------------------------------------------------------

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "repo" && parts[1] && parts[2] === "search") return showSearch(parts[1]);
  if (parts[0] === "repo" && parts[1] && parts[2] === "runs") return showRuns(parts[1]);
  if (parts[0] === "repo" && parts[1] && parts[2] === "insights") return showInsights(parts[1]);
  if (parts[0] === "repo" && parts[1] && parts[2] === "settings") return showSettings(parts[1]);
  if (parts[0] === "repo" && parts[1] && parts[2] === "learning") return showLearning(parts[1]);
  if (parts[0] === "repo" && parts[1] && parts[2] === "risk") return showRisk(parts[1]);
  if (parts[0] === "repo" && parts[1] && parts[2] === "diagnose") return showDiagnose(parts[1]);
  if (parts[0] === "repo" && parts[1] && parts[2] === "impact") return showImpact(parts[1], parts[3] ? decodeURIComponent(parts.slice(3).join("/")) : "");
  if (parts[0] === "repo" && parts[1] && parts[2] === "card" && parts[3]) return showCard(parts[1], decodeURIComponent(parts.slice(3).join("/")));
  if (parts[0] === "repo" && parts[1]) return showRepo(parts[1]);
  return showRepos();
}

window.addEventListener("hashchange", route);
route();
