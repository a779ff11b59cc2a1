"""Markdown report of a benchmark run (see run_bench.py); Python 3 standard library only."""

GIB = 1024 ** 3


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
    return rows


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
                                            if results.get("concurrent") else [])
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
    return missed
