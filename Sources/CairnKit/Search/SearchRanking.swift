import GRDB
import Foundation
import GRDBSQLite

/// `cairn_bm25(fts, idf₀, idf₁, …)`: the BM25 score of FTS5's `bm25(fts, 10.0, 5.0, 1.0)` (title ×10,
/// tags ×5, body ×1; k1 = 1.2, b = 0.75; lower is better), except that each phrase's IDF is passed in.
///
/// FTS5's own `bm25()` counts the rows matching every phrase on the first row of each query: a walk of
/// the phrase's whole doclist, ~30 ms for a word found in 100k notes, however few rows are then ranked.
/// Cairn computes the IDF with the same formula from document counts it caches per index version
/// (`SearchIndex.documentCount(of:in:)`), so ranking a window of matches costs only those rows.
enum SearchRanking {
    static let functionName = "cairn_bm25"
    static let columnWeights: [Double] = [10, 5, 1]
    static let k1 = 1.2
    static let b = 0.75

    /// FTS5's IDF: ln((N − n + 0.5) / (n + 0.5)), at least 1e-6 (a word in over half the rows weighs almost nothing).
    static func idf(rows: Int, matching: Int) -> Double {
        let value = log((Double(rows) - Double(matching) + 0.5) / (Double(matching) + 0.5))
        return value > 0 ? value : 1e-6
    }

    /// Registers `cairn_bm25` on a connection (FTS5 auxiliary functions are per connection).
    static func register(_ db: Database) {
        let api = FTS5.api(db)
        guard let create = api.pointee.xCreateFunction else { return }
        _ = create(UnsafeMutablePointer(mutating: api), functionName, nil, cairnBM25, nil)
    }
}

/// The auxiliary function: for the current row, Σ idfᵢ · fᵢ(k1 + 1) / (fᵢ + k1(1 − b + b·D/avgD)), where fᵢ is
/// phrase i's column-weighted frequency in the row and D its length in tokens; returned negated.
private func cairnBM25(_ api: UnsafePointer<Fts5ExtensionApi>?, _ fts: OpaquePointer?, _ context: OpaquePointer?,
                       _ count: Int32, _ values: UnsafeMutablePointer<OpaquePointer?>?) {
    guard let api = api?.pointee, let fts, let phraseCount = api.xPhraseCount, let instCount = api.xInstCount,
          let inst = api.xInst, let columnSize = api.xColumnSize, let rowCount = api.xRowCount,
          let totalSize = api.xColumnTotalSize else {
        sqlite3_result_error(context, "cairn_bm25: FTS5 API unavailable", -1)
        return
    }
    let phrases = Int(phraseCount(fts))
    var frequencies = [Double](repeating: 0, count: phrases)
    var instances: Int32 = 0
    guard instCount(fts, &instances) == SQLITE_OK else { sqlite3_result_error(context, "cairn_bm25: xInstCount failed", -1); return }
    let weights = SearchRanking.columnWeights
    for i in 0..<instances {
        var phrase: Int32 = 0, column: Int32 = 0, offset: Int32 = 0
        guard inst(fts, i, &phrase, &column, &offset) == SQLITE_OK else { continue }
        if Int(phrase) < phrases { frequencies[Int(phrase)] += Int(column) < weights.count ? weights[Int(column)] : 1 }
    }
    var rows: sqlite3_int64 = 0, total: sqlite3_int64 = 0, length: Int32 = 0
    _ = rowCount(fts, &rows)
    _ = totalSize(fts, -1, &total)
    _ = columnSize(fts, -1, &length)
    let average = rows > 0 ? Double(total) / Double(rows) : 1
    let norm = SearchRanking.k1 * (1 - SearchRanking.b + SearchRanking.b * Double(length) / max(average, 1e-9))
    var score = 0.0
    for p in 0..<phrases where frequencies[p] > 0 {
        let idf = Int32(p) < count ? sqlite3_value_double(values?[p]) : 1e-6
        score += idf * frequencies[p] * (SearchRanking.k1 + 1) / (frequencies[p] + norm)
    }
    sqlite3_result_double(context, -score)
}
