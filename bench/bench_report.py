"""Markdown report of a benchmark run (see run_bench.py); Python 3 standard library only."""

GIB = 1024 ** 3
MIB = 1024 ** 2
# Targets of the HTTP import phase (see http_import.py and docs/benchmarks.md).
HTTP_IMPORT_S_PER_1M = 60
HTTP_IMPORT_ROWS_PER_S = 20_000
UPLOAD_RSS_BYTES = 300 * MIB


def fmt_ms(value):
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def fmt_bytes(value):
    return "-" if value is None else f"{value / GIB:.2f} GiB" if value >= GIB / 2 \
        else f"{value / 1024 ** 2:.0f} MiB"


def verdict(passed):
    return "-" if passed is None else "pass" if passed else "**FAIL**"


def summary_rows(results):
    """(step, figure, target, passed) rows for generation, import, start-up and memory."""
    rows_n = results["rows"]
    gen, imp, start, mem = (results.get(k) or {} for k in ("generate", "import", "startup",
                                                           "memory"))
    rows = []
    if gen:
        rows.append((f"generate {rows_n:,} rows", f"{gen.get('seconds', 0):.1f} s"
                     + (" (file reused)" if gen.get("reused") else ""), "-", None))
    if imp:
        seconds = imp.get("seconds") or 0
        per_million = seconds * 1_000_000 / rows_n
        note = "" if rows_n == 1_000_000 else f"; {per_million:.1f} s per 1M rows (extrapolated)"
        rows.append((f"import {rows_n:,} rows", f"{seconds:.1f} s, {imp.get('rows_per_s') or 0:,}"
                     f" rows/s{note}" + (" (data reused)" if imp.get("reused") else ""),
                     "< 60 s for 1M rows", per_million < 60))
    if start:
        rows.append(("start-up to ready (index built, count right)",
                     f"{start['ready_s']:.1f} s (listening after {start['listening_s']:.1f} s)"
                     + (f"; server counts {start['count']:,} contacts, the import reported "
                        f"{start['import_reported']:,} new" if "import_reported" in start else ""),
                     "-", None))
    if mem:
        rows.append(("server memory at the end", f"peak {fmt_bytes(mem.get('VmHWM'))} (VmHWM), "
                     f"now {fmt_bytes(mem.get('VmRSS'))} (VmRSS)", "< 2 GiB",
                     mem.get("VmHWM") is not None and mem["VmHWM"] < 2 * GIB))
    rows += http_import_rows(results)
    return rows


def http_import_rows(results):
    """Summary rows of the HTTP import phase and the upload memory check."""
    rows = []
    hi, up = results.get("http_import") or {}, results.get("upload_memory") or {}
    if hi.get("upload_s") is not None:
        rows.append((f"HTTP upload of the {hi['rows']:,}-row CSV ({hi['csv_bytes'] / 1e6:,.0f} MB)",
                     f"{fmt_s(hi['upload_s'])} s, {hi.get('upload_mb_per_s') or 0:,.0f} MB/s "
                     f"(answered {hi.get('upload_status')})", "-", None))
    if hi.get("job_id") is not None:
        total_s, rows_n = hi.get("total_s"), hi.get("total_rows") or hi["rows"]
        status = hi.get("status")
        if total_s is None:
            rows.append(("HTTP import: upload start to job `completed`",
                         f"job not finished (status {status})",
                         f"< {HTTP_IMPORT_S_PER_1M} s for 1M rows", False))
        else:
            per_million = total_s * 1_000_000 / max(rows_n, 1)
            note = "" if rows_n == 1_000_000 else f"; {per_million:.1f} s per 1M rows (extrapolated)"
            rows.append(("HTTP import: upload start to job `completed`",
                         f"{total_s:.1f} s (upload {fmt_s(hi['upload_s'])} s, job seen running "
                         f"after {hi.get('running_seen_s') or 0:.1f} s){note}",
                         f"< {HTTP_IMPORT_S_PER_1M} s for 1M rows",
                         status == "completed" and per_million < HTTP_IMPORT_S_PER_1M))
        rps = hi.get("rows_per_s")
        counters = (f"status {status}, total_rows {fmt_int(hi.get('total_rows'))}, "
                    f"success {fmt_int(hi.get('success_count'))}, errors "
                    f"{fmt_int(hi.get('error_count'))}; server counts "
                    f"{fmt_int(hi.get('count_after'))} contacts")
        rows.append(("HTTP import rows/s (total_rows / time from upload start)",
                     (f"{rps:,} rows/s; " if rps is not None else "") + counters,
                     f">= {HTTP_IMPORT_ROWS_PER_S:,} rows/s, completed",
                     status == "completed" and rps is not None and rps >= HTTP_IMPORT_ROWS_PER_S))
    re = hi.get("reimport") or {}
    if re.get("job_id") is not None:
        rows.append(("HTTP re-import of the same file (every row an update; Q1/Q3 measured "
                     "during this job)",
                     f"{fmt_s(re.get('total_s') or 0)} s to `completed`, "
                     f"{fmt_int(re.get('rows_per_s'))} rows/s; status {re.get('status')}, "
                     f"server counts {fmt_int(re.get('count_after'))} contacts (rows without an "
                     f"e-mail are created again, as contract section 8 says)", "-", None))
    mem = hi.get("memory") or {}
    if mem.get("peak_rss_bytes") is not None:
        rows.append(("server memory during upload + job (1 worker)",
                     f"peak VmRSS {fmt_bytes(mem['peak_rss_bytes'])} ({mem['samples']} samples "
                     f"every {mem['interval_s'] * 1000:.0f} ms; idle before "
                     f"{fmt_bytes(hi.get('idle_rss_bytes'))}), VmHWM at the end "
                     f"{fmt_bytes(mem.get('VmHWM'))}", "-", None))
    if up.get("upload_s") is not None:
        rows.append((f"upload memory check: {up['file_bytes'] / GIB:.2f} GiB CSV, no workers",
                     f"peak VmRSS {fmt_bytes(up.get('peak_rss_bytes'))} (idle before "
                     f"{fmt_bytes(up.get('idle_rss_bytes'))}, VmHWM {fmt_bytes(up.get('VmHWM'))}); "
                     f"{fmt_s(up['upload_s'])} s, {up.get('mb_per_s') or 0:,.0f} MB/s "
                     f"(answered {up.get('upload_status')})",
                     f"peak < {UPLOAD_RSS_BYTES // MIB} MiB",
                     up.get("upload_status") == 201 and up.get("peak_rss_bytes") is not None
                     and up["peak_rss_bytes"] < UPLOAD_RSS_BYTES))
    return rows


def fmt_s(value):
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def fmt_int(value):
    return f"{value:,}" if isinstance(value, int) else "-"


def short_path(paths):
    first = paths[0] if len(paths[0]) <= 80 else paths[0][:76] + "…"
    more = f" (+{len(paths) - 1} more)" if len(paths) > 1 else ""
    return f"`{first}`{more}"


def markdown(results):
    m = results["machine"]
    lines = [f"### contacts-api benchmark, {results['rows']:,} rows", "",
             f"Machine: {m['nproc']} × {m['cpu_model'] or 'unknown CPU'}, {m['memory']} RAM, "
             f"Linux {m['kernel']}; commit `{m['commit']}`; {m['date']}. "
             "Response cache off (`CONTACTS_CACHE_ENABLED=false`).", "",
             "| step | figure | target | result |", "|---|---|---|---|"]
    for step, figure, target, passed in summary_rows(results):
        lines.append(f"| {step} | {figure} | {target} | {verdict(passed)} |")
    queries = results.get("queries", []) + ([results["concurrent"]]
                                            if results.get("concurrent") else []) \
        + (results.get("http_import") or {}).get("queries", [])
    if queries:
        lines += ["", "| query | path | requests | p50 ms | p99 ms | target | result | sanity |",
                  "|---|---|---:|---:|---:|---|---|---|"]
    for q in queries:
        lines.append(f"| {q['id']} | {short_path(q['paths'])} | {q.get('requests', '-')} | "
                     f"{fmt_ms(q.get('p50_ms'))} | {fmt_ms(q.get('p99_ms'))} | "
                     f"p99 < {q['target_p99_ms']} ms | {verdict(q.get('passed'))} | "
                     f"{q.get('sanity', '')} |")
    missed = results["missed_targets"]
    if results.get("error"):
        lines += ["", f"Run aborted: {results['error']}"]
    elif missed:
        lines += ["", "Missed targets: " + ", ".join(missed)]
    else:
        lines += ["", "All targets met."]
    return "\n".join(lines) + "\n"


def missed_targets(results):
    missed = [step for step, _, _, passed in summary_rows(results) if passed is False]
    missed += [q["id"] for q in results.get("queries", []) if not q.get("passed")]
    if results.get("concurrent") and not results["concurrent"].get("passed"):
        missed.append(results["concurrent"]["id"])
    missed += [q["id"] for q in (results.get("http_import") or {}).get("queries", [])
               if q.get("passed") is False]
    return missed
