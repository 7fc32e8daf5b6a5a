#!/usr/bin/env python3
"""IDs in TODO_backend-architect.md mean the same thing in every variant: an ID present in
two variants carries the same [tag] in both. Usage: todo_stable.py <ids file>..."""

import sys

titles, problems = {}, []
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        ident, title = line.rstrip("\n").split("\t", 1)
        # The [tag] names what the item is about: its identity. The wording after it may
        # differ between variants (done in one, a first step in another).
        if not title.startswith("["):
            problems.append(f"{ident} in {path}: no [tag] naming what the item is about")
            continue
        tag = title.split("]")[0] + "]"
        if ident in titles and titles[ident][1] != tag:
            problems.append(f"{ident}: '{titles[ident][1]}' in {titles[ident][0]}, '{tag}' in {path}")
        titles.setdefault(ident, (path, tag))
print(f"{len(titles)} IDs across {len(sys.argv) - 1} variants")
for problem in problems:
    print("  " + problem)
sys.exit(1 if problems else 0)
