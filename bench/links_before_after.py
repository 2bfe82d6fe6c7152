#!/usr/bin/env python3
"""The broken-link count `cairn doctor` reported before issue 15, on any vault: the search index's old query
(a wikilink is broken unless a note has that name, title or alias; a Markdown link unless the file exists), run on
the index `cairn index` builds in `.git/cairn/search.sqlite` (its schema is unchanged).

    cairn index && python3 bench/links_before_after.py VAULT

Compare with `cairn doctor` / `cairn links --unresolved --json` on the same vault (see bench/RESULTS.md, "Links").
"""
import os, sqlite3, subprocess, sys
vault = sys.argv[1]
db = sqlite3.connect(os.path.join(vault, ".git/cairn/search.sqlite"))
rows = db.execute("""SELECT d.path, l.kind, l.target, l.key, l.line FROM links l JOIN docs d ON d.id = l.doc_id
    WHERE (l.kind = 'wiki' AND NOT EXISTS (SELECT 1 FROM names n WHERE n.key = l.key))
       OR (l.kind = 'markdown' AND NOT EXISTS (SELECT 1 FROM docs x WHERE x.path = l.key))""").fetchall()
tracked = set(subprocess.run(["git", "-C", vault, "ls-files", "-z"], capture_output=True).stdout.decode().split("\0"))
broken = [r for r in rows if not (r[1] == "markdown" and (os.path.exists(os.path.join(vault, r[3])) or r[3] in tracked))]
att = sum(1 for r in broken if r[1] == "wiki" and os.path.splitext(r[2])[1].lower() not in ("", ".md"))
print(f"{len(broken)} broken links (old rule); {att} of them name a file with an extension other than .md")
