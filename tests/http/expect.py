"""Independent model of contacts-api, written from the spec (contacts-api.md + contract.md).

Nothing here comes from the server's code: CSV parsing, header mapping, validation and
upsert follow contract section 8; filters section 3; ordering section 4; count/analytics
section 5; field endpoints section 6.
"""
import csv
import datetime
import functools
import io
import json
import re

import icu  # Debian's python3-icu: an independent Unicode collation (UCA root, tertiary)

# --- the record --------------------------------------------------------------------------

# Text fields in the order of the reference payload.
TEXT_FIELDS = [
    "first_name", "last_name", "title", "company", "company_name_for_emails", "email",
    "email_status", "primary_email_catch_all_status", "seniority", "departments",
    "work_direct_phone", "home_phone", "mobile_phone", "corporate_phone", "other_phone",
    "stage", "industry", "keywords", "person_linkedin_url", "website",
    "company_linkedin_url", "facebook_url", "twitter_url", "city", "state", "country",
    "company_address", "company_city", "company_state", "company_country", "company_phone",
    "technologies", "latest_funding", "last_raised_at",
]
NUMBER_FIELDS = ["employees", "annual_revenue", "total_funding", "latest_funding_amount"]
TIME_FIELDS = ["created_at", "updated_at"]
# Every key of the retrieve payload.
RETRIEVE_KEYS = set(["id", "meta_data"] + TEXT_FIELDS + NUMBER_FIELDS + TIME_FIELDS)
LIST_KEYS = RETRIEVE_KEYS - {"meta_data"}

# Apollo export labels (contract section 8).
APOLLO_LABELS = {
    "First Name": "first_name", "Last Name": "last_name", "Title": "title",
    "Company": "company", "Company Name for Emails": "company_name_for_emails",
    "Email": "email", "Email Status": "email_status",
    "Primary Email Catch-all Status": "primary_email_catch_all_status",
    "Seniority": "seniority", "Departments": "departments",
    "Work Direct Phone": "work_direct_phone", "Home Phone": "home_phone",
    "Mobile Phone": "mobile_phone", "Corporate Phone": "corporate_phone",
    "Other Phone": "other_phone", "Stage": "stage", "# Employees": "employees",
    "Industry": "industry", "Keywords": "keywords",
    "Person Linkedin Url": "person_linkedin_url", "Website": "website",
    "Company Linkedin Url": "company_linkedin_url", "Facebook Url": "facebook_url",
    "Twitter Url": "twitter_url", "City": "city", "State": "state", "Country": "country",
    "Company Address": "company_address", "Company City": "company_city",
    "Company State": "company_state", "Company Country": "company_country",
    "Company Phone": "company_phone", "Technologies": "technologies",
    "Annual Revenue": "annual_revenue", "Total Funding": "total_funding",
    "Latest Funding": "latest_funding", "Latest Funding Amount": "latest_funding_amount",
    "Last Raised At": "last_raised_at",
}

# --- filters (reference "List Contacts") -----------------------------------------------

CONTAINS_FILTERS = [
    "first_name", "last_name", "title", "company", "company_name_for_emails", "email",
    "departments", "work_direct_phone", "home_phone", "mobile_phone", "corporate_phone",
    "other_phone", "city", "state", "country", "technologies", "keywords",
    "person_linkedin_url", "website", "company_linkedin_url", "facebook_url", "twitter_url",
    "company_address", "company_city", "company_state", "company_country", "company_phone",
    "industry", "latest_funding", "last_raised_at",
]
EXACT_FILTERS = ["email_status", "primary_email_catch_all_status", "stage", "seniority"]
RANGE_FILTERS = NUMBER_FIELDS
DATE_FILTERS = ["created_at_after", "created_at_before", "updated_at_after", "updated_at_before"]
SEARCH_FIELDS = ["first_name", "last_name", "title", "company", "email", "city", "state",
                 "country", "industry", "keywords", "technologies", "departments"]

# Contract section 4 (revision 2): id, every payload field but meta_data, the two times.
ORDERING_FIELDS = [
    "id", "first_name", "last_name", "title", "company", "company_name_for_emails", "email",
    "email_status", "primary_email_catch_all_status", "seniority", "departments",
    "work_direct_phone", "home_phone", "mobile_phone", "corporate_phone", "other_phone",
    "stage", "employees", "industry", "keywords", "person_linkedin_url", "website",
    "company_linkedin_url", "facebook_url", "twitter_url", "city", "state", "country",
    "company_address", "company_city", "company_state", "company_country", "company_phone",
    "technologies", "annual_revenue", "total_funding", "latest_funding",
    "latest_funding_amount", "last_raised_at", "created_at", "updated_at",
]
ORDERING_ERROR_LIST = ", ".join(ORDERING_FIELDS)

FIELD_ENDPOINTS = ["title", "company", "industry", "keywords", "technologies",
                   "company_address", "contact_address", "city", "state", "country",
                   "company_city", "company_state", "company_country"]

PAGE_SIZE_CAP = 100
NON_FILTER_PARAMS = {"ordering", "page_size", "limit", "offset", "cursor", "include_meta",
                     "use_replica", "distinct", "separated"}

# --- error messages (contract + decisions of the brief) ----------------------------------


def msg_non_negative(param):
    return "Invalid value for '%s': must be a non-negative integer." % param


def msg_positive(param):
    return "Invalid value for '%s': must be a positive integer." % param


def msg_boolean(param):
    return "Invalid value for '%s': expected true or false." % param


def msg_date(param):
    return "Invalid value for '%s': expected an ISO 8601 date or datetime." % param


def msg_ordering(bad_fields):
    return "Invalid ordering field(s): %s. Valid fields are: %s" % (
        ", ".join(bad_fields), ORDERING_ERROR_LIST)


MSG_UTF8 = "Query parameter is not valid UTF-8."
MSG_INVALID_CURSOR = "Invalid cursor"
MSG_NOT_FOUND = "Not found."
MSG_MALFORMED = "Malformed HTTP request."
MSG_HEADER_TOO_LARGE = "Request header fields too large."
MSG_URI_TOO_LONG = "Request URI too long."
MSG_SEARCH_TOO_LONG = ("Invalid value for 'search': at most 32 terms of at most 256 characters "
                       "in all.")


def msg_filter_too_long(param):
    return "Invalid value for '%s': at most 1024 characters." % param


def msg_method(method):
    return 'Method "%s" not allowed.' % method


# --- times -------------------------------------------------------------------------------

RFC3339_Z = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def parse_utc_ns(text):
    """RFC 3339 UTC timestamp with Z -> integer nanoseconds since the epoch (exact)."""
    m = RFC3339_Z.match(text)
    if not m:
        raise ValueError("not an RFC 3339 UTC timestamp with Z: %r" % (text,))
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "").ljust(9, "0")
    dt = datetime.datetime(y, mo, d, h, mi, s, tzinfo=datetime.timezone.utc)
    secs = (dt - _EPOCH) // datetime.timedelta(seconds=1)
    return secs * 1_000_000_000 + int(frac)


def format_with_offset(ts_ns, offset_minutes):
    """Nanosecond timestamp -> RFC 3339 string in the given UTC offset, nanosecond digits."""
    secs, frac = divmod(ts_ns, 1_000_000_000)
    tz = datetime.timezone(datetime.timedelta(minutes=offset_minutes))
    dt = datetime.datetime.fromtimestamp(secs, tz)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac_text = ("." + ("%09d" % frac).rstrip("0")) if frac else ""
    if offset_minutes == 0:
        return base + frac_text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    off = abs(offset_minutes)
    return "%s%s%s%02d:%02d" % (base, frac_text, sign, off // 60, off % 60)


def date_midnight_ns(date_text):
    d = datetime.date.fromisoformat(date_text)
    dt = datetime.datetime(d.year, d.month, d.day, tzinfo=datetime.timezone.utc)
    return ((dt - _EPOCH) // datetime.timedelta(seconds=1)) * 1_000_000_000


# --- CSV import model (contract section 8) ---------------------------------------------

ALL_API_FIELDS = TEXT_FIELDS + NUMBER_FIELDS
MAX_TEXT_BYTES = 65535
_INT_RE = re.compile(r"^(\d+|\d{1,3}(?:,\d{3})+)(?:\.0+)?$")
_EMAIL_RE = re.compile(r"^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$")
_TRIM = " \t\r\n\f\v"


def normalise_header(name):
    return "".join(c for c in name.lower() if c.isascii() and c.isalnum())


_KNOWN = {}
for _f in ALL_API_FIELDS:
    _KNOWN[normalise_header(_f)] = _f
for _label, _f in APOLLO_LABELS.items():
    assert _KNOWN[normalise_header(_label)] == _f


def map_header(name):
    """Header name -> API field name, or None (goes to meta_data)."""
    return _KNOWN.get(normalise_header(name))


def parse_int(text):
    """Numeric CSV value (already trimmed) -> int, None when empty; ValueError when invalid."""
    if text == "":
        return None
    m = _INT_RE.match(text)
    if not m:
        raise ValueError("not a non-negative integer: %r" % (text,))
    return int(m.group(1).replace(",", ""))


def has_surrogates(text):
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def read_csv_records(raw_bytes):
    """Bytes of a CSV file -> (header, [records]) with Python's csv module (RFC 4180).

    Invalid UTF-8 bytes survive as lone surrogates (surrogateescape) so the row can be
    recognised as invalid. Blank lines come back as [] records.
    """
    text = raw_bytes.decode("utf-8", errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = list(reader)
    return rows[0], rows[1:]


class ImportResult:
    def __init__(self):
        self.total_rows = 0
        self.success = 0
        self.errors = 0
        self.error_records = []   # original fields of each failed row, in file order
        self.error_reasons = []   # why the model rejects it (for messages only)


def validate_row(header, mapping, fields):
    """One data record -> (values dict, meta dict) or raises ValueError(reason)."""
    if len(fields) != len(header):
        raise ValueError("expected %d fields, got %d" % (len(header), len(fields)))
    if any(has_surrogates(f) for f in fields):
        raise ValueError("invalid UTF-8")
    values = {f: "" for f in TEXT_FIELDS}
    values.update({f: None for f in NUMBER_FIELDS})
    meta = {}
    for name, api, raw in zip(header, mapping, fields):
        value = raw.strip(_TRIM)
        if len(value.encode("utf-8")) > MAX_TEXT_BYTES:
            raise ValueError("text longer than 65535 bytes in %r" % name)
        if api is None:
            if value != "":
                meta[name] = value
        elif api in NUMBER_FIELDS:
            values[api] = parse_int(value)
        else:
            values[api] = value
    if values["email"] != "" and not _EMAIL_RE.match(values["email"]):
        raise ValueError("bad email %r" % values["email"])
    if values["first_name"] == "" and values["last_name"] == "" and values["email"] == "":
        raise ValueError("none of first_name, last_name, email")
    return values, meta


class StoreModel:
    """The expected content of the store after a sequence of imports."""

    def __init__(self):
        self.contacts = []   # list of dicts: 34 text, 4 numbers, meta_data, _seq, _import
        self.by_email = {}
        self.imports = []

    def import_bytes(self, raw_bytes, label):
        header, records = read_csv_records(raw_bytes)
        mapping = [map_header(h) for h in header]
        result = ImportResult()
        for fields in records:
            if fields == []:
                continue  # fully blank line: skipped, not counted
            result.total_rows += 1
            try:
                values, meta = validate_row(header, mapping, fields)
            except ValueError as e:
                result.errors += 1
                result.error_records.append(fields)
                result.error_reasons.append(str(e))
                continue
            result.success += 1
            record = dict(values)
            record["meta_data"] = meta
            record["_import"] = label
            key = values["email"].lower() if values["email"] else None
            if key is not None and key in self.by_email:
                old = self.by_email[key]
                record["_seq"] = old["_seq"]
                record["_created_import"] = old["_created_import"]
                old.clear()
                old.update(record)
            else:
                record["_seq"] = len(self.contacts)
                record["_created_import"] = label
                self.contacts.append(record)
                if key is not None:
                    self.by_email[key] = record
        self.imports.append((label, result))
        return header, result


def content_key(contact):
    """Comparable form of a contact's imported content (no id, no times)."""
    return json.dumps({k: contact.get(k) for k in TEXT_FIELDS + NUMBER_FIELDS + ["meta_data"]},
                      sort_keys=True, ensure_ascii=True)


# --- filters (contract section 3) -------------------------------------------------------


def fold(text):
    return text.casefold()


def contains(haystack, needle):
    return fold(needle) in fold(haystack)


def search_terms(value):
    return [t for t in re.split(r"[\s,]+", value) if t]


def matches(contact, params):
    """Does a dumped contact match the filter params (dict of name -> value)?"""
    for name, value in params.items():
        if name in CONTAINS_FILTERS:
            if value != "" and not contains(contact[name], value):
                return False
        elif name in EXACT_FILTERS:
            if value != "" and fold(contact[name]) != fold(value):
                return False
        elif name.endswith("_min") or name.endswith("_max"):
            field = name[:-4]
            assert field in NUMBER_FIELDS, name
            v = contact[field]
            if v is None:
                return False
            bound = int(value)
            if name.endswith("_min") and v < bound:
                return False
            if name.endswith("_max") and v > bound:
                return False
        elif name in DATE_FILTERS:
            field = name.rsplit("_", 1)[0]
            v = parse_utc_ns(contact[field])
            bound = bound_ns(value)
            if name.endswith("_after") and v < bound:
                return False
            if name.endswith("_before") and v > bound:
                return False
        elif name == "search":
            for term in search_terms(value):
                if not any(contains(contact[f], term) for f in SEARCH_FIELDS):
                    return False
        elif name not in NON_FILTER_PARAMS:
            pass  # unknown parameters are ignored (contract section 1)
    return True


def bound_ns(value):
    """Date filter value (RFC 3339 with Z or offset, or plain date) -> ns since epoch."""
    if re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        return date_midnight_ns(value)
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$", value)
    assert m, value
    base = datetime.datetime.fromisoformat(m.group(1) + (m.group(3) if m.group(3) != "Z" else "+00:00"))
    secs = (base - _EPOCH) // datetime.timedelta(seconds=1)
    frac = (m.group(2) or ".")[1:].ljust(9, "0")
    return secs * 1_000_000_000 + int(frac)


def is_filtered(params):
    """True when params contain at least one non-empty filter (incl. search)."""
    for name, value in params.items():
        if (name in CONTAINS_FILTERS or name in EXACT_FILTERS or name == "search"
                or name in DATE_FILTERS or name.endswith("_min") or name.endswith("_max")):
            if value != "":
                return True
    return False


# --- ordering (contract section 4) -------------------------------------------------------


def parse_ordering(text):
    spec = []
    for part in text.split(","):
        desc = part.startswith("-")
        spec.append((part[1:] if desc else part, desc))
    return spec


_COLLATOR = icu.Collator.createInstance(icu.Locale.getRoot())
_COLLATOR.setStrength(icu.Collator.TERTIARY)


def collate(a, b):
    """-1, 0, 1: Unicode collation order of two texts (0: equal collation keys)."""
    return _COLLATOR.compare(a, b)


def text_key(value):
    """Sort key for distinct texts: collation order, equal keys by code point."""
    return (bytes(_COLLATOR.getSortKey(value)), value)


def _sort_value(contact, field):
    if field in TIME_FIELDS:
        return parse_utc_ns(contact[field])
    return contact[field]


def _is_empty(value):
    return value is None or value == ""


def order(contacts, ordering):
    spec = parse_ordering(ordering)
    first_desc = spec[0][1]

    def cmp(a, b):
        for field, desc in spec:
            va, vb = _sort_value(a, field), _sort_value(b, field)
            ea, eb = _is_empty(va), _is_empty(vb)
            if ea != eb:
                return 1 if ea else -1
            if ea or va == vb:
                continue
            if isinstance(va, str):
                r = collate(va, vb)
                if r == 0:
                    continue
            else:
                r = -1 if va < vb else 1
            return -r if desc else r
        r = (a["id"] > b["id"]) - (a["id"] < b["id"])
        return -r if first_desc else r

    return sorted(contacts, key=functools.cmp_to_key(cmp))


def cursor_order(contacts, ascending=False):
    """Cursor strategy: created_at then id, both in the same direction."""
    return sorted(contacts, key=lambda c: (parse_utc_ns(c["created_at"]), c["id"]),
                  reverse=not ascending)


# --- field endpoints (contract sections 6 and 10) ---------------------------------------


def field_value(contact, field):
    if field == "company_address":
        parts = [contact[f] for f in ("company_address", "company_city", "company_state",
                                      "company_country")]
        return ", ".join(p for p in parts if p != "")
    if field == "contact_address":
        parts = [contact[f] for f in ("city", "state", "country")]
        return ", ".join(p for p in parts if p != "")
    return contact[field]


def field_rows(contacts, field, distinct=False, search=None, separated=False):
    """Expected rows of /api/contacts/<field>/ as a list of (id, value)."""
    rows = []
    for c in sorted(contacts, key=lambda c: c["id"]):
        value = field_value(c, field)
        if value == "":
            continue
        if separated:
            parts = [p.strip(_TRIM) for p in value.split(",")]
            for p in parts:
                if p != "":
                    rows.append((c["id"], p))
        else:
            rows.append((c["id"], value))
    if search:
        rows = [r for r in rows if contains(r[1], search)]
    if distinct:
        smallest = {}
        for cid, v in rows:
            if v not in smallest or cid < smallest[v]:
                smallest[v] = cid
        rows = [(smallest[v], v) for v in sorted(smallest, key=text_key)]
    return rows


# --- analytics (contract section 5) -----------------------------------------------------


def top_values(contacts, field, limit):
    counts = {}
    for c in contacts:
        v = c[field]
        if v != "":
            counts[v] = counts.get(v, 0) + 1
    items = sorted(counts.items(), key=lambda kv: (-kv[1], text_key(kv[0])))
    return [{field: k, "total": n} for k, n in items[:limit]]
