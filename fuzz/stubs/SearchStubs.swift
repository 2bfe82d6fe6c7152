// Fuzz builds leave the search index (SQLite through GRDB) out of CairnKit. The parsers under test never search;
// these stand in for the two entry points the rest of CairnKit calls, so it compiles without GRDB.
import CairnGit

struct Retriever {
    init(candidates: Int = 200) {}
    func retrieve(task: String, readScope: [Glob], budgetTokens: Int, vault: Vault,
                  excluding: Set<String> = [], tree: OID? = nil) throws -> [ContextItem] { [] }
}

extension Vault {
    func brokenLinks() throws -> [BrokenLink] { [] }
}
