"""A strict reader of the Prometheus text exposition format (version 0.0.4), as /metrics
writes it: every sample belongs to a family declared by HELP then TYPE lines before it, a
family's samples are contiguous, no series appears twice, counters end in _total, histogram
buckets are cumulative with `le` ascending up to +Inf, which equals _count. Raises
AssertionError naming the offending line."""
import math
import re

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE_RE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)$" % NAME)
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
HELP_RE = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def parse_labels(text, line):
    labels = {}
    pos = 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        if not m:
            raise AssertionError("malformed labels: %r" % line)
        name = m.group(1)
        if name in labels:
            raise AssertionError("label %s twice: %r" % (name, line))
        labels[name] = re.sub(r'\\[\\"n]', lambda e: UNESCAPE[e.group(0)], m.group(2))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise AssertionError("malformed labels: %r" % line)
            pos += 1
    return labels


def parse_value(text, line):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.match(r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$", text):
        raise AssertionError("malformed value: %r" % line)
    return float(text)


class Exposition:
    """The samples of one /metrics page: {(name, frozenset(labels.items())): value}."""

    def __init__(self, text):
        if not text.endswith("\n"):
            raise AssertionError("the page must end with a newline")
        self.types = {}
        self.helps = {}
        self.samples = {}
        self.order = []           # family names in page order
        family = None             # the family whose samples may follow
        pending_help = None
        for line in text[:-1].split("\n"):
            m = HELP_RE.match(line)
            if m:
                if m.group(1) in self.helps:
                    raise AssertionError("HELP twice: %r" % line)
                pending_help = m.group(1)
                self.helps[m.group(1)] = m.group(2)
                continue
            m = TYPE_RE.match(line)
            if m:
                name = m.group(1)
                if name in self.types or pending_help != name:
                    raise AssertionError("TYPE twice or without its HELP just before: %r" % line)
                self.types[name] = m.group(2)
                self.order.append(name)
                family, pending_help = name, None
                continue
            m = SAMPLE_RE.match(line)
            if not m:
                raise AssertionError("not a sample line: %r" % line)
            name, labels = m.group(1), parse_labels(m.group(2) or "", line)
            self.check_family(name, family, line)
            key = (name, frozenset(labels.items()))
            if key in self.samples:
                raise AssertionError("series twice: %r" % line)
            self.samples[key] = parse_value(m.group(3), line)
        self.check_histograms()

    def check_family(self, name, family, line):
        if family is None:
            raise AssertionError("sample before any TYPE: %r" % line)
        kind = self.types[family]
        if kind == "histogram":
            ok = name in (family + "_bucket", family + "_sum", family + "_count")
        else:
            ok = name == family
        if not ok:
            raise AssertionError("sample %s outside its family (%s %s)" % (name, kind, family))
        if kind == "counter" and not family.endswith("_total"):
            raise AssertionError("counter %s does not end in _total" % family)

    def check_histograms(self):
        for family, kind in self.types.items():
            if kind != "histogram":
                continue
            series = {}
            for (name, labels), value in self.samples.items():
                if name == family + "_bucket":
                    rest = frozenset((k, v) for k, v in labels if k != "le")
                    le = dict(labels)["le"]
                    series.setdefault(rest, []).append((float(le.replace("+Inf", "inf")), value))
            for rest, buckets in series.items():
                buckets.sort()
                if buckets[-1][0] != math.inf:
                    raise AssertionError("%s %s has no +Inf bucket" % (family, dict(rest)))
                counts = [v for _, v in buckets]
                if counts != sorted(counts):
                    raise AssertionError("%s %s buckets are not cumulative: %s" % (
                        family, dict(rest), buckets))
                if self.samples.get((family + "_count", rest)) != counts[-1]:
                    raise AssertionError("%s %s: +Inf bucket differs from _count" % (
                        family, dict(rest)))
                if (family + "_sum", rest) not in self.samples:
                    raise AssertionError("%s %s has no _sum" % (family, dict(rest)))

    def get(self, name, **labels):
        """The value of one series; 0 when it is absent (a counter never incremented)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def series(self, name):
        """{frozenset(labels.items()): value} of every series named `name`."""
        return {labels: v for (n, labels), v in self.samples.items() if n == name}

    def buckets(self, family, **labels):
        """[(le, cumulative count)] of one histogram series, le ascending."""
        out = []
        for (name, lab), v in self.samples.items():
            d = dict(lab)
            if name == family + "_bucket" and {k: x for k, x in d.items() if k != "le"} == labels:
                out.append((float(d["le"].replace("+Inf", "inf")), v))
        return sorted(out)


def delta(before, after, name):
    """{frozenset(labels): change} of every series named `name` that changed."""
    a, b = after.series(name), before.series(name)
    out = {}
    for labels in set(a) | set(b):
        d = a.get(labels, 0.0) - b.get(labels, 0.0)
        if d:
            out[labels] = d
    return out


def labels(**kw):
    return frozenset(kw.items())
