"""Export phase of the benchmark (see run_bench.py and docs/benchmarks.md).

GET /api/contacts/export/ of every contact over HTTP from a server that has the whole data
set loaded: the time until the last byte, the bytes and records received, and the server's
VmRSS sampled every 50 ms during the export against its VmRSS just before (a streamed export
keeps it flat). Then the same with an ordering the read index has no order for
(`-employees,country`: the matching rows are sorted once, 4 bytes per row), for information.

Python 3 standard library only. The body is read with http.client (which undoes the chunked
transfer encoding) into one reused 1 MiB buffer; records are counted by their CRLF line ends
(the generated data has no line breaks inside values).
"""
import http.client
import time

from http_import import RssSampler, proc_status

EXPORT_PATH = "/api/contacts/export/"
EXPORT_TARGET_S_PER_1M = 10
EXPORT_RSS_GROWTH_BYTES = 64 * 1024 * 1024
SORTED_ORDERING = "-employees,country"
BUFFER = 1024 * 1024


def timed_export(port, path, timeout):
    """GET `path`, read to the end; returns its figures."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        return read_export(conn, path, start)
    except http.client.HTTPException as e:  # e.g. IncompleteRead: the body was cut short
        raise RuntimeError(f"export {path}: {e!r}") from e
    finally:
        conn.close()


def read_export(conn, path, start):
    """Sends the GET on `conn` and reads the body into one reused buffer, counting CRLFs."""
    buffer = bytearray(BUFFER)
    conn.request("GET", path)
    resp = conn.getresponse()
    headers = {k.lower(): v for k, v in resp.getheaders()}
    received, line_ends, first_byte_s, last = 0, 0, None, 0
    while True:
        n = resp.readinto(buffer)
        if not n:
            break
        if first_byte_s is None:
            first_byte_s = time.monotonic() - start
        line_ends += buffer.count(b"\r\n", 0, n)
        if last == 13 and buffer[0] == 10:  # a CRLF split across two reads
            line_ends += 1
        last = buffer[n - 1]
        received += n
    seconds = time.monotonic() - start
    return {"path": path, "status": resp.status, "seconds": round(seconds, 3),
            "first_byte_s": None if first_byte_s is None else round(first_byte_s, 3),
            "bytes": received, "records": max(line_ends - 1, 0),
            "mb_per_s": round(received / 1e6 / seconds, 1) if seconds > 0 else None,
            "content_type": headers.get("content-type"),
            "transfer_encoding": headers.get("transfer-encoding")}


def measured_export(pid, port, path, timeout):
    """timed_export with the server's VmRSS before, sampled during, and after."""
    before = proc_status(pid).get("VmRSS")
    with RssSampler(pid, interval=0.05) as sampler:
        figures = timed_export(port, path, timeout)
    figures.update(sampler.result(), rss_before_bytes=before,
                   rss_after_bytes=proc_status(pid).get("VmRSS"))
    peak = figures.get("peak_rss_bytes")
    figures["rss_growth_bytes"] = None if peak is None or before is None else peak - before
    return figures


def run_export(port, pid, expected_rows, log, timeout=900):
    """The export phase on a ready server; returns its figures (raises on a failed export)."""
    result = {"expected_rows": expected_rows}
    for key, path in (("all", EXPORT_PATH),
                      ("sorted", f"{EXPORT_PATH}?ordering={SORTED_ORDERING}")):
        figures = measured_export(pid, port, path, timeout)
        result[key] = figures
        log(f"export {path}: {figures['seconds']:.2f} s, {figures['records']:,} records, "
            f"{figures['bytes'] / 1e6:,.0f} MB ({figures['mb_per_s']} MB/s), first byte after "
            f"{figures['first_byte_s']} s; VmRSS {mib(figures['rss_before_bytes'])} before, "
            f"peak {mib(figures['peak_rss_bytes'])} during "
            f"({figures['samples']} samples)")
        if figures["status"] != 200:
            raise RuntimeError(f"export {path} answered {figures['status']}")
    everything = result["all"]
    per_million = everything["seconds"] * 1_000_000 / max(expected_rows, 1)
    result["seconds_per_1m"] = round(per_million, 2)
    result["passed_time"] = (everything["records"] == expected_rows
                             and per_million < EXPORT_TARGET_S_PER_1M)
    growth = everything["rss_growth_bytes"]
    result["passed_memory"] = growth is not None and growth < EXPORT_RSS_GROWTH_BYTES
    return result


def mib(value):
    return "-" if value is None else f"{value / 1024 / 1024:.0f} MiB"
