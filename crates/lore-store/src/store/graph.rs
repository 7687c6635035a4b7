//! The file graph: built whole on a first run, updated where a change can
//! move it afterwards.

use super::*;

/// How much a use of a name says about which file it means: short
/// lower-case names (`get`, `push`, `len`) are shared with libraries and
/// say little; long or capitalised ones (`parse_header`, `Session`) are
/// specific. As in aider's repository map.
pub(super) const SPECIFICITY: &str =
    "(CASE WHEN length(nm.name) >= 8 OR nm.name GLOB '*[A-Z]*' THEN 1.0 ELSE 0.1 END)";

/// Uses of a name in one file, damped (about 1 + log₄): a file calling a
/// helper twenty times is not twenty times as tied to it.
pub(super) const DAMPED: &str = "(1 + (r.count > 1) + (r.count > 4) + (r.count > 16))";

/// Brings the file graph up to date after files were removed or written.
///
/// An edge (src, dst) sums, over the names src uses and dst defines, a
/// weight that depends on src's uses and on how many files define the
/// name. A written file keeps its id, so the edge can move only if src was
/// written, or a name it uses was gained or lost by a written or removed
/// file (`temp.touched_names`: that covers dst changing what it defines and
/// a name's number of defining files changing). Those sources' edges are
/// recomputed; edges touching removed files went with them. Names defined
/// by more than `MAX_DEFINING_FILES` files both before and after carry no
/// weight and are skipped: one run moves a name's count by at most the
/// number of files it wrote or removed.
pub(super) fn update_file_edges(
    tx: &Transaction<'_>,
    written: &[i64],
    removed: usize,
) -> Result<()> {
    let touched: i64 = tx
        .query_row("SELECT count(*) FROM temp.touched_names", [], |r| r.get(0))
        .ctx("count changed names")?;
    if touched == 0 && written.is_empty() {
        return Ok(());
    }
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS affected (file_id INTEGER PRIMARY KEY);
         DELETE FROM temp.affected;",
    )
    .ctx("prepare file graph update")?;
    // CROSS JOIN fixes the order: from the few touched names to their
    // uses. Left to itself the planner (no statistics on the temporary
    // table) scanned every reference: 550 ms on 7.5M lines, now 16.
    tx.execute(
        "INSERT OR IGNORE INTO temp.affected
         SELECT DISTINCT r.file_id
         FROM temp.touched_names t
         CROSS JOIN names nm ON nm.name = t.name
         CROSS JOIN refs r ON r.name_id = nm.id
         WHERE (SELECT count(DISTINCT s.file_id) FROM symbols s
                WHERE s.name = t.name COLLATE NOCASE AND s.name = t.name) <= ?1",
        [i64::from(MAX_DEFINING_FILES) + (written.len() + removed) as i64],
    )
    .ctx("find affected files")?;
    {
        let mut insert = tx
            .prepare_cached("INSERT OR IGNORE INTO temp.affected VALUES (?1)")
            .ctx("find affected files")?;
        for id in written {
            insert.execute([id]).ctx("find affected files")?;
        }
    }
    tx.execute(
        "DELETE FROM file_edges WHERE src IN (SELECT file_id FROM temp.affected)",
        [],
    )
    .ctx("clear affected edges")?;
    // Names are counted once per query (materialized), not per joined row:
    // on 7.5M lines that took a one-file update from 250 to 35 ms.
    tx.execute(
        &format!(
            "INSERT INTO file_edges (src, dst, weight)
         WITH used AS (
             SELECT DISTINCT r.name_id, nm.name FROM refs r JOIN names nm ON nm.id = r.name_id
             WHERE r.file_id IN (SELECT file_id FROM temp.affected)
         ),
         defs AS MATERIALIZED (
             SELECT DISTINCT u.name_id, s.file_id FROM used u
             JOIN symbols s ON s.name = u.name COLLATE NOCASE AND s.name = u.name
         ),
         counts AS MATERIALIZED (
             SELECT name_id, count(*) AS n FROM defs GROUP BY name_id HAVING count(*) <= ?1
         )
         SELECT r.file_id, d.file_id, sum({DAMPED} * {SPECIFICITY} / c.n)
         FROM refs r
         JOIN counts c ON c.name_id = r.name_id
         JOIN defs d ON d.name_id = r.name_id
         JOIN names nm ON nm.id = r.name_id
         WHERE r.file_id IN (SELECT file_id FROM temp.affected)
           AND d.file_id != r.file_id
         GROUP BY r.file_id, d.file_id"
        ),
        [MAX_DEFINING_FILES],
    )
    .ctx("update file graph")?;
    Ok(())
}

/// Recomputes the file graph from symbols and references (see
/// [`FileEdge`]); runs inside the commit, so it always matches the snapshot.
pub(super) fn rebuild_file_edges(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("DELETE FROM file_edges", [])
        .ctx("clear file graph")?;
    tx.execute(
        &format!(
            "INSERT INTO file_edges (src, dst, weight)
         WITH defs AS (
             SELECT name, file_id, count(*) OVER (PARTITION BY name) AS n
             FROM (SELECT DISTINCT name, file_id FROM symbols)
         )
         SELECT r.file_id, d.file_id, sum({DAMPED} * {SPECIFICITY} / d.n)
         FROM refs r
         JOIN names nm ON nm.id = r.name_id
         JOIN defs d ON d.name = nm.name
         WHERE d.file_id != r.file_id AND d.n <= ?1
         GROUP BY r.file_id, d.file_id"
        ),
        [MAX_DEFINING_FILES],
    )
    .ctx("build file graph")?;
    Ok(())
}
