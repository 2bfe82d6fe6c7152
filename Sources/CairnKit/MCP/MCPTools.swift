import MCP

/// The tools `cairn mcp` offers, with descriptions written for the model that reads them.
enum MCPTools {
    static let search = "search_memory"
    static let read = "read_note"
    static let list = "list_notes"
    static let recent = "recent_changes"
    static let propose = "propose_edit"
    static let proposals = "list_proposals"
    static let explain = "explain_line"
    static let runAgent = "run_agent"
    static let startWorkflow = "start_workflow"

    static let readOnly = Tool.Annotations(readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false)

    static func object(_ properties: [String: Value], required: [String] = []) -> Value {
        var schema: [String: Value] = ["type": "object", "properties": .object(properties), "additionalProperties": false]
        if !required.isEmpty { schema["required"] = .array(required.map { .string($0) }) }
        return .object(schema)
    }

    static func string(_ description: String, enum values: [String]? = nil) -> Value {
        var s: [String: Value] = ["type": "string", "description": .string(description)]
        if let values { s["enum"] = .array(values.map { .string($0) }) }
        return .object(s)
    }

    static func integer(_ description: String, minimum: Int, maximum: Int? = nil) -> Value {
        var s: [String: Value] = ["type": "integer", "description": .string(description), "minimum": .int(minimum)]
        if let maximum { s["maximum"] = .int(maximum) }
        return .object(s)
    }

    static let inputMap: Value = .object([
        "type": "object", "additionalProperties": ["type": "string"],
        "description": "Input values by name (strings), as the agent or workflow declares them.",
    ])

    static let all: [Tool] = [
        Tool(name: search, title: "Search memory",
             description: """
             Search the vault's notes (the business's memory) with BM25 ranking. Returns the best passages: each \
             with the note's path, the line range of the passage, its text, title, tier, tags and the note's blob id. \
             Query syntax: words (all must match), "quoted phrases", prefix*, -excluded. Filters narrow by tier \
             (core, working, projects, knowledge), tag and path glob. Uncommitted edits made in an editor are included.
             """,
             inputSchema: object([
                "query": string("Words to look for; may be empty when a filter is given."),
                "tier": string("Only notes of this memory tier.", enum: Tier.allCases.map(\.rawValue)),
                "tag": string("Only notes with this tag (without #)."),
                "path": string("Only notes whose path matches this glob, e.g. memory/projects/** ."),
                "limit": integer("Most passages returned (default 10).", minimum: 1, maximum: 50),
             ]),
             annotations: readOnly),
        Tool(name: read, title: "Read a note",
             description: """
             Read a note (or any text file of the vault) by its vault-relative path, whole or a line range. Returns \
             the text, the line numbers, and the blob id of the whole file as it is now (including unsaved-to-git \
             editor edits). Pass that blob id as expected_blob to propose_edit so that an edit based on an old \
             version becomes a stale proposal instead of overwriting newer work.
             """,
             inputSchema: object([
                "path": string("Vault-relative path, e.g. memory/projects/acme.md ."),
                "start_line": integer("First line to return (1-based).", minimum: 1),
                "end_line": integer("Last line to return (inclusive).", minimum: 1),
             ], required: ["path"]),
             annotations: readOnly),
        Tool(name: list, title: "List notes",
             description: "List notes under a folder (default: memory), optionally only one tier or tag: path, title, tier and tags of each.",
             inputSchema: object([
                "folder": string("Vault-relative folder or path glob (default memory)."),
                "tier": string("Only notes of this tier.", enum: Tier.allCases.map(\.rawValue)),
                "tag": string("Only notes with this tag."),
                "limit": integer("Most notes listed (default 100).", minimum: 1, maximum: 1000),
             ]),
             annotations: readOnly),
        Tool(name: recent, title: "Recent changes",
             description: """
             The vault's latest commits, newest first: who made each (the operator, or which agent run and who \
             approved it), when, the summary and the files changed. Optionally only those touching a path.
             """,
             inputSchema: object([
                "path": string("Only commits that changed this file or folder."),
                "limit": integer("Most commits (default 20).", minimum: 1, maximum: 200),
             ]),
             annotations: readOnly),
        Tool(name: propose, title: "Propose an edit",
             description: """
             Propose changes to notes for the operator to review. Nothing changes until the operator approves: the \
             edits become one proposal (a commit on its own branch) shown to them as a diff. Several files may be \
             edited in one proposal. Actions: create (a new file), replace (the whole file, or start_line-end_line), \
             append (text at the end), delete. Give expected_blob (from read_note or search_memory) for every file \
             you change that you read: if the file changed since, the proposal is marked stale and cannot be \
             approved, so newer work is never overwritten. Policy applies: only notes under memory/ and inbox/, no \
             protected files, no credentials, text only.
             """,
             inputSchema: object([
                "summary": string("One line saying what the change does, shown to the operator (e.g. 'Add Acme call notes')."),
                "rationale": string("Why, in a few sentences (optional)."),
                "edits": .object([
                    "type": "array", "minItems": 1, "maxItems": 50, "description": "The changes, one per file.",
                    "items": object([
                        "path": string("Vault-relative path of the file."),
                        "action": string("What to do with the file.", enum: EditRequest.Action.allCases.map(\.rawValue)),
                        "content": string("The new text (create, replace) or the text to add (append); not for delete."),
                        "start_line": integer("replace only: first line replaced (1-based).", minimum: 1),
                        "end_line": integer("replace only: last line replaced (inclusive).", minimum: 1),
                        "expected_blob": string("The blob id of the version you read (40 hex digits)."),
                    ], required: ["path", "action"]),
                ]),
             ], required: ["summary", "edits"]),
             annotations: Tool.Annotations(readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false)),
        Tool(name: proposals, title: "Proposals and their status",
             description: """
             Without id: the proposals waiting for the operator's review (id, who proposed it, summary, files, \
             whether it is stale). With id: that proposal's status — pending, stale, approved, rejected or \
             auto-approved — and its files.
             """,
             inputSchema: object(["id": string("A proposal (run) id, or a unique prefix or suffix of one.")]),
             annotations: readOnly),
        Tool(name: explain, title: "Explain a line",
             description: """
             Why a line of a note is what it is: the commit that last changed it, who made it (the operator, or an \
             agent run with its inputs and the memory it was shown) and the approval that let it in.
             """,
             inputSchema: object([
                "path": string("Vault-relative path of a committed file."),
                "line": integer("The line (1-based); without it, the file's last change.", minimum: 1),
             ], required: ["path"]),
             annotations: readOnly),
        Tool(name: runAgent, title: "Run an agent",
             description: """
             Run one of the vault's agents (agents/NAME.md) on the current notes. Its result is a proposal the \
             operator reviews, never a direct change (unless policy lets that agent merge on its own). Quotas and \
             circuit breakers apply; the call returns when the run is done.
             """,
             inputSchema: object(["name": string("The agent's name (its file in agents/ without .md)."), "input": inputMap],
                                 required: ["name"]),
             annotations: Tool.Annotations(readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true)),
        Tool(name: startWorkflow, title: "Start a workflow",
             description: """
             Start one of the vault's workflows (workflows/NAME.md) with its inputs. Its steps run as agent runs \
             until a step waits for the operator's approval; returns the run's id and each step's status.
             """,
             inputSchema: object(["name": string("The workflow's name (its file in workflows/ without .md)."), "input": inputMap],
                                 required: ["name"]),
             annotations: Tool.Annotations(readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true)),
    ]
}
