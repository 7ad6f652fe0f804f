#!/usr/bin/env python3
"""Checks that src/ is layered: a folder includes only folders below it.

    python3 tests/layering_check.py REPO_ROOT

Every folder of src/ has a level (LEVELS below, the table of docs/DESIGN.md section
2.1); a file may include headers of its own folder and of folders of a lower level,
never of its level or above, so the folders form no cycle and the library reads from
the bottom up. src/cli, the command layer, holds at most CLI_MAX_LINES lines. Fails (exit 1, one line per include, "FILE:LINE: folder A (level i)
includes B (level j)") on such an include, or on a folder of src/ the table does not
name. On success prints one line, "layering: ok (N files, M includes across folders)".
Standard library only.
"""
import os
import re
import sys

LEVELS = {
    "core": 0,                                          # errors, config, rng, stop, log
    "io": 1, "data": 1, "comm": 1,                      # HDF5, datasets, communicators
    "models": 2,                                        # architectures, model files
    "blocks": 3, "train": 3,                            # grids, placements; the trainer
    "scoring": 4, "trace": 4,                           # the fitness engine; trace files
    "search": 5, "streams": 5, "sweeps": 5, "mixnn": 5,  # searches, traffic, drop / swap, MixNN
    "attack": 6, "service": 6,                          # attack pipeline; the service
    "cli": 7,                                           # runtime, option groups, commands
    "bench": 8,                                         # the benchmarks and their report
}

# The command layer stays thin (docs/DESIGN.md section 2.1).
CLI_MAX_LINES = 2000

INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+)/')


def main(root):
    src = os.path.join(root, "src")
    problems, files, across = [], 0, 0
    for folder in sorted(os.listdir(src)):
        path = os.path.join(src, folder)
        if not os.path.isdir(path):
            continue
        if folder not in LEVELS:
            problems.append(f"src/{folder}: a folder the layer table of tests/layering_check.py does not name")
            continue
        for dirpath, _, names in os.walk(path):
            for name in sorted(names):
                if not name.endswith((".cpp", ".hpp", ".h", ".cu", ".cuh")):
                    continue
                files += 1
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m or m.group(1) == folder or m.group(1) not in LEVELS:
                            continue
                        across += 1
                        other = m.group(1)
                        if LEVELS[other] >= LEVELS[folder]:
                            problems.append(f"{rel}:{number}: folder {folder} (level {LEVELS[folder]}) includes "
                                            f"{other} (level {LEVELS[other]}); only lower levels may be included")
    cli_lines = 0
    for dirpath, _, names in os.walk(os.path.join(src, "cli")):
        for name in names:
            with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                cli_lines += sum(1 for _ in f)
    if cli_lines > CLI_MAX_LINES:
        problems.append(f"src/cli: {cli_lines} lines, more than {CLI_MAX_LINES}: the command layer parses options, "
                        f"dispatches and prints; the work belongs in the library below it")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"layering: ok ({files} files, {across} includes across folders; src/cli {cli_lines} lines)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: layering_check.py REPO_ROOT")
    sys.exit(main(sys.argv[1]))
