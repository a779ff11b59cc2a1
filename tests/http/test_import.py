"""CLI `generate` and `import`: summaries, errors CSV, and the store content they produce."""
import collections
import json
import os

import expect
from harness import CTX, ApiTest, run_cmd

EMAIL_KEYS_AFTER_PHASE1 = None


def later_email_keys():
    """Lower-cased emails of the rows imported after tricky.csv (gen + update)."""
    global EMAIL_KEYS_AFTER_PHASE1
    if EMAIL_KEYS_AFTER_PHASE1 is None:
        keys = set()
        for label in ("gen", "update1"):
            path = CTX.imports[label]["path"]
            with open(path, "rb") as f:
                header, records = expect.read_csv_records(f.read())
            mapping = [expect.map_header(h) for h in header]
            for rec in records:
                if not rec:
                    continue
                try:
                    values, _ = expect.validate_row(header, mapping, rec)
                except ValueError:
                    continue
                if values["email"]:
                    keys.add(values["email"].lower())
        EMAIL_KEYS_AFTER_PHASE1 = keys
    return EMAIL_KEYS_AFTER_PHASE1


class GenerateCommand(ApiTest):
    needs_dump = False

    def read(self, name):
        path, rc, err = CTX.generated[name]
        self.assertEqual(rc, 0, err)
        with open(path, "rb") as f:
            return f.read()

    def test_same_seed_gives_the_same_bytes(self):
        self.assertEqual(self.read("gen"), self.read("gen_again"))

    def test_other_seed_gives_other_rows(self):
        self.assertNotEqual(self.read("gen"), self.read("gen_other"))

    def test_writes_a_header_and_the_requested_number_of_rows(self):
        header, records = expect.read_csv_records(self.read("gen"))
        self.assertEqual(len([r for r in records if r]), 3000)
        self.assertTrue(all(len(r) == len(header) for r in records if r))

    def test_header_uses_apollo_labels_and_has_unknown_columns(self):
        header, _ = expect.read_csv_records(self.read("gen"))
        self.assertIn("First Name", header)
        self.assertIn("# Employees", header)
        unknown = [h for h in header if expect.map_header(h) is None]
        self.assertTrue(unknown, "no column that goes to meta_data: %s" % header)


class ImportCommand(ApiTest):
    needs_dump = False

    def expected_result(self, label):
        for lab, result in CTX.model_final.imports:
            if lab == label:
                return result
        raise AssertionError(label)

    def check_summary(self, label):
        info = CTX.imports[label]
        self.assertEqual(info["rc"], 0, info["stderr"][-2000:])
        exp = self.expected_result(label)
        self.assertTrue(info["lines"], "import printed nothing")
        self.assertEqual(info["lines"][-1], "total_rows=%d success=%d errors=%d" % (
            exp.total_rows, exp.success, exp.errors))

    def test_tricky_summary_counts_rows_successes_and_errors(self):
        self.check_summary("tricky")
        self.assertEqual(self.expected_result("tricky").errors, 11)  # the model itself

    def test_generated_summary(self):
        self.check_summary("gen")

    def test_update_summary_first_import(self):
        self.check_summary("update1")

    def test_update_summary_second_import_of_the_same_file(self):
        self.check_summary("update2")

    def test_help_says_what_the_options_do(self):
        p = run_cmd([CTX.binary, "import", "--help"])
        self.assertEqual(p.returncode, 0, p.stderr[-500:])
        text = p.stdout.decode()
        for words in ("usage: contacts-api import FILE", "--errors PATH", "rows/s"):
            self.assertIn(words, text)
        p = run_cmd([CTX.binary, "import"])
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"import --help", p.stderr)

    def test_default_errors_file_is_printed_before_the_summary(self):
        info = CTX.imports["tricky"]
        self.assertIsNotNone(info["errors_line"], "no errors_file= line: %r" % info["lines"][-3:])
        path = info["errors_line"]
        if not os.path.isabs(path):
            path = os.path.join(CTX.root, path)
        self.assertTrue(os.path.isfile(path), path)

    def check_errors_csv(self, path, header, result):
        with open(path, "rb") as f:
            got_header, records = expect.read_csv_records(f.read())
        self.assertEqual(got_header, header + ["error"])
        records = [r for r in records if r]
        self.assertEqual(len(records), len(result.error_records),
                         "one line per failed row; expected reasons %s" % result.error_reasons)
        for orig, got, why in zip(result.error_records, records, result.error_reasons):
            self.assertNotEqual(got[-1].strip(), "", "empty error reason for %r" % (orig[:3],))
            body = got[:-1]
            ok = body == orig
            if not ok and len(orig) < len(header):
                ok = body == orig + [""] * (len(header) - len(orig))
            self.assertTrue(ok, "errors CSV row %r does not carry the original fields %r (%s)" % (
                [f[:40] for f in got], [f[:40] for f in orig], why))

    def test_tricky_errors_csv_has_header_error_column_and_each_bad_row(self):
        info = CTX.imports["tricky"]
        self.assertIsNotNone(info["errors_line"])
        path = info["errors_line"]
        if not os.path.isabs(path):
            path = os.path.join(CTX.root, path)
        self.check_errors_csv(path, CTX.headers_of["tricky"], self.expected_result("tricky"))

    def test_generated_errors_csv_matches_the_bad_rows(self):
        exp = self.expected_result("gen")
        path = CTX.imports["gen"]["errors_path"]
        if exp.errors == 0:
            self.assertFalse(os.path.exists(path), "errors file written without errors")
        else:
            self.check_errors_csv(path, CTX.headers_of["gen"], exp)

    def test_no_errors_file_when_every_row_succeeds(self):
        self.assertFalse(os.path.exists(CTX.imports["update1"]["errors_path"]))


def compare_with_model(test, dump, model):
    got = collections.Counter(expect.content_key(c) for c in dump)
    want = collections.Counter(expect.content_key(c) for c in model.contacts)
    if got != want:
        missing = list((want - got).elements())[:4]
        extra = list((got - want).elements())[:4]
        test.fail("store differs from the CSV model: %d contacts, model %d;\nmissing (model has, "
                  "server not): %s\nunexpected (server has, model not): %s" % (
                      len(dump), len(model.contacts),
                      "\n  ".join(m[:700] for m in missing), "\n  ".join(e[:700] for e in extra)))


class ImportedContent(ApiTest):

    def test_after_tricky_import_store_equals_csv_model(self):
        self.assertIsNotNone(CTX.phase1_dump, CTX.dump_error)
        compare_with_model(self, CTX.phase1_dump, CTX.model_phase1)

    def test_after_all_imports_store_equals_csv_model(self):
        compare_with_model(self, self.dump, CTX.model_final)

    def find(self, dump, email):
        return [c for c in dump if c["email"].lower() == email.lower()]

    def test_duplicate_email_in_one_file_gives_one_contact_with_the_later_row(self):
        found = self.find(self.dump, "elodie.dupont@example.fr")
        self.assertEqual(len(found), 1)
        c = found[0]
        self.assertEqual(c["email"], "elodie.dupont@example.fr")
        self.assertEqual(c["last_name"], "Dupont-Martin")
        self.assertEqual(c["title"], "Chief Revenue Officer")
        self.assertEqual(c["company"], "Café Noir")
        self.assertIsNone(c["employees"])
        self.assertEqual(c["meta_data"], {"Custom Score": "99"})

    def test_upsert_in_a_later_import_keeps_id_and_created_at_and_replaces_every_field(self):
        self.assertIsNotNone(CTX.phase1_dump, CTX.dump_error)
        before = self.find(CTX.phase1_dump, "anna.mueller@example.de")
        after = self.find(self.dump, "anna.mueller@example.de")
        self.assertEqual((len(before), len(after)), (1, 1))
        b, a = before[0], after[0]
        self.assertEqual(a["id"], b["id"])
        self.assertEqual(a["created_at"], b["created_at"])
        self.assertGreater(expect.parse_utc_ns(a["updated_at"]),
                           expect.parse_utc_ns(b["updated_at"]))
        self.assertEqual(a["email"], "ANNA.MUELLER@EXAMPLE.DE")
        self.assertEqual((a["first_name"], a["last_name"], a["title"], a["employees"]),
                         ("Anna", "Müller-Schmidt", "Leitende Ingenieurin", 43))
        # fields the update row does not have are replaced too (with empty values)
        self.assertEqual((a["city"], a["industry"], a["email_status"], a["company_city"]),
                         ("", "", "", ""))
        self.assertEqual(a["meta_data"], {"Lead Source": "Partner"})

    def test_contacts_untouched_by_later_imports_are_unchanged(self):
        self.assertIsNotNone(CTX.phase1_dump, CTX.dump_error)
        final = self.by_id()
        later = later_email_keys()
        checked = 0
        for b in CTX.phase1_dump:
            self.assertIn(b["id"], final, "contact %s disappeared" % b["id"])
            if b["email"] and b["email"].lower() in later:
                continue
            self.assertEqual(final[b["id"]], b)
            checked += 1
        self.assertGreaterEqual(checked, 10)

    def test_importing_the_same_file_twice_adds_no_contacts(self):
        self.assertEqual(len(self.find(self.dump, "new.person@example.org")), 1)
        self.assertEqual(len(self.dump), len(CTX.model_final.contacts))

    def test_ids_of_new_contacts_are_not_reused_and_created_later(self):
        self.assertIsNotNone(CTX.phase1_dump, CTX.dump_error)
        old_ids = {c["id"] for c in CTX.phase1_dump}
        newest_old = max(expect.parse_utc_ns(c["created_at"]) for c in CTX.phase1_dump)
        new = [c for c in self.dump if c["id"] not in old_ids]
        self.assertEqual(len(new), len(self.dump) - len(CTX.phase1_dump))
        for c in new:
            self.assertGreaterEqual(expect.parse_utc_ns(c["created_at"]), newest_old, c["id"])

    def test_meta_data_holds_unknown_columns_of_generated_rows(self):
        unknown = [h for h in CTX.headers_of["gen"] if expect.map_header(h) is None]
        with_meta = [c for c in self.dump if c["meta_data"]]
        self.assertTrue(with_meta)
        for c in with_meta:
            for k in c["meta_data"]:
                self.assertIn(k, unknown + CTX.headers_of["tricky"] + CTX.headers_of["update"],
                              json.dumps(c["meta_data"]))
