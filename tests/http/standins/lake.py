"""The "data lake" the analytics stand-ins answer from: the CSV `contacts-api export` wrote,
read through the table `contacts-api export --hive-ddl` declares (columns by position, header
line skipped, as Hive's OpenCSVSerde reads it), and the two SQL shapes the service sends
(src/analytics/engine.cpp), evaluated as Hive/Spark SQL would."""
import csv
import os
import re
import time

TOTAL_RE = re.compile(r"^SELECT COUNT\(\*\) AS total FROM `(\w+)`\.`(\w+)`$")
TOP_RE = re.compile(
    r"^SELECT (\w+), total FROM \(SELECT (\w+), total, RANK\(\) OVER \(ORDER BY total DESC\) "
    r"AS value_rank FROM \(SELECT (\w+), COUNT\(\*\) AS total FROM `(\w+)`\.`(\w+)` WHERE (\w+) "
    r"IS NOT NULL AND (\w+) <> '' GROUP BY (\w+)\) grouped\) ranked WHERE value_rank <= (\d+) "
    r"ORDER BY total DESC, (\w+)$")
COLUMN_RE = re.compile(r"^\s*`(\w+)` STRING,?$")
TABLE_RE = re.compile(r"CREATE EXTERNAL TABLE IF NOT EXISTS `(\w+)`\.`(\w+)`")


class SqlError(Exception):
    pass


class Lake:
    def __init__(self, ddl_path, csv_path):
        with open(ddl_path, encoding="utf-8") as f:
            ddl = f.read()
        self.database, self.table = TABLE_RE.search(ddl).groups()
        self.columns = [m.group(1) for line in ddl.splitlines() for m in [COLUMN_RE.match(line)] if m]
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        self.rows = [dict(zip(self.columns, r)) for r in rows]

    def check_table(self, database, table):
        if (database, table) != (self.database, self.table):
            raise SqlError("Table or view not found: %s.%s" % (database, table))

    def run(self, sql):
        """(column names, rows) of `sql`; SqlError for anything else."""
        m = TOTAL_RE.match(sql)
        if m:
            self.check_table(*m.groups())
            return ["total"], [[len(self.rows)]]
        m = TOP_RE.match(sql)
        if m:
            col = m.group(1)
            if len({m.group(i) for i in (1, 2, 3, 6, 7, 8, 10)}) != 1 or col not in self.columns:
                raise SqlError("cannot resolve column in: " + sql)
            self.check_table(m.group(4), m.group(5))
            limit = int(m.group(9))
            counts = {}
            for r in self.rows:
                v = r[col]
                if v != "":
                    counts[v] = counts.get(v, 0) + 1
            ranked = [(v, n) for v, n in counts.items()
                      if 1 + sum(1 for other in counts.values() if other > n) <= limit]
            ranked.sort(key=lambda vn: (-vn[1], vn[0]))
            return [col, "total"], [[v, n] for v, n in ranked]
        raise SqlError("ParseException: cannot parse: " + sql[:80])


def mode(path):
    """The stand-in's behaviour, re-read at each request: "ok", "slow:SECONDS", "malformed",
    "error", "rowbased" (HiveServer2 only)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip() or "ok"
    except OSError:
        return "ok"


def maybe_sleep(current):
    if current.startswith("slow:"):
        time.sleep(float(current.split(":", 1)[1]))


def log(path, line):
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
