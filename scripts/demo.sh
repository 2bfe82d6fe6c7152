#!/usr/bin/env bash
# The end-to-end tour `make demo` runs, all offline: a fresh vault in a temporary folder, an edit made
# with a plain file write (as any editor would), status, diff, snapshot and log; then the built-in `gc`
# agent proposes archiving an expired note as one commit on its own branch, and the operator reviews
# and approves it; finally the lead-qualification workflow files and qualifies the lead in the inbox, one
# approved step at a time.
set -euo pipefail
CAIRN=${CAIRN:-.build/debug/cairn}
CAIRN=$(cd "$(dirname "$CAIRN")" && pwd)/$(basename "$CAIRN")
demo=$(mktemp -d "${TMPDIR:-/tmp}/cairn-demo.XXXXXX")
export HOME="$demo/home" GIT_CONFIG_GLOBAL="$demo/home/.gitconfig" GIT_CONFIG_NOSYSTEM=1
# Agents' work folders (kept between runs) go inside the demo folder too, so deleting it removes everything.
export TMPDIR="$demo/tmp"
# A fixed clock makes the tour the same every time (the template's working note expires 2026-01-19).
export CAIRN_NOW=2026-03-02T09:00:00Z CAIRN_PAGER=
mkdir -p "$HOME" "$TMPDIR"
vault="$demo/vault"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$*"; "$@"; }

run "$CAIRN" init --example "$vault" --name "Ada Operator" --email ada@example.com
cd "$vault"
step "edit memory/working/this-week.md and add inbox/call-notes.md with a plain file write"
printf '\n- [ ] Send the Acme proposal by Friday #acme\n' >> memory/working/this-week.md
cat > inbox/call-notes.md <<'NOTE'
---
title: Call with Acme
tags: [acme, lead]
---
Acme wants a discovery call next week. See [[business]].
NOTE
run "$CAIRN" status
run "$CAIRN" diff --stat
run "$CAIRN" snapshot
run "$CAIRN" log
run "$CAIRN" show HEAD
run "$CAIRN" note new "Acme discovery call" --tier projects --tag acme --no-edit
run "$CAIRN" snapshot -m "Start the Acme project note"
run "$CAIRN" agent list
run "$CAIRN" agent run gc
run "$CAIRN" proposals
run "$CAIRN" review gc
run "$CAIRN" approve gc --note "Archive it; the week is over."
run "$CAIRN" log -n 4
run "$CAIRN" why memory/knowledge/archive/2026/this-week.md
run "$CAIRN" workflow list
run "$CAIRN" workflow run lead-qualification --input lead=inbox/2026-01-06-lead-acme.md
run "$CAIRN" approve _file_1 --note "Filed correctly."
run "$CAIRN" review _qualify_1
run "$CAIRN" approve _qualify_1 --note "Good fit; sending the reply."
run "$CAIRN" runs
run "$CAIRN" doctor
step "git agrees: git fsck --strict && git log --oneline --graph"
git fsck --strict && git log --oneline --graph
printf '\nThe demo vault is in %s (a plain git repository; delete %s when done).\n' "$vault" "$demo"
