#!/usr/bin/env python3
"""Checks the documentation: README.md and docs/*.md.

    python3 tests/docs_check.py REPO_ROOT

Fails (exit 1, one line per problem, "FILE:LINE: what") when README.md is longer
than 500 lines or has no contents list (a "Contents" heading followed by a list of
links to its own sections), when a relative markdown link in README.md or docs/*.md
names a file that does not exist, or when its #anchor matches no heading of the
target file (GitHub's rule: lowercase, punctuation dropped except '-' and '_',
spaces to '-', a repeated heading gets -1, -2, ...). On success prints one line,
"docs: ok (N files, M links)". Standard library only.
"""
import html
import os
import re
import sys
import urllib.parse

README_MAX_LINES = 500

# [text](target) and ![alt](target), with an optional "title"; not inside code.
LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
# [text]: target (reference definitions)
REF_DEF = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$')
HEADING = re.compile(r'^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$')
INLINE_CODE = re.compile(r'(`+)(.+?)\1')


def github_anchor(heading):
    """The anchor GitHub gives a heading's text."""
    text = html.unescape(heading.strip())
    # Markdown links and images in a heading count by their text.
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', text)
    text = re.sub(r'<[^>]+>', '', text)  # inline HTML tags
    text = text.lower()
    # Keep letters, digits (any script), '-', '_' and spaces; drop the rest.
    text = ''.join(c for c in text if c.isalnum() or c in '-_ ')
    return text.replace(' ', '-')


def strip_code(lines):
    """Yields (line number, text) outside fenced code blocks, inline code blanked."""
    fence = None
    for number, line in enumerate(lines, 1):
        stripped = line.lstrip()
        match = re.match(r'(`{3,}|~{3,})', stripped)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        yield number, line


def headings(lines):
    """(line number, level, text) of every ATX heading outside code blocks."""
    result = []
    for number, line in strip_code(lines):
        match = HEADING.match(line)
        if match:
            result.append((number, len(match.group(1)), match.group(2)))
    return result


def anchors(lines):
    seen, result = {}, set()
    for _, _, text in headings(lines):
        base = github_anchor(text)
        count = seen.get(base, 0)
        result.add(base if count == 0 else f'{base}-{count}')
        seen[base] = count + 1
    # Explicit HTML anchors: <a name="x"> or id="x".
    for _, line in strip_code(lines):
        for match in re.finditer(r'<a\s+(?:name|id)="([^"]+)"', line):
            result.add(match.group(1))
    return result


def links(lines):
    """(line number, target) of every link outside code."""
    for number, line in strip_code(lines):
        # Inline code may hold brackets and parentheses that are not links.
        visible = INLINE_CODE.sub(lambda m: ' ' * len(m.group(0)), line)
        for match in LINK.finditer(visible):
            yield number, match.group(1)
        match = REF_DEF.match(visible)
        if match:
            yield number, match.group(1)


def is_external(target):
    return bool(re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', target)) or target.startswith('//')


def read_lines(path):
    with open(path, encoding='utf-8') as handle:
        return handle.read().split('\n')


def has_contents_list(lines):
    """A heading named Contents (or Table of contents) followed by a list of
    links to anchors of the same file."""
    own = anchors(lines)
    body = list(strip_code(lines))
    for index, (_, line) in enumerate(body):
        match = HEADING.match(line)
        if not match or not re.fullmatch(r'(table of )?contents', match.group(2).strip().lower()):
            continue
        entries = 0
        for _, after in body[index + 1:]:
            if HEADING.match(after):
                break
            item = re.match(r'^\s*(?:[-*+]|\d+[.)])\s+\[[^\]]+\]\(#([^)]+)\)', after)
            if item and urllib.parse.unquote(item.group(1)) in own:
                entries += 1
        return entries >= 2
    return False


def main(argv):
    if len(argv) != 2:
        print('usage: docs_check.py REPO_ROOT', file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    readme = os.path.join(root, 'README.md')
    docs_dir = os.path.join(root, 'docs')
    problems = []
    if not os.path.isfile(readme):
        print('README.md: missing')
        return 1
    files = [readme]
    if os.path.isdir(docs_dir):
        files += sorted(os.path.join(docs_dir, name) for name in os.listdir(docs_dir)
                        if name.endswith('.md') and os.path.isfile(os.path.join(docs_dir, name)))

    cache = {}

    def lines_of(path):
        if path not in cache:
            cache[path] = read_lines(path)
        return cache[path]

    readme_lines = lines_of(readme)
    count = len(readme_lines) - (1 if readme_lines and readme_lines[-1] == '' else 0)
    if count > README_MAX_LINES:
        problems.append(f'README.md:{count}: {count} lines, more than {README_MAX_LINES}')
    if not has_contents_list(readme_lines):
        problems.append('README.md:1: no contents list (a "Contents" heading followed by links to its sections)')

    checked = 0
    for path in files:
        name = os.path.relpath(path, root)
        for number, target in links(lines_of(path)):
            if is_external(target):
                continue
            checked += 1
            target_path, _, anchor = target.partition('#')
            target_path = urllib.parse.unquote(target_path)
            anchor = urllib.parse.unquote(anchor)
            if target_path:
                if target_path.startswith('/'):
                    resolved = os.path.normpath(os.path.join(root, target_path.lstrip('/')))
                else:
                    resolved = os.path.normpath(os.path.join(os.path.dirname(path), target_path))
                if not os.path.exists(resolved):
                    problems.append(f'{name}:{number}: link to {target}: no file {os.path.relpath(resolved, root)}')
                    continue
            else:
                resolved = path
            if anchor:
                if not (os.path.isfile(resolved) and resolved.endswith('.md')):
                    problems.append(f'{name}:{number}: link to {target}: an anchor into a file that is not markdown')
                    continue
                if anchor not in anchors(lines_of(resolved)):
                    problems.append(f'{name}:{number}: link to {target}: no heading #{anchor} in '
                                    f'{os.path.relpath(resolved, root)}')

    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f'docs: ok ({len(files)} files, {checked} links)')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
