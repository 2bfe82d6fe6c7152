import CGit2

/// A git object id (SHA-1), a plain value.
public struct OID: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The 20 bytes in place, in their order in memory (no array per id: history walks keep hundreds of
    /// thousands of ids in sets and dictionaries).
    private let w0: UInt64, w1: UInt64, w2: UInt32

    /// The 20 raw bytes.
    public var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 20) { buf, count in
            let p = UnsafeMutableRawPointer(buf.baseAddress!)
            p.storeBytes(of: w0, toByteOffset: 0, as: UInt64.self)
            p.storeBytes(of: w1, toByteOffset: 8, as: UInt64.self)
            p.storeBytes(of: w2, toByteOffset: 16, as: UInt32.self)
            count = 20
        }
    }

    /// The id whose 20 bytes start at `p`.
    init(pointer p: UnsafeRawPointer) {
        w0 = p.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        w1 = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        w2 = p.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
    }

    init(_ oid: git_oid) {
        var copy = oid
        self = withUnsafeBytes(of: &copy.id) { OID(pointer: $0.baseAddress!) }
    }

    /// The id of these 20 bytes.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 20, "an object id has 20 bytes")
        self = bytes.withUnsafeBytes { OID(pointer: $0.baseAddress!) }
    }

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
        self.init(bytes: out)
    }

    var raw: git_oid {
        var oid = git_oid()
        withUnsafeMutableBytes(of: &oid.id) { dst in
            dst.storeBytes(of: w0, toByteOffset: 0, as: UInt64.self)
            dst.storeBytes(of: w1, toByteOffset: 8, as: UInt64.self)
            dst.storeBytes(of: w2, toByteOffset: 16, as: UInt32.self)
        }
        return oid
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(w0)
        hasher.combine(w1)
        hasher.combine(w2)
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

    /// Byte order (as git sorts ids): each word read big-endian compares as its bytes do.
    public static func < (a: OID, b: OID) -> Bool {
        (a.w0.bigEndian, a.w1.bigEndian, a.w2.bigEndian) < (b.w0.bigEndian, b.w1.bigEndian, b.w2.bigEndian)
    }

    /// All zeros: the id of a side of a diff where the file is absent.
    static let zero = OID(bytes: [UInt8](repeating: 0, count: 20))

    /// The id of the empty tree, which every repository implicitly has.
    public static let emptyTree = OID(bytes: [0x4b, 0x82, 0x5d, 0xc6, 0x42, 0xcb, 0x6e, 0xb9, 0xa0, 0x60, 0xe5, 0x4b, 0xf8, 0xd6, 0x92, 0x88, 0xfb, 0xee, 0x49, 0x04])
}
