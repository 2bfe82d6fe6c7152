#!/usr/bin/env python3
"""Small offline helpers for the example workflows (no model needed).

Run by the command agents lead-intake, lead-score, call-context, call-brief, follow-up and call-summary:
`python3 agents/workflow-tools.py MODE`. Like every command agent, it runs in a temporary copy of the files
its agent may read; what it writes there becomes the proposal. Inputs arrive as CAIRN_INPUT_<NAME>, the
run's clock as CAIRN_NOW. A line `output.KEY: value` on standard output is a value later workflow steps
can use as {{steps.ID.output.KEY}}; a line `summary: …` is the proposal's title.
"""
import datetime
import os
import re
import sys


def arg(name, default=""):
    return os.environ.get("CAIRN_INPUT_" + name.upper(), default).strip()


def today():
    now = os.environ.get("CAIRN_NOW", "")
    try:
        return datetime.date.fromisoformat(now[:10])
    except ValueError:
        return datetime.date.today()


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "untitled"


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def split_front_matter(text):
    if text.startswith("---\n") and "\n---\n" in text[4:]:
        end = text.index("\n---\n", 4)
        return text[4:end], text[end + 5:]
    return "", text


def field(front, key):
    m = re.search(r"^" + key + r":\s*(.+)$", front, re.M)
    return m.group(1).strip().strip('"') if m else ""


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def lead_intake():
    lead = arg("lead")
    if not lead or not os.path.isfile(lead):
        fail(f"no lead file '{lead}' in the inbox (give --input lead=inbox/FILE.md)")
    front, body = split_front_matter(read(lead))
    sender = re.search(r"\*\*From:\*\*\s*(.+)", body)
    company = re.search(r"\*\*Company:\*\*\s*([^—\n]+)", body)
    name = company.group(1).strip() if company else field(front, "title").replace("Lead:", "").strip()
    words = [l for l in body.splitlines() if l.strip() and not l.startswith("**")]
    note = f"memory/projects/leads/{slug(name)}.md"
    write(note, f"""---
title: "Lead: {name}"
tier: projects
tags: [lead]
created: {today()}
source: {lead}
---
# Lead: {name}

- **From:** {sender.group(1).strip() if sender else "unknown"}
- **Company:** {company.group(0).split("**", 2)[-1].strip() if company else name}
- **Arrived:** {field(front, "created") or today()}

## In their words

""" + "\n".join("> " + l for l in words) + "\n")
    print(f"summary: file the lead from {name}")
    print(f"output.note: {note}")
    print(f"output.company: {name}")


def lead_score():
    note = arg("note")
    if not note or not os.path.isfile(note):
        fail(f"no lead note '{note}' (is the filing step approved?)")
    text = read(note)
    low = text.lower()
    money = [float(x.replace(",", ".")) for x in re.findall(r"(\d+(?:[.,]\d+)?)\s*m\b", low)]
    people = [int(x) for x in re.findall(r"(\d+)\s+people", low)]
    checks = [
        ("Online shop", any(w in low for w in ["shopify", "woocommerce", "online shop", "store"])),
        ("Size", any(1 <= m <= 20 for m in money) or any(5 <= p <= 50 for p in people)),
        ("Pain in their words", any(w in low for w in ["don't add up", "trust", "disagree", "different answers", "gut"])),
        ("An owner", "**from:** unknown" not in low and "**from:**" in low),
        ("Budget", "budget" in low or "€" in low and "cost" not in low),
        ("Timing", any(w in low for w in ["before", "season", "this quarter", "next month", "march", "april"])),
    ]
    yes = sum(1 for _, ok in checks if ok)
    verdict = "good fit" if yes >= 4 else ("maybe" if yes >= 2 else "not a fit")
    lines = [f"{i + 1}. {name}: {'yes' if ok else 'unknown'}" for i, (name, ok) in enumerate(checks)]
    reply = {
        "good fit": "Thanks for reaching out. This is exactly what the data health check is for: two weeks, "
                    "one set of numbers you can trust. Could we talk on Tuesday 10:00 or Thursday 14:00?",
        "maybe": "Thanks for reaching out. One question before we talk: roughly how large is the shop "
                 "(revenue or team size)?",
        "not a fit": "Thanks for reaching out. I don't think I'm the right fit, but I'm happy to point you "
                     "to someone who is.",
    }[verdict]
    text = text.replace("tags: [lead]", "tags: [lead, qualified]", 1)
    text += f"\n## Qualification ({today()})\n\n" + "\n".join(lines) + f"\n\n**{verdict}** ({yes} of 6)\n\n"
    text += "### Draft reply\n\n" + reply + "\n"
    write(note, text)
    print(f"summary: qualify {note}: {verdict}")
    print(f"output.verdict: {verdict}")


def call_context():
    company = arg("company")
    if not company:
        fail("give --input company=NAME")
    key = company.lower().split()[0]
    found = []
    for folder in ["memory", "inbox"]:
        for root, _, files in os.walk(folder):
            for f in sorted(files):
                path = os.path.join(root, f)
                if not f.endswith(".md"):
                    continue
                hits = [l.strip() for l in read(path).splitlines() if key in l.lower()]
                if hits:
                    found.append((path, hits[:3]))
    note = f"memory/working/calls/{slug(company)}-context.md"
    nothing = "Nothing yet: ask for the basics on the call.\n"
    body = "".join(f"- [[{os.path.splitext(os.path.basename(p))[0]}]] ({p})\n" + "".join(f"  - {h}\n" for h in hits)
                   for p, hits in sorted(found))
    write(note, f"""---
title: "Context: {company}"
tier: working
tags: [call, context]
created: {today()}
---
# What the vault knows about {company}

{body or nothing}""")
    print(f"summary: collect context on {company} ({len(found)} notes)")
    print(f"output.note: {note}")
    print(f"output.notes: {len(found)}")


def call_brief():
    company, context = arg("company"), arg("context")
    if not os.path.isfile(context):
        fail(f"no context note '{context}' (is the context step approved?)")
    checklist = "memory/knowledge/lead-qualification-checklist.md"
    questions = []
    if os.path.isfile(checklist):
        items = re.findall(r"^\d+\. (.+(?:\n {3}.+)*)", read(checklist), re.M)
        questions = [re.sub(r"\s+", " ", re.sub(r"\*\*", "", m)).split(". ")[0].rstrip(".") + "." for m in items]
    sources = re.findall(r"^- \[\[(.+?)\]\]", read(context), re.M)
    note = f"memory/projects/calls/{slug(company)}-brief.md"
    write(note, f"""---
title: "Discovery call brief: {company}"
tier: projects
tags: [call, brief]
created: {today()}
---
# Discovery call brief: {company}

Background: {", ".join(f"[[{s}]]" for s in sources) or "none in the vault yet"}.

## Goals of the call

- Hear the problem in their words, and who owns it.
- Decide: data health check, rebuild, or a kind no.

## Questions (from the qualification checklist)

""" + "".join(f"- {q}\n" for q in questions) + """
## Offer

The data health check (see [[pricing]]); never a fixed price without a scope.
""")
    print(f"summary: brief for the {company} discovery call")
    print(f"output.note: {note}")


def follow_up():
    company = arg("company")
    when = arg("when")
    try:
        day = datetime.date.fromisoformat(when) if when else today()
    except ValueError:
        fail(f"--input when={when} is not a date (YYYY-MM-DD)")
    due = day + datetime.timedelta(days=2)
    path = "memory/working/follow-ups.md"
    text = read(path) if os.path.isfile(path) else f"---\ntitle: Follow-ups\ntier: working\npinned: true\n---\n# Follow-ups\n\n"
    line = f"- [ ] {due}: follow up with {company} after the discovery call on {day}\n"
    if arg("cancel") == "yes":
        # The compensation: take the follow-up back out.
        write(path, text.replace(line, ""))
        print(f"summary: cancel the follow-up with {company}")
        return
    if line not in text:
        text += line
    write(path, text)
    print(f"summary: follow up with {company} on {due}")
    print(f"output.due: {due}")


def call_summary():
    company = arg("company")
    note = f"memory/working/calls/{slug(company)}-summary.md"
    write(note, f"""---
title: "Discovery call prepared: {company}"
tier: working
tags: [call]
created: {today()}
---
# Discovery call prepared: {company}

- Context: {arg("context") or "none"}
- Brief: {arg("brief") or "none"}
- Follow-up due: {arg("due") or "not scheduled"}

After the call, add what you learned to the brief and qualify the lead.
""")
    print(f"summary: summary of the {company} call preparation")
    print(f"output.note: {note}")


MODES = {"lead-intake": lead_intake, "lead-score": lead_score, "call-context": call_context,
         "call-brief": call_brief, "follow-up": follow_up, "call-summary": call_summary}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in MODES:
        fail("usage: workflow-tools.py " + "|".join(MODES))
    MODES[sys.argv[1]]()
