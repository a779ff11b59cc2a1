// Checks of the OpenAPI document (src/api/openapi.json), for the tests:
//
//   node validate.mjs document DOC
//     Lints DOC with Redocly CLI (redocly.yaml beside this file: every rule of recommended-strict
//     as an error: structure of OpenAPI 3.1, resolvable $refs, path parameters, unique
//     operationIds, no identical or ambiguous paths, examples that match their schemas), then
//     compiles every schema of DOC with Ajv in strict mode (JSON Schema 2020-12, the dialect of
//     OpenAPI 3.1: no unknown keywords or formats). Exit 0 when both pass.
//
//   node validate.mjs responses DOC CASES
//     CASES is a JSON file: [{"name": ..., "schema": "<JSON pointer into DOC>", "body": <JSON>}].
//     Validates each body against the schema at its pointer (formats checked) and prints a JSON
//     array of {"name": ..., "errors": ["<instance path>: <message>", ...]} (empty = valid).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const here = dirname(fileURLToPath(import.meta.url));
const DOC_ID = "https://contacts-api.invalid/openapi.json";

// The value at a JSON pointer ("#/a/b~1c") of `doc`.
function resolvePointer(doc, pointer) {
  if (!pointer.startsWith("#/")) throw new Error(`not a local JSON pointer: ${pointer}`);
  let node = doc;
  for (const raw of pointer.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || !(key in node)) {
      throw new Error(`${pointer}: no "${key}"`);
    }
    node = node[key];
  }
  return node;
}

const SCHEMA_REF = "#/components/schemas/";

// A copy of `schema` whose "#/components/schemas/X" references point to X in the schema that
// newAjv() adds under DOC_ID.
function rebase(schema) {
  return JSON.parse(JSON.stringify(schema), (key, value) =>
    key === "$ref" && typeof value === "string" && value.startsWith(SCHEMA_REF)
      ? `${DOC_ID}#/$defs/${value.slice(SCHEMA_REF.length)}` : value);
}

// Ajv (JSON Schema 2020-12, strict, formats checked) knowing the document's component schemas.
function newAjv(doc) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  const defs = {};
  for (const [name, schema] of Object.entries(doc.components.schemas ?? {})) defs[name] = rebase(schema);
  ajv.addSchema({ $id: DOC_ID, $defs: defs });
  return ajv;
}

// Every schema object of the document: components, parameters, headers, media types.
function* schemasOf(doc) {
  for (const [name, schema] of Object.entries(doc.components.schemas ?? {})) {
    yield [`#/components/schemas/${name}`, schema];
  }
  function* walk(node, pointer) {
    if (node === null || typeof node !== "object") return;
    if (!Array.isArray(node) && "schema" in node && typeof node.schema === "object") {
      yield [`${pointer}/schema`, node.schema];
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === "schema" || key === "schemas") continue;
      yield* walk(value, `${pointer}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`);
    }
  }
  yield* walk(doc.paths, "#/paths");
  yield* walk({ parameters: doc.components.parameters, headers: doc.components.headers,
                responses: doc.components.responses }, "#/components");
}

function lint(docPath) {
  const cli = join(here, "node_modules", "@redocly", "cli", "bin", "cli.js");
  const run = spawnSync(process.execPath, [cli, "lint", "--config", join(here, "redocly.yaml"),
                                           "--format", "stylish", docPath], {
    stdio: "inherit",
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  });
  if (run.status !== 0) {
    console.error(`redocly lint failed (${run.error ?? "exit " + run.status})`);
    return false;
  }
  const doc = JSON.parse(readFileSync(docPath, "utf8"));
  const ajv = newAjv(doc);
  let ok = true;
  for (const [pointer, schema] of schemasOf(doc)) {
    try {
      ajv.compile(rebase(schema));
    } catch (e) {
      console.error(`${pointer}: ${e.message}`);
      ok = false;
    }
  }
  console.log(ok ? "ajv: every schema of the document compiles in strict mode"
                 : "ajv: some schemas of the document are invalid");
  return ok;
}

function validateResponses(docPath, casesPath) {
  const doc = JSON.parse(readFileSync(docPath, "utf8"));
  const cases = JSON.parse(readFileSync(casesPath, "utf8"));
  const ajv = newAjv(doc);
  const compiled = new Map();
  const results = cases.map(({ name, schema, body }) => {
    try {
      if (!compiled.has(schema)) compiled.set(schema, ajv.compile(rebase(resolvePointer(doc, schema))));
      const check = compiled.get(schema);
      if (check(body)) return { name, errors: [] };
      return { name, errors: check.errors.map((e) => `${e.instancePath || "/"}: ${e.message}` +
                                                    (e.params ? ` ${JSON.stringify(e.params)}` : "")) };
    } catch (e) {
      return { name, errors: [`cannot validate against ${schema}: ${e.message}`] };
    }
  });
  process.stdout.write(JSON.stringify(results));
  return true;
}

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Node.js ${process.versions.node} is too old: Redocly CLI needs 20.19 or later`);
  process.exit(1);
}
const [mode, ...args] = process.argv.slice(2);
let ok = false;
if (mode === "document" && args.length === 1) {
  ok = lint(args[0]);
} else if (mode === "responses" && args.length === 2) {
  ok = validateResponses(args[0], args[1]);
} else {
  console.error("usage: node validate.mjs document DOC | responses DOC CASES");
  process.exit(2);
}
process.exit(ok ? 0 : 1);
