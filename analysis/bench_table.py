#!/usr/bin/env python3
"""The tables of benchmark files written by `tessera bench ...` (runs/bench/NAME.h5,
docs/output.md "Benchmark files"), printed as Markdown: per file a heading naming
the benchmark, the machine's revision and date, then each table as the benchmark
printed it and its notes. With --out, written to that file (whole or not at all)
instead of standard output. With --into, they replace the part of a Markdown file
between the lines BEGIN and END below (how docs/measured.md's benchmark tables are
regenerated from the files in docs/bench/); --check only says whether that part
already equals them (exit 1 when not: the page is stale)."""
import argparse
import sys

from tessera_h5 import Bad, attrs_of, open_run, reading, run_script, text, writing


def cell(value, digits):
    if digits < 0:
        return text(value)
    return f"{float(value):.{int(digits)}f}"


def tables_of(path):
    """Markdown lines of one benchmark file."""
    with open_run(path) as f:
        root = attrs_of(f, ("command",))
        if "bench" not in f:
            raise Bad(f"no group /bench: not a benchmark file (written by '{root['command']}')")
        top = f["bench"]
        names = [text(n) for n in attrs_of(top, ("tables", "notes"))["tables"]]
        lines = [f"### tessera {root['command']}", "",
                 f"revision {root.get('git_revision', '?')}, {root.get('created_utc', '?')}", ""]
        for name in names:
            if name not in top:
                raise Bad(f"/bench lists table '{name}', which it lacks")
            group = top[name]
            attrs = attrs_of(group, ("columns", "headings", "digits"))
            keys = [text(k) for k in attrs["columns"]]
            headings = [text(h) for h in attrs["headings"]]
            digits = list(attrs["digits"])
            if not len(keys) == len(headings) == len(digits):
                raise Bad(f"{group.name}: {len(keys)} columns, {len(headings)} headings, {len(digits)} digits")
            missing = [k for k in keys if k not in group.attrs]
            if missing:
                raise Bad(f"{group.name} lacks column(s) {', '.join(missing)}")
            columns = [list(group.attrs[k]) for k in keys]
            rows = {len(c) for c in columns}
            if len(rows) > 1:
                raise Bad(f"{group.name}: columns of {sorted(rows)} rows")
            lines.append("| " + " | ".join(headings) + " |")
            lines.append("|" + "|".join("---" if d < 0 else "---:" for d in digits) + "|")
            for r in range(rows.pop() if rows else 0):
                lines.append("| " + " | ".join(cell(c[r], d) for c, d in zip(columns, digits)) + " |")
            lines.append("")
        lines += [text(n) for n in top.attrs["notes"]]
        return lines + [""]


BEGIN = "<!-- the tables below are generated: python3 analysis/bench_table.py FILES --into THIS_FILE -->"
END = "<!-- end of the generated tables -->"


def replaced(page, path, markdown):
    """`page` (the text of `path`) with the part between BEGIN and END replaced."""
    lines = page.split("\n")
    if lines.count(BEGIN) != 1 or lines.count(END) != 1 or lines.index(BEGIN) > lines.index(END):
        raise Bad(f"needs one line '{BEGIN}' and, after it, one line '{END}'", path)
    start, end = lines.index(BEGIN), lines.index(END)
    return "\n".join(lines[:start + 1] + [""] + markdown.rstrip("\n").split("\n") + [""] + lines[end:])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", help="benchmark files (runs/bench/*.h5)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", help="Markdown file to write (default: standard output)")
    where.add_argument("--into", help="Markdown file whose generated part the tables replace")
    where.add_argument("--check", help="Markdown file whose generated part must equal the tables")
    args = parser.parse_args()
    lines = []
    for path in args.files:
        lines += tables_of(path)
    markdown = "\n".join(lines)
    page_path = args.into or args.check
    if page_path:
        with reading(page_path):
            with open(page_path) as f:
                page = f.read()
        updated = replaced(page, page_path, markdown)
        if args.check:
            if updated != page:
                raise Bad("its generated tables differ from those of the files given: regenerate them with "
                          f"'python3 analysis/bench_table.py {' '.join(args.files)} --into {page_path}'",
                          page_path)
            print(f"bench_table: {page_path}: the generated tables equal the {len(args.files)} files'")
            return
        with writing(page_path) as (temp,):
            with open(temp, "w") as f:
                f.write(updated)
    elif args.out:
        with writing(args.out) as (temp,):
            with open(temp, "w") as f:
                f.write(markdown)
    else:
        sys.stdout.write(markdown)


if __name__ == "__main__":
    run_script(main)
