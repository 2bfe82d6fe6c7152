import CairnGit
import Foundation

extension Vault {
    /// What an agent run is searched by: its input values (by key), then its description and instructions.
    static func taskText(agent: AgentDefinition, input: [String: String]) -> String {
        var parts = input.keys.sorted().compactMap { input[$0] }
        if let description = agent.description { parts.append(description) }
        parts.append(agent.instructions)
        return parts.joined(separator: "\n")
    }

    /// The tokens of retrieved notes `agent` is given besides core memory.
    static func contextBudget(agent: AgentDefinition, policy: Policy) -> Int {
        agent.contextTokens ?? policy.memory.contextTokenBudget
    }

    /// True when every file of the read scope fits the budget, so ranking would choose nothing: the run then
    /// skips the search index (whose update would cost more than the run). Stops at the first file over.
    static func scopeFits(base: BaseSnapshot, files: [TreeFile], excluding: Set<String>, budget: Int) throws -> Bool {
        var used = 0
        for f in files where !excluding.contains(f.path) {
            used += ContextItem.estimateTokens(try base.repository.objectHeader(f.oid)?.size ?? base.repository.blob(f.oid).count)
            if used > budget { return false }
        }
        return true
    }

    /// Core memory and the notes of the agent's read scope that best match its task, each pinned by
    /// the blob id it has in `base`; returns the context and the text of every item, by `ContextItem.label`
    /// (a long note's passages are items of their own, labelled `path:first-last`).
    ///
    /// - Core: the Markdown notes under `memory/core/`, in path order, while they fit the policy's
    ///   `memory.core_token_budget` (a note that does not fit is left out; smaller ones after it load).
    /// - Retrieved, within the agent's `context_tokens:` or else the policy's
    ///   `memory.context_token_budget`: first the read-scope notes `Retriever` ranks for the task
    ///   (input values, description, instructions; reason `search: <words>`), then, while budget is
    ///   left, the other read-scope files in path order (reason `read-scope`), so a small scope is
    ///   shown whole. A scope that fits the budget entirely is shown whole without searching. Built-in
    ///   agents read `base` themselves and get no search.
    ///
    /// Every item's tokens come from `ContextItem.estimateTokens`. Nothing outside the read scope is
    /// retrieved (core memory aside). When the search index cannot be used the run still gets its
    /// read scope by path, and the reason says so. `scopeFiles` are the files of `base` the agent's `reads` match
    /// (`BaseSnapshot.files(matching:)`), listed once for the whole run.
    func buildContext(agent: AgentDefinition, base: BaseSnapshot, scopeFiles: [TreeFile], runID: String, input: [String: String],
                      now: Date, policy: Policy) throws -> (AgentContext, [(path: String, content: String)]) {
        var files: [(path: String, content: String)] = []
        var core: [ContextItem] = [], retrieved: [ContextItem] = []
        var seen = Set<String>()
        // Obsidian templates (`{{date}}`, `<% … %>` placeholders) are not memory: never given to an agent.
        let templates = ObsidianSettings.read(root: root)

        var coreLeft = policy.memory.coreTokenBudget
        for f in try base.files(matching: [Glob("memory/core/**")]) where f.path.hasSuffix(".md") && !templates.isTemplate(f.path) {
            guard let data = try? repository.blob(f.oid) else { continue }
            let tokens = ContextItem.estimateTokens(data.count)
            guard tokens <= coreLeft else { continue }
            coreLeft -= tokens
            core.append(ContextItem(path: f.path, blob: f.oid.hex, score: 1, reason: "core", tokens: tokens))
            files.append((f.path, String(decoding: data, as: UTF8.self)))
            seen.insert(f.path)
        }

        var left = Self.contextBudget(agent: agent, policy: policy)
        let scope = agent.reads.map(Glob.init)
        var fillReason = "read-scope"
        var indexed: [String: (blob: String, size: Int)] = [:]
        if agent.kind != .builtin, left > 0, !scope.isEmpty, try !Self.scopeFits(base: base, files: scopeFiles, excluding: seen, budget: left) {
            do {
                let found = try Retriever().retrieve(task: Self.taskText(agent: agent, input: input), readScope: scope,
                                                     budgetTokens: left, vault: self, excluding: seen, tree: base.tree)
                for item in found where !templates.isTemplate(item.path) {
                    guard let oid = OID(hex: item.blob), let data = try? repository.blob(oid) else { continue }
                    retrieved.append(item)
                    files.append((item.label, item.excerpt(of: String(decoding: data, as: UTF8.self))))
                    seen.insert(item.path)
                    left -= item.tokens
                }
                if left > 0 { indexed = (try? searchIndex.committedSizes(under: scope)) ?? [:] }
            } catch {
                fillReason = "read-scope (search index unavailable: \(error))"
            }
        }
        if left > 0 {
            // Sizes come from the search index where it has the same blob (after a retrieval, which brought it up
            // to date), else from the object headers: once the budget is nearly spent most files do not fit, and
            // inflating each of them only to find that out read the whole scope (every note of a large vault).
            for f in scopeFiles where !seen.contains(f.path) && !templates.isTemplate(f.path) {
                guard left > 0 else { break }
                let known = indexed[f.path].flatMap { $0.blob == f.oid.hex ? $0.size : nil }
                guard let size = known ?? (try? repository.objectHeader(f.oid)?.size), ContextItem.estimateTokens(size) <= left,
                      let data = try? repository.blob(f.oid) else { continue }
                let tokens = ContextItem.estimateTokens(data.count)
                guard tokens <= left else { continue }
                left -= tokens
                retrieved.append(ContextItem(path: f.path, blob: f.oid.hex, score: 0, reason: fillReason, tokens: tokens))
                files.append((f.path, String(decoding: data, as: UTF8.self)))
            }
        }
        let context = AgentContext(runID: runID, agent: agent.name, input: input, base: base.commit.hex,
                                   now: ISOTime.string(now), core: core, retrieved: retrieved)
        return (context, files)
    }
}
