#!/usr/bin/env python3
"""Turns the web console's files into a C++ source for contacts_web (see src/web/assets.h).

Inputs: every file of web/static/ (served as /assets/<name>) and the vendor files listed in
web/vendor.txt ("<served name> <file relative to web/>", taken from web/node_modules, which
scripts/bootstrap installs). Names have no '/': every asset URL is /assets/{asset}, one path
segment, like the API's other route templates. The bytes are not turned into C++
literals (slow to compile for the 1.7 MB API-docs bundle): the generated source pulls each
file in with the assembler's .incbin, so embedding costs well under a second of build time.
Text files over 1 KiB also get a gzip variant (level 9, mtime 0: reproducible), written
beside the output and embedded the same way.
"""
import argparse
import gzip
import hashlib
import os
import sys

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = (".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt")


def fail(msg):
    sys.stderr.write("embed_assets: %s\n" % msg)
    sys.exit(1)


def static_files(static_dir):
    out = []
    for name in sorted(os.listdir(static_dir)):
        path = os.path.join(static_dir, name)
        if name.startswith("."):
            continue
        if not os.path.isfile(path):
            fail("%s: web/static/ is flat (assets are /assets/<name>, one path segment)" % path)
        out.append((name, path))
    return out


def vendor_files(web_dir):
    out = []
    with open(os.path.join(web_dir, "vendor.txt"), encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2 or "/" in parts[0]:
                fail("vendor.txt line %d: expected '<served name> <file>' (a name without '/')"
                     % number)
            path = os.path.join(web_dir, parts[1])
            if not os.path.isfile(path):
                fail("%s is missing: run scripts/bootstrap (it installs web/node_modules "
                     "with npm ci)" % path)
            out.append((parts[0], path))
    return out


def asm_string(path):
    return path.replace("\\", "\\\\").replace('"', '\\"')


def cpp_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--web", required=True, help="the web/ folder")
    ap.add_argument("--out", required=True, help="the C++ source to write")
    args = ap.parse_args()
    web_dir = os.path.abspath(args.web)
    out_path = os.path.abspath(args.out)
    gz_dir = out_path + ".gz.d"
    os.makedirs(gz_dir, exist_ok=True)

    files = static_files(os.path.join(web_dir, "static")) + vendor_files(web_dir)
    files.sort()
    served = [p for p, _ in files]
    if len(set(served)) != len(served):
        fail("a served path appears twice: %s" % sorted(p for p in served if served.count(p) > 1))

    asm = []
    entries = []
    symbols = []
    for i, (served_path, source) in enumerate(files):
        ext = os.path.splitext(served_path)[1].lower()
        if ext not in CONTENT_TYPES:
            fail("no content type for %s (add its extension to CONTENT_TYPES)" % served_path)
        with open(source, "rb") as f:
            data = f.read()
        digest = hashlib.sha256(data).hexdigest()[:24]
        symbol = "contacts_web_asset_%d" % i
        blobs = [(symbol, source, len(data))]
        gz_entry = ('{}', '{}')
        if ext in COMPRESSIBLE and len(data) > 1024:
            packed = gzip.compress(data, compresslevel=9, mtime=0)
            if len(packed) < len(data) * 9 // 10:
                gz_path = os.path.join(gz_dir, "%d.gz" % i)
                with open(gz_path, "wb") as f:
                    f.write(packed)
                blobs.append((symbol + "_gz", gz_path, len(packed)))
                gz_entry = ("{%s_gz, %d}" % (symbol, len(packed)),
                            cpp_string('"%s-gz"' % digest))
        for name, path, _size in blobs:
            symbols.append(name)
            asm.append('    ".globl %s\\n"\n    ".hidden %s\\n"\n    ".balign 16\\n"\n'
                       '    "%s:\\n"\n    ".incbin \\"%s\\"\\n"\n' % (
                           name, name, name, asm_string(asm_string(path))))
        entries.append("    {%s, %s, %s, {%s, %d}, %s, %s}," % (
            cpp_string(served_path), cpp_string(CONTENT_TYPES[ext]), cpp_string('"%s"' % digest),
            symbol, len(data), gz_entry[0], gz_entry[1]))

    decls = ['extern "C" const char %s[];' % name for name in symbols]

    text = (
        "// Generated by web/embed_assets.py: do not edit.\n"
        "#include \"web/assets.h\"\n\n"
        "__asm__(\n"
        "    \".pushsection .rodata.contacts_web,\\\"a\\\",@progbits\\n\"\n"
        + "".join(asm) +
        "    \".popsection\\n\");\n\n"
        + "\n".join(decls) +
        "\n\nnamespace contacts::web::generated {\n\n"
        "extern const Asset kAssets[];\n"
        "extern const size_t kAssetCount;\n"
        "const Asset kAssets[] = {\n" + "\n".join(entries) + "\n};\n"
        "const size_t kAssetCount = %d;\n\n"
        "}  // namespace contacts::web::generated\n" % len(files))
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, out_path)


if __name__ == "__main__":
    main()
