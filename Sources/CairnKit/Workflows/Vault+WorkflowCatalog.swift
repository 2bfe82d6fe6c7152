import Foundation

/// All workflows of a vault, with the definitions that cannot run and why.
public struct WorkflowCatalog: Sendable {
    /// Definitions that parse and whose agents exist.
    public let definitions: [WorkflowDefinition]
    /// Every problem found, as file, line and reason.
    public let problems: [FileProblem]

    public func definition(named name: String) -> WorkflowDefinition? { definitions.first { $0.name == name } }
}

extension Vault {
    /// Reads `workflows/*.md` (except README.md) from the working tree and checks each against the agents in
    /// `agents/`: front matter, inputs, templates, step references, cycles, cron expressions, unknown agents.
    public func workflowCatalog() -> WorkflowCatalog {
        let dir = absolutePath("workflows")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter {
            $0.hasSuffix(".md") && $0.lowercased() != "readme.md"
        }.sorted()
        let agents = agentCatalog()
        var definitions: [WorkflowDefinition] = [], problems: [FileProblem] = []
        for file in names {
            let path = "workflows/" + file
            guard let data = FileManager.default.contents(atPath: absolutePath(path)) else { continue }
            do {
                let definition = try WorkflowDefinition.parse(path: path, data: data)
                let found = definition.problems(agents: agents)
                if found.isEmpty { definitions.append(definition) } else { problems += found }
            } catch let e as NoteError {
                problems.append(FileProblem(path: e.path, line: e.line, reason: e.reason))
            } catch {
                problems.append(FileProblem(path: path, reason: "\(error)"))
            }
        }
        return WorkflowCatalog(definitions: definitions, problems: problems)
    }
}

extension Vault {
    /// `cairn doctor`'s workflow section: every catalog problem is an error (a workflow that cannot run); a run
    /// that waits for the operator is a warning; a run whose state cannot be read is an error.
    func workflowFindings() -> [DoctorFinding] {
        var out = workflowCatalog().problems.map { DoctorFinding(severity: .error, path: $0.path, line: $0.line, message: $0.reason) }
        guard let refs = try? repository.references(withPrefix: Self.workflowsPrefix) else { return out }
        for ref in refs {
            let id = String(ref.name.dropFirst(Self.workflowsPrefix.count))
            do {
                let run = try loadWorkflowRun(id: id, at: ref.target).run
                if run.status == .waitingOperator {
                    out.append(DoctorFinding(severity: .warning, path: ref.name, line: nil,
                                             message: "workflow run \(run.status.rawValue): \(run.message ?? "")"))
                }
            } catch {
                out.append(DoctorFinding(severity: .error, path: ref.name, line: nil, message: "\(error)"))
            }
        }
        return out
    }
}
