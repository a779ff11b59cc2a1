"""Markdown report of a benchmark run (see run_bench.py); Python 3 standard library only."""
import json

GIB = 1024 ** 3
NO_CACHE = "Cache-Control: no-cache"
REDIS_STORE = "postgresql-redis"  # the store with the Redis cache phase (run_bench.py)
MIB = 1024 ** 2
# Targets of the HTTP import phase (see http_import.py and docs/benchmarks.md).
HTTP_IMPORT_S_PER_1M = 60
HTTP_IMPORT_ROWS_PER_S = 20_000
UPLOAD_RSS_BYTES = 300 * MIB
# Targets of the export phase (see http_export.py and docs/benchmarks.md).
EXPORT_S_PER_1M = 10
EXPORT_RSS_GROWTH_BYTES = 64 * MIB


def fmt_ms(value):
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def fmt_share(counts):
    """`cache_hits` of `requests` (a loadgen result or a sum of them) as a percentage."""
    requests = counts.get("requests")
    return f"{counts.get('cache_hits', 0) / requests:.1%}" if requests else "-"


def fmt_bytes(value):
    return "-" if value is None else f"{value / GIB:.2f} GiB" if value >= GIB / 2 \
        else f"{value / 1024 ** 2:.0f} MiB"


def verdict(passed):
    return "-" if passed is None else "pass" if passed else "**FAIL**"


# What each store column measures.
STORE_TITLES = {
    "sqlite": "embedded SQLite store; reads from the in-memory index",
    "postgresql": "PostgreSQL 15 primary; reads from the in-memory index loaded from it",
    "postgresql-sql": "the same PostgreSQL database; every query with `use_replica=true`, "
                      "answered by SQL on the streaming replica",
    "postgresql-redis": "the same PostgreSQL database; the shared Redis response cache "
                        "(`CONTACTS_REDIS_URL`, `CONTACTS_CACHE_ENABLED=true`), warmed before "
                        "the mix is measured; target p99 < 5 ms for every query",
}
# The CLI import of 1M rows: the embedded store's target, and the for PostgreSQL.
IMPORT_S_PER_1M = {"sqlite": 60, "postgresql": 90, "postgresql-sql": 90, "postgresql-redis": 90}
NOT_AVAILABLE = "n/a (replica reader not available)"


def summary_rows(results):
    """(step, figure, target, passed) rows: generation, then per store its import, start-up,
    memory and HTTP import, then the upload memory check."""
    gen = results.get("generate") or {}
    rows = []
    if gen:
        rows.append((f"generate {results['rows']:,} rows", f"{gen.get('seconds', 0):.1f} s"
                     + (" (file reused)" if gen.get("reused") else ""), "-", None))
    for store in results["store_order"]:
        entry = results["stores"].get(store) or {}
        rows += store_rows(store, entry, results["rows"])
        rows += export_rows(store, entry.get("export") or {})
        rows += cache_rows(store, entry)
        rows += http_import_rows(entry.get("http_import") or {}, store, store == "sqlite")
    return rows + upload_memory_rows(results.get("upload_memory") or {})


def store_rows(store, entry, rows_n):
    """Summary rows of one store: CLI import, start-up, replica, server memory."""
    imp, start, mem, replica = (entry.get(k) or {} for k in ("import", "startup", "memory",
                                                              "replica"))
    rows = []
    if imp:
        seconds, target = imp.get("seconds") or 0, IMPORT_S_PER_1M[store]
        per_million = seconds * 1_000_000 / rows_n
        note = "" if rows_n == 1_000_000 else f"; {per_million:.1f} s per 1M rows (extrapolated)"
        rows.append((f"{store}: import {rows_n:,} rows (CLI)",
                     f"{seconds:.1f} s, {imp.get('rows_per_s') or 0:,} rows/s{note}"
                     + (" (data reused)" if imp.get("reused") else "")
                     + (f"; then the search index of SQL reads (`migrate`) "
                        f"{imp['search_index_s']:.1f} s" if "search_index_s" in imp else ""),
                     f"< {target} s for 1M rows", per_million < target))
    if start:
        rows.append((f"{store}: start-up to ready (index built, count right)",
                     f"{start['ready_s']:.1f} s (listening after {start['listening_s']:.1f} s)"
                     + (f"; server counts {start['count']:,} contacts, the import reported "
                        f"{start['import_reported']:,} new" if "import_reported" in start else ""),
                     "-", None))
    if replica:
        rows.append((f"{store}: replica answers `use_replica=true` (meta.using_replica)",
                     f"yes, after {replica['waited_s']:.1f} s" if replica.get("used") else
                     f"{NOT_AVAILABLE}: meta.using_replica "
                     f"{json.dumps(replica.get('using_replica'))} "
                     f"after {replica['waited_s']:.0f} s", "-", None))
    if mem:
        rows.append(memory_row(f"{store}: server memory at the end", mem))
    return rows


def export_rows(store, ex):
    """Summary rows of the export phase: time of the whole export, the server's memory during
    it, and the export in an ordering that is sorted first (no target)."""
    everything, ordered = ex.get("all") or {}, ex.get("sorted") or {}
    if not everything:
        return []
    expected = ex.get("expected_rows") or 0
    per_million = everything["seconds"] * 1_000_000 / max(expected, 1)
    note = "" if expected == 1_000_000 else f"; {per_million:.1f} s per 1M rows (extrapolated)"
    rows = [(f"{store}: CSV export of every contact over HTTP (`GET /api/contacts/export/`)",
             f"{everything['seconds']:.1f} s for {everything['records']:,} records "
             f"({expected:,} expected), {everything['bytes'] / 1e6:,.0f} MB at "
             f"{everything['mb_per_s'] or 0:,.0f} MB/s, first byte after "
             f"{everything['first_byte_s']} s{note}",
             f"< {EXPORT_S_PER_1M} s for 1M rows",
             everything["records"] == expected and per_million < EXPORT_S_PER_1M)]
    growth = everything.get("rss_growth_bytes")
    rows.append((f"{store}: server memory during the export",
                 f"VmRSS {fmt_bytes(everything.get('rss_before_bytes'))} before, peak "
                 f"{fmt_bytes(everything.get('peak_rss_bytes'))} during "
                 f"({'+' if (growth or 0) >= 0 else ''}{fmt_bytes(growth)}; "
                 f"{everything.get('samples')} samples every "
                 f"{(everything.get('interval_s') or 0) * 1000:.0f} ms)",
                 f"flat: peak < before + {EXPORT_RSS_GROWTH_BYTES // MIB} MiB",
                 growth is not None and growth < EXPORT_RSS_GROWTH_BYTES))
    if ordered:
        rows.append((f"{store}: the same export with `{ordered['path'].split('?', 1)[-1]}` "
                     "(rows sorted first)",
                     f"{ordered['seconds']:.1f} s for {ordered['records']:,} records, first "
                     f"byte after {ordered['first_byte_s']} s; VmRSS peak "
                     f"{fmt_bytes(ordered.get('peak_rss_bytes'))} (before "
                     f"{fmt_bytes(ordered.get('rss_before_bytes'))})", "-", None))
    return rows


def memory_row(step, mem):
    """The summary row of a server's memory at its end (target: peak < 2 GiB)."""
    return (step, f"peak {fmt_bytes(mem.get('VmHWM'))} (VmHWM), "
            f"now {fmt_bytes(mem.get('VmRSS'))} (VmRSS)", "< 2 GiB",
            mem.get("VmHWM") is not None and mem["VmHWM"] < 2 * GIB)


def cache_rows(store, entry):
    """Summary rows of the Redis cache phase: X-Cache-Hit over the warm mix, what Redis holds,
    the second instance's start-up and memory."""
    cache, redis, scale = (entry.get(k) or {} for k in ("cache", "redis", "scale_out"))
    rows = []
    if cache:
        bypassed, never = ", ".join(cache["bypassed"]), ", ".join(cache.get("never_hit") or [])
        rows.append((f"{store}: responses with `X-Cache-Hit: true`, warm query mix",
                     f"{fmt_share(cache['cacheable'])} of the {cache['cacheable']['requests']:,} "
                     "measured requests that allow the cache"
                     + (f" ({fmt_share(cache['all'])} of all {cache['all']['requests']:,}; "
                        f"{bypassed} sends `{NO_CACHE}`)" if bypassed else "")
                     + (f"; never from the cache: {never}" if never else ""), "-", None))
    if redis:
        rows.append((f"{store}: Redis after the warm mix (before the scale-out runs)",
                     f"/readyz says cache `{entry.get('readyz_cache')}`; "
                     f"the server skipped Redis {entry.get('redis_unavailable', '-')} times "
                     "during the mix (`redis unavailable` in its log); "
                     f"{redis['keys']:,} keys; keyspace hits {redis['keyspace_hits']:,}, misses "
                     f"{redis['keyspace_misses']:,}"
                     + ("; nothing reached Redis, so the cache hits came from the in-process "
                        "cache (a build without the Redis cache ignores `CONTACTS_REDIS_URL`)"
                        if redis["keys"] == 0 and cache.get("all", {}).get("cache_hits") else ""),
                     "-", None))
    if scale.get("second_startup"):
        rows.append((f"{store}: second serve instance, start-up to ready",
                     f"{scale['second_startup']['ready_s']:.1f} s", "-", None))
    if scale.get("second_memory"):
        rows.append(memory_row(f"{store}: second instance's memory at the end",
                               scale["second_memory"]))
    return rows


def http_import_rows(hi, store, targets):
    """Summary rows of the HTTP import phase on `store`; its time and rate are judged only
    with `targets` (the embedded store's targets; the issue sets none on PostgreSQL, where
    only a job that does not complete fails)."""
    rows = []
    if hi.get("upload_s") is not None:
        rows.append((f"{store}: HTTP upload of the {hi['rows']:,}-row CSV "
                     f"({hi['csv_bytes'] / 1e6:,.0f} MB)",
                     f"{fmt_s(hi['upload_s'])} s, {hi.get('upload_mb_per_s') or 0:,.0f} MB/s "
                     f"(answered {hi.get('upload_status')})", "-", None))
    if hi.get("job_id") is not None:
        total_s, rows_n = hi.get("total_s"), hi.get("total_rows") or hi["rows"]
        status = hi.get("status")
        completed = status == "completed"

        def judged(target, passed):
            return (target, completed and passed) if targets else \
                ("completed", None if completed else False)

        step = f"{store}: HTTP import: upload start to job `completed`"
        time_target = f"< {HTTP_IMPORT_S_PER_1M} s for 1M rows"
        if total_s is None:
            rows.append((step, f"job not finished (status {status})",
                         *judged(time_target, False)))
        else:
            per_million = total_s * 1_000_000 / max(rows_n, 1)
            note = "" if rows_n == 1_000_000 else f"; {per_million:.1f} s per 1M rows (extrapolated)"
            rows.append((step, f"{total_s:.1f} s (upload {fmt_s(hi['upload_s'])} s, job seen "
                         f"running after {hi.get('running_seen_s') or 0:.1f} s){note}",
                         *judged(time_target, per_million < HTTP_IMPORT_S_PER_1M)))
        rps = hi.get("rows_per_s")
        counters = (f"status {status}, total_rows {fmt_int(hi.get('total_rows'))}, "
                    f"success {fmt_int(hi.get('success_count'))}, errors "
                    f"{fmt_int(hi.get('error_count'))}; server counts "
                    f"{fmt_int(hi.get('count_after'))} contacts")
        rows.append((f"{store}: HTTP import rows/s (total_rows / time from upload start)",
                     (f"{rps:,} rows/s; " if rps is not None else "") + counters,
                     *judged(f">= {HTTP_IMPORT_ROWS_PER_S:,} rows/s, completed",
                             rps is not None and rps >= HTTP_IMPORT_ROWS_PER_S)))
    re = hi.get("reimport") or {}
    if re.get("job_id") is not None:
        rows.append((f"{store}: HTTP re-import of the same file (every row an update; Q1/Q3 "
                     "measured during this job)",
                     f"{fmt_s(re.get('total_s') or 0)} s to `completed`, "
                     f"{fmt_int(re.get('rows_per_s'))} rows/s; status {re.get('status')}, "
                     f"server counts {fmt_int(re.get('count_after'))} contacts (rows without an "
                     f"e-mail are created again, as contract section 8 says)", "-", None))
    mem = hi.get("memory") or {}
    if mem.get("peak_rss_bytes") is not None:
        rows.append((f"{store}: server memory during upload + job (1 worker)",
                     f"peak VmRSS {fmt_bytes(mem['peak_rss_bytes'])} ({mem['samples']} samples "
                     f"every {mem['interval_s'] * 1000:.0f} ms; idle before "
                     f"{fmt_bytes(hi.get('idle_rss_bytes'))}), VmHWM at the end "
                     f"{fmt_bytes(mem.get('VmHWM'))}", "-", None))
    return rows


def upload_memory_rows(up):
    """The summary row of the upload memory check."""
    if up.get("upload_s") is None:
        return []
    return [(f"upload memory check: {up['file_bytes'] / GIB:.2f} GiB CSV, no workers (SQLite)",
             f"peak VmRSS {fmt_bytes(up.get('peak_rss_bytes'))} (idle before "
             f"{fmt_bytes(up.get('idle_rss_bytes'))}, VmHWM {fmt_bytes(up.get('VmHWM'))}); "
             f"{fmt_s(up['upload_s'])} s, {up.get('mb_per_s') or 0:,.0f} MB/s "
             f"(answered {up.get('upload_status')})",
             f"peak < {UPLOAD_RSS_BYTES // MIB} MiB",
             up.get("upload_status") == 201 and up.get("peak_rss_bytes") is not None
             and up["peak_rss_bytes"] < UPLOAD_RSS_BYTES)]


def fmt_s(value):
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def fmt_int(value):
    return f"{value:,}" if isinstance(value, int) else "-"


def short_path(paths):
    first = paths[0] if len(paths[0]) <= 80 else paths[0][:76] + "…"
    more = f" (+{len(paths) - 1} more)" if len(paths) > 1 else ""
    return f"`{first}`{more}"


def query_entries(entry):
    """A store's measured queries: the mix, the concurrent run, the readers during import."""
    return entry.get("queries", []) + ([entry["concurrent"]] if entry.get("concurrent") else []) \
        + (entry.get("http_import") or {}).get("queries", [])


def side_by_side(results):
    """One row per query, p50 and p99 per store."""
    order = results["store_order"]
    by_store = {s: {q["id"]: q for q in query_entries(results["stores"].get(s) or {})}
                for s in order}
    ids = list(dict.fromkeys(qid for s in order for qid in by_store[s]))
    if not ids:
        return []
    lines = ["| query | target | " + " | ".join(f"{s} p50 ms | {s} p99 ms" for s in order) + " |",
             "|---|---|" + "---:|---:|" * len(order)]
    for qid in ids:
        cells = []
        for store in order:
            q = by_store[store].get(qid)
            if (results["stores"].get(store) or {}).get("unavailable"):
                cells += [NOT_AVAILABLE, "n/a"]
            elif q is None or q.get("p99_ms") is None:
                cells += ["not measured" if q else "-", "-"]
            else:
                p99 = fmt_ms(q["p99_ms"])
                cells += [fmt_ms(q.get("p50_ms")),
                          f"**{p99} FAIL**" if q.get("passed") is False else p99]
        lines.append(f"| {qid} | {target_cell(qid, order, by_store)} | " + " | ".join(cells) + " |")
    return lines


def target_cell(qid, order, by_store):
    """`p99 < X ms`, the first store's target, and the stores whose target differs."""
    targets = {s: by_store[s][qid]["target_p99_ms"] for s in order if qid in by_store[s]}
    first = next(iter(targets.values()))
    others = [f"{s}: < {t} ms" for s, t in targets.items() if t != first]
    return f"p99 < {first} ms" + (f" ({'; '.join(others)})" if others else "")


def detail_table(store, entry):
    """The full query table of one store (path, requests, verdict, sanity)."""
    queries = query_entries(entry)
    if not queries:
        return []
    hits = any("cache_hit_ratio" in q for q in queries)  # the warm mix of postgresql-redis
    lines = ["", f"#### {store}: {STORE_TITLES[store]}", "",
             "| query | path | requests | p50 ms | p99 ms | target | result |"
             + (" X-Cache-Hit |" if hits else "") + " sanity |",
             "|---|---|---:|---:|---:|---|---|" + ("---:|" if hits else "") + "---|"]
    for q in queries:
        lines.append(f"| {q['id']} | {short_path(q['paths'])} | {q.get('requests', '-')} | "
                     f"{fmt_ms(q.get('p50_ms'))} | {fmt_ms(q.get('p99_ms'))} | "
                     f"p99 < {q['target_p99_ms']} ms | {verdict(q.get('passed'))} | "
                     + (f"{fmt_share(q)} | " if hits else "") + f"{q.get('sanity', '')} |")
    return lines


def scale_out_table(store, scale):
    """Q3 from N clients on one serve instance and over two, cache warm and bypassed."""
    runs = scale.get("runs") or []
    if not runs:
        return []
    lines = ["", f"#### {store}: Q3 from {scale['clients']} clients for {scale['seconds']:g} s, "
             "one serve instance and two (same database, same Redis)", "",
             "| cache | instances | req/s | vs 1 instance | p50 ms | p99 ms | X-Cache-Hit | "
             "Redis skipped | requests per instance | result |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    one = {r["cache"]: r["rps"] for r in runs if r["instances"] == 1}
    for r in runs:
        base = one.get(r["cache"])
        gain = f"{r['rps'] / base:.2f}×" if base else "-"
        split = " / ".join(f"{e['requests']:,}" for e in r.get("endpoints") or [])
        cache = "warm" if r["cache"] == "warm" else f"{r['cache']} (`{NO_CACHE}`)"
        lines.append(f"| {cache} | {r['instances']} | {r['rps']:,.0f} | {gain} | "
                     f"{fmt_ms(r.get('p50_ms'))} | "
                     f"{fmt_ms(r.get('p99_ms'))} | {fmt_share(r)} | "
                     f"{r.get('redis_unavailable', '-')} | {split} | "
                     f"{verdict(r.get('passed'))} |")
    return lines + ["", "*Redis skipped*: how often the instances logged `redis unavailable` "
                    "during the run (a Redis reply later than `CONTACTS_REDIS_TIMEOUT_MS`, "
                    "default 10 ms; the instance then answers without the shared cache until "
                    "its background reconnect succeeds, about 0.5 s later)."]


def markdown(results):
    m = results["machine"]
    lines = [f"### contacts-api benchmark, {results['rows']:,} rows", "",
             f"Machine: {m['nproc']} × {m['cpu_model'] or 'unknown CPU'}, {m['memory']} RAM, "
             f"Linux {m['kernel']}; commit `{m['commit']}`; {m['date']}. "
             "Response cache off (`CONTACTS_CACHE_ENABLED=false`)"
             + (", except on `postgresql-redis`." if REDIS_STORE in results["store_order"]
                else "."), "",
             "Stores: " + "; ".join(f"`{s}`: {STORE_TITLES[s]}" for s in results["store_order"])
             + ".", "",
             "| step | figure | target | result |", "|---|---|---|---|"]
    for step, figure, target, passed in summary_rows(results):
        lines.append(f"| {step} | {figure} | {target} | {verdict(passed)} |")
    table = side_by_side(results)
    if table:
        lines += [""] + table
    for store in results["store_order"]:
        lines += detail_table(store, results["stores"].get(store) or {})
        lines += scale_out_table(store, (results["stores"].get(store) or {}).get("scale_out") or {})
    missed = results["missed_targets"]
    if results.get("error"):
        lines += ["", f"Run aborted or incomplete: {results['error']}"]
    if missed:
        lines += ["", "Missed targets: " + ", ".join(missed)]
    elif not results.get("error"):
        lines += ["", "All targets met."]
    return "\n".join(lines) + "\n"


def missed_targets(results):
    missed = [step for step, _, _, passed in summary_rows(results) if passed is False]
    for store in results["store_order"]:
        entry = results["stores"].get(store) or {}
        runs = (entry.get("scale_out") or {}).get("runs") or []
        missed += [f"{store} {q['id']}" for q in query_entries(entry) + runs
                   if q.get("passed") is False]
    return missed
