import Foundation

/// Finds notes whose text is nearly the same: word shingles, MinHash signatures, LSH banding for
/// candidate pairs, then an exact Jaccard check of every candidate.
///
/// Two notes are near-duplicates when the Jaccard similarity of their sets of 3-word shingles
/// (lowercased words, split as the search index splits them) is at least `threshold` (0.7 by
/// default: about one word in ten changed, reordered or added). Signatures have 64 MinHash values in
/// 16 bands of 4 rows, so a pair at similarity 0.7 becomes a candidate with probability 0.988
/// (1 − (1 − 0.7⁴)¹⁶), one at 0.8 with 0.9998; candidates are then checked exactly, so no pair
/// below the threshold is ever reported. Every hash is seeded with constants: the output depends
/// only on the input, never on the process (Swift's `Hasher` is randomly seeded and not used).
public struct NearDuplicateFinder: Sendable {
    /// One pair of near-duplicate documents, `first < second` by path.
    public struct Pair: Sendable, Hashable {
        public let first: String
        public let second: String
        /// Exact Jaccard similarity of the two shingle sets, 0…1.
        public let similarity: Double
    }

    public static let defaultThreshold = 0.7
    /// Words per shingle.
    public static let shingleWords = 3
    /// Documents with fewer words are left out: a few shared words say nothing.
    public static let minimumWords = 12
    static let bands = 16
    static let rows = 4
    static let hashes = bands * rows
    /// LSH buckets holding more documents than this are not paired (bounds the work on mass copies).
    static let maxBucket = 400

    public var threshold: Double

    public init(threshold: Double = Self.defaultThreshold) {
        self.threshold = threshold
    }

    /// The near-duplicate pairs among `documents` (path and text), sorted by first then second path.
    public func pairs(_ documents: [(path: String, text: String)]) -> [Pair] {
        let docs = documents.sorted { $0.path < $1.path }
        var shingles: [[UInt64]] = []
        var paths: [String] = []
        var index = NearDuplicateIndex()
        for doc in docs {
            let set = Self.shingles(doc.text)
            guard !set.isEmpty else { continue }
            index.add(set)
            shingles.append(set)
            paths.append(doc.path)
        }
        var found: [Pair] = []
        for (a, b) in index.candidates() {
            let similarity = Self.jaccard(shingles[a], shingles[b])
            if similarity >= threshold {
                found.append(Pair(first: paths[min(a, b)], second: paths[max(a, b)], similarity: similarity))
            }
        }
        return found.sorted { ($0.first, $0.second) < ($1.first, $1.second) }
    }

    /// The sorted, distinct hashes of the text's 3-word shingles; empty for a text under `minimumWords` words.
    static func shingles(_ text: String) -> [UInt64] {
        let hashes = wordHashes(text)
        guard hashes.count >= minimumWords else { return [] }
        var out: [UInt64] = []
        out.reserveCapacity(hashes.count)
        for i in 0...(hashes.count - shingleWords) {
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for j in 0..<shingleWords { h = mix(h ^ hashes[i + j]) }
            out.append(h)
        }
        out.sort()
        var unique: [UInt64] = []
        unique.reserveCapacity(out.count)
        for h in out where unique.last != h { unique.append(h) }
        return unique
    }

    /// `fnv1a` of each word of `SearchQuery.words(in: text)`, in order, without making a string per word: ASCII
    /// words (the common case) are lowercased and hashed byte by byte; a word with any other character goes the
    /// way of `SearchQuery.words` (`String.lowercased()`), so the hashes are the same.
    static func wordHashes(_ text: String) -> [UInt64] {
        var out: [UInt64] = []
        var ascii: [UInt8] = []  // the current word while it is ASCII, lowercased
        var other: String.UnicodeScalarView? = nil  // the current word once it holds a non-ASCII character
        func endWord() {
            if let word = other {
                out.append(fnv1a(String(word).lowercased()))
                other = nil
            } else if !ascii.isEmpty {
                var h: UInt64 = 0xCBF2_9CE4_8422_2325
                for byte in ascii { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
                out.append(h)
            }
            ascii.removeAll(keepingCapacity: true)
        }
        for scalar in text.unicodeScalars {
            if scalar.value < 0x80 {
                let byte = UInt8(scalar.value)
                // In ASCII, the letters are the only alphabetic characters and the digits the only numeric ones.
                let lower = byte | 0x20
                if lower >= 0x61 && lower <= 0x7A {
                    if other != nil { other!.append(scalar) } else { ascii.append(lower) }
                } else if byte >= 0x30 && byte <= 0x39 {
                    if other != nil { other!.append(scalar) } else { ascii.append(byte) }
                } else {
                    endWord()
                }
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                        || scalar.properties.generalCategory == .nonspacingMark {
                if other == nil {
                    var word = String.UnicodeScalarView()
                    for byte in ascii { word.append(Unicode.Scalar(byte)) }
                    other = word
                }
                other!.append(scalar)
            } else {
                endWord()
            }
        }
        endWord()
        return out
    }

    /// 64 MinHash values: for each seeded hash function, the least hash over the shingles.
    static func signature(_ shingles: [UInt64]) -> [UInt64] {
        var signature = [UInt64](repeating: .max, count: hashes)
        seeds.withUnsafeBufferPointer { seeds in
            signature.withUnsafeMutableBufferPointer { signature in
                for s in shingles {
                    for k in 0..<hashes {
                        let h = mix(s ^ seeds[k])
                        if h < signature[k] { signature[k] = h }
                    }
                }
            }
        }
        return signature
    }

    /// |A ∩ B| / |A ∪ B| of two sorted, distinct arrays.
    static func jaccard(_ a: [UInt64], _ b: [UInt64]) -> Double {
        var i = 0, j = 0, common = 0
        while i < a.count && j < b.count {
            if a[i] == b[j] { common += 1; i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        let union = a.count + b.count - common
        return union == 0 ? 0 : Double(common) / Double(union)
    }

    /// The seeds of the 64 hash functions: a fixed splitmix64 sequence.
    static let seeds: [UInt64] = {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        return (0..<(bands * rows)).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            return NearDuplicateFinder.mix(state)
        }
    }()

    /// The splitmix64 finalizer: a fast, well-mixing 64-bit permutation.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func fnv1a(_ word: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in word.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}

/// MinHash signatures of documents added one at a time, and the candidate pairs their LSH bands give: what
/// `NearDuplicateFinder` needs to hold per document (64 hashes, 512 bytes) instead of its text or shingles, so
/// a caller can stream a large vault and re-read only the candidates for the exact check.
public struct NearDuplicateIndex: Sendable {
    private var signatures: [UInt64] = []

    public init() {}

    /// Number of documents added.
    public var count: Int { signatures.count / NearDuplicateFinder.hashes }

    /// Adds a document by its shingles (`NearDuplicateFinder.shingles`, not empty); returns its number (0, 1, …).
    @discardableResult
    public mutating func add(_ shingles: [UInt64]) -> Int {
        add(signature: NearDuplicateFinder.signature(shingles))
    }

    /// Adds a document by its signature (`NearDuplicateFinder.signature` of its shingles, made on any thread);
    /// returns its number.
    @discardableResult
    mutating func add(signature: [UInt64]) -> Int {
        signatures += signature
        return count - 1
    }

    /// Every pair of documents (smaller number first) that share a band, once; buckets larger than
    /// `NearDuplicateFinder.maxBucket` are not paired.
    public func candidates() -> [(Int, Int)] {
        let width = NearDuplicateFinder.hashes, rows = NearDuplicateFinder.rows
        var candidates = Set<Int64>()
        for band in 0..<NearDuplicateFinder.bands {
            var buckets: [UInt64: [Int32]] = [:]
            for i in 0..<count {
                var key = NearDuplicateFinder.mix(UInt64(band) &+ 0x9E37_79B9_7F4A_7C15)
                for r in 0..<rows { key = NearDuplicateFinder.mix(key ^ signatures[i * width + band * rows + r]) }
                buckets[key, default: []].append(Int32(i))
            }
            for members in buckets.values where members.count > 1 && members.count <= NearDuplicateFinder.maxBucket {
                for x in 0..<members.count {
                    for y in (x + 1)..<members.count {
                        candidates.insert(Int64(members[x]) << 32 | Int64(members[y]))
                    }
                }
            }
        }
        return candidates.sorted().map { (Int($0 >> 32), Int($0 & 0xFFFF_FFFF)) }
    }
}
