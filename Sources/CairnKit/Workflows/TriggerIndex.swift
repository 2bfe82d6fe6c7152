import Foundation

/// The triggers of every valid workflow, cached in `.git/cairn/tick-triggers.json` so that an idle tick does
/// not parse every workflow and agent file each minute.
///
/// Keyed by a fingerprint of `workflows/*.md` and `agents/*.md` (name, size, modification time in
/// nanoseconds): any edit, addition or removal rebuilds it from `workflowCatalog()`. A derived cache: deleting it
/// costs one rebuild.
struct TriggerIndex: Codable, Equatable {
    struct Entry: Codable, Equatable {
        var name: String
        var schedules: [String]
        var paths: [String]
        var events: [String]
    }

    var version = 1
    var fingerprint: String
    var workflows: [Entry]
}

extension Vault {
    private var triggerIndexPath: String { gitDir + "cairn/tick-triggers.json" }

    /// The current trigger index: the cached one when the definitions did not change, else rebuilt (and cached).
    func triggerIndex() -> TriggerIndex {
        let fingerprint = definitionsFingerprint()
        if let data = FileManager.default.contents(atPath: triggerIndexPath),
           let cached = try? JSONDecoder().decode(TriggerIndex.self, from: data), cached.version == 1,
           cached.fingerprint == fingerprint {
            return cached
        }
        let index = TriggerIndex(fingerprint: fingerprint, workflows: workflowCatalog().definitions.map {
            TriggerIndex.Entry(name: $0.name, schedules: $0.schedules, paths: $0.pathGlobs, events: $0.events)
        })
        try? FileManager.default.createDirectory(atPath: gitDir + "cairn", withIntermediateDirectories: true)
        try? RecordJSON.encode(index).write(to: URL(fileURLWithPath: triggerIndexPath), options: .atomic)
        return index
    }

    /// Name, size and nanosecond modification time of every file in `workflows/` and `agents/`.
    private func definitionsFingerprint() -> String {
        var parts: [String] = []
        for folder in ["workflows", "agents"] {
            let dir = absolutePath(folder)
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
                var st = stat()
                guard stat(dir + "/" + name, &st) == 0 else { continue }
                parts.append("\(folder)/\(name):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec):\(st.st_ino)")
            }
        }
        return parts.joined(separator: "\n")
    }

    /// Agent names from `agents/*.md` file names, without parsing the files.
    func agentNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: absolutePath("agents"))) ?? [])
            .filter { $0.hasSuffix(".md") && $0.lowercased() != "readme.md" }
            .map { String($0.dropLast(3)) }.sorted()
    }
}
