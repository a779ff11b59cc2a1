"""A `hadoop` stand-in for the analytics job (docs/operations.md, "Analytics engines"):

    hadoop jar JAR DATABASE.TABLE OUTPUT   counts the lake's table into OUTPUT/part-r-00000
    hadoop fs -cat OUTPUT/part-*           prints those files
    hadoop fs -rm -r -f -skipTrash OUTPUT  removes OUTPUT

The lake and the behaviour come from FAKE_HADOOP_DDL, FAKE_HADOOP_CSV, FAKE_HADOOP_MODE_FILE
and FAKE_HADOOP_LOG (the service passes its environment on to the child)."""
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lake  # noqa: E402


def main(argv):
    env = os.environ
    lake.log(env["FAKE_HADOOP_LOG"], "hadoop " + " ".join(argv))
    current = lake.mode(env["FAKE_HADOOP_MODE_FILE"])
    if argv[:1] == ["jar"] and len(argv) == 4:
        _jar, table, output = argv[1], argv[2], argv[3]
        lake.maybe_sleep(current)
        if current == "error":
            sys.stderr.write("Exception in thread main: Table not found %s\n" % table)
            return 2
        data = lake.Lake(env["FAKE_HADOOP_DDL"], env["FAKE_HADOOP_CSV"])
        if table != "%s.%s" % (data.database, data.table):
            sys.stderr.write("no such table %s\n" % table)
            return 2
        os.makedirs(output)
        lines = ["total\t%d" % len(data.rows)]
        for col in ("country", "industry"):
            counts = {}
            for r in data.rows:
                if r[col]:
                    counts[r[col]] = counts.get(r[col], 0) + 1
            lines += ["%s\t%s\t%d" % (col, v, n) for v, n in counts.items()]
        if current == "malformed":
            lines = ["<html><body>Job history server unavailable</body></html>"]
        with open(os.path.join(output, "part-r-00000"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        open(os.path.join(output, "_SUCCESS"), "w").close()
        return 0
    if argv[:2] == ["fs", "-cat"] and len(argv) == 3:
        for path in sorted(glob.glob(argv[2])):
            with open(path, "rb") as f:
                sys.stdout.buffer.write(f.read())
        return 0
    if argv[:2] == ["fs", "-rm"]:
        shutil.rmtree(argv[-1], ignore_errors=True)
        return 0
    sys.stderr.write("fake hadoop: unsupported %s\n" % argv)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
