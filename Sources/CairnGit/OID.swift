import CGit2

/// A git object id (SHA-1), a plain value.
public struct OID: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The 20 raw bytes.
    public let bytes: [UInt8]

    init(_ oid: git_oid) {
        var copy = oid
        bytes = withUnsafeBytes(of: &copy.id) { Array($0) }
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Parses 40 hex digits; nil when `hex` is not a full object id.
    public init?(hex: String) {
        guard hex.utf8.count == 40 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(20)
        var high: UInt8? = nil
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            case 65...70: v = c - 55
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        bytes = out
    }

    var raw: git_oid {
        var oid = git_oid()
        withUnsafeMutableBytes(of: &oid.id) { dst in
            bytes.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(dst.count))) }
        }
        return oid
    }

    /// The bytes in one call: the synthesized conformance combines them one at a time, a tenth of the time of a
    /// history walk that keeps commits and trees in sets and dictionaries.
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Lower-case hex.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(40)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The first `length` hex digits (default 10), for display.
    public func short(_ length: Int = 10) -> String { String(hex.prefix(length)) }

    public var description: String { hex }

    public static func < (a: OID, b: OID) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// All zeros: the id of a side of a diff where the file is absent.
    static let zero = OID(bytes: [UInt8](repeating: 0, count: 20))

    /// The id of the empty tree, which every repository implicitly has.
    public static let emptyTree = OID(bytes: [0x4b, 0x82, 0x5d, 0xc6, 0x42, 0xcb, 0x6e, 0xb9, 0xa0, 0x60, 0xe5, 0x4b, 0xf8, 0xd6, 0x92, 0x88, 0xfb, 0xee, 0x49, 0x04])
}
