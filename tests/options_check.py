#!/usr/bin/env python3
"""Checks docs/usage.md against the binary: its commands table and its tables of
shared options.

    python3 tests/options_check.py REPO_ROOT TESSERA

- Every command of `TESSERA --help` has a row in the "Commands" table, and every row
  is a command.
- Every option of the first table under "Options every command shares" is an option
  of every command, with the default the table gives; every option of the second
  table is one of every command but those named in the paragraph before it.
- A default written `runs/<command>` stands for `runs/` and the command's first word;
  a meaning cell that says "`CMD`'s default is `V`" (or "is empty") states CMD's own.

Fails (exit 1) with one line per problem; prints "options: ok (...)" on success.
Standard library only; runs the binary without mpiexec (a singleton MPI run).
"""
import os
import re
import subprocess
import sys

OPTION_LINE = re.compile(r'^  --(\S+) arg(?: \(=(.*?)\))?(?:\s|$)')
EXCEPTION = re.compile(r"`([a-z ]+)`'s default is (?:`([^`]*)`|(empty))")


def run_help(tessera, words):
    result = subprocess.run([tessera, *words, '--help'], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"'tessera {' '.join(words)} --help' exited {result.returncode}: "
                           f'{(result.stderr or result.stdout).strip()[:200]}')
    return result.stdout


def commands_of(help_text):
    """The commands listed by `tessera --help`, as lines "  NAME  description"."""
    lines = help_text.split('\n')
    start = lines.index('commands:') + 1
    listed = []
    for line in lines[start:]:
        if not line.startswith('  '):
            break
        listed.append(line.strip())
    return listed


def options_of(help_text):
    """{option: default} of one command's --help ('' where it shows none)."""
    found = {}
    for line in help_text.split('\n'):
        match = OPTION_LINE.match(line)
        if match:
            found[match.group(1)] = match.group(2) or ''
    return found


def table_after(lines, start):
    """The rows (lists of cells) of the first markdown table at or after `start`,
    and the line index after it."""
    index = start
    while index < len(lines) and not lines[index].startswith('|'):
        index += 1
    rows = []
    while index < len(lines) and lines[index].startswith('|'):
        cells = [cell.strip() for cell in lines[index].strip().strip('|').split('|')]
        if not all(re.fullmatch(r':?-+:?', cell) for cell in cells):
            rows.append(cells)
        index += 1
    return rows[1:], index  # without the header


def unquote(cell):
    match = re.fullmatch(r'`([^`]*)`', cell)
    return match.group(1) if match else cell


def main(argv):
    if len(argv) != 3:
        print('usage: options_check.py REPO_ROOT TESSERA', file=sys.stderr)
        return 2
    root, tessera = argv[1], os.path.abspath(argv[2])
    usage_path = os.path.join(root, 'docs', 'usage.md')
    with open(usage_path, encoding='utf-8') as handle:
        lines = handle.read().split('\n')
    problems = []

    listed = commands_of(run_help(tessera, []))
    commands_heading = lines.index('## Commands')
    documented = [unquote(row[0]) for row in table_after(lines, commands_heading)[0]]
    commands = []
    for entry in listed:
        name = next((d for d in sorted(documented, key=len, reverse=True) if entry.startswith(d + ' ')), None)
        if name is None:
            problems.append(f"docs/usage.md:{commands_heading + 1}: the Commands table has no row for "
                            f"'{entry.split()[0]} ...' of tessera --help")
        else:
            commands.append(name)
    for name in documented:
        if name not in commands:
            problems.append(f"docs/usage.md:{commands_heading + 1}: '{name}' is not a command of tessera --help")

    shared_heading = lines.index('## Options every command shares')
    every, after_first = table_after(lines, shared_heading)
    some, _ = table_after(lines, after_first)
    # The commands named in the paragraph between the two tables take no part in the second.
    next_table = next(i for i in range(after_first, len(lines)) if lines[i].startswith('|'))
    paragraph = ' '.join(lines[after_first:next_table])
    left_out = set(re.findall(r'`([a-z]+(?: [a-z]+)?)`', paragraph)) & set(commands)
    if 'two `streams` commands' in paragraph:
        left_out |= {c for c in commands if c.startswith('streams ')}

    help_of = {command: options_of(run_help(tessera, command.split())) for command in commands}
    checked = 0
    for rows, applies in ((every, commands), (some, [c for c in commands if c not in left_out])):
        for row in rows:
            option, default, meaning = unquote(row[0]).lstrip('-'), unquote(row[1]), row[2]
            own = {m.group(1): (m.group(2) if m.group(3) is None else '') for m in EXCEPTION.finditer(meaning)}
            for command in applies:
                options = help_of[command]
                checked += 1
                if option not in options:
                    problems.append(f"docs/usage.md: --{option} is not an option of 'tessera {command}'")
                    continue
                expected = own.get(command, default.replace('<command>', command.split()[0]))
                if options[option] != expected:
                    problems.append(f"docs/usage.md: --{option} of 'tessera {command}' defaults to "
                                    f"'{options[option]}', the table says '{expected}'")

    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f'options: ok ({len(commands)} commands, {checked} option defaults checked)')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
