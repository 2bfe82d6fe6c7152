import Foundation
import Logging
import MCP
#if canImport(Glibc)
import Glibc
#endif

/// MCP's stdio transport: one JSON-RPC message per line on a pair of file descriptors.
///
/// Unlike the SDK's `StdioTransport` (non-blocking reads polled every 10 ms, a line buffer rescanned from its
/// start on every read), this one reads on a thread of its own with blocking reads, scans only new bytes for the
/// newline, and bounds a message at `maxMessageBytes`: a longer line is dropped as it arrives (memory stays
/// bounded) and answered with an error carrying its request id, as is a line that is not JSON — so no input can
/// make the server hang or grow without end. Writes are blocking and serialized by the actor.
public actor LineTransport: Transport {
    public nonisolated let logger = Logger(label: "cairn.mcp.transport", factory: { _ in SwiftLogNoOpLogHandler() })
    /// The longest message read; longer lines are refused.
    public static let maxMessageBytes = 16 << 20

    private let input: Int32
    private let output: Int32
    private let stream: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private var connected = false

    public init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO) {
        self.input = input
        self.output = output
        (stream, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
    }

    public func connect() async throws {
        guard !connected else { return }
        connected = true
        signal(SIGPIPE, SIG_IGN)
        let fd = input, continuation = continuation, max = Self.maxMessageBytes
        let reader = Thread { [weak self] in
            Self.readLines(fd: fd, maxBytes: max, deliver: { continuation.yield($0) }, refuse: { reply in
                guard let self else { return }
                Task { try? await self.send(reply) }
            })
            continuation.finish()
        }
        reader.stackSize = 1 << 20
        reader.start()
    }

    public func disconnect() async {
        connected = false
        continuation.finish()
    }

    public func send(_ data: Data) async throws {
        var line = data
        line.append(0x0A)
        Descriptor.writeAll(output, line)
    }

    public func receive() -> AsyncThrowingStream<Data, any Error> { stream }

    /// Reads `fd` until end of file, handing each complete line that is JSON to `deliver`; an oversized line
    /// or one that is not JSON gets an error response handed to `refuse` instead.
    nonisolated static func readLines(fd: Int32, maxBytes: Int, deliver: (Data) -> Void, refuse: @escaping (Data) -> Void) {
        var pending = Data()
        var dropping = false     // inside a line longer than maxBytes
        var droppedHead = Data() // the start of that line, to find its id
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; break }
            if n == 0 { break }
            var chunk = buffer[0..<n]
            while !chunk.isEmpty {
                guard let newline = chunk.firstIndex(of: 0x0A) else {
                    if dropping { break }
                    pending.append(contentsOf: chunk)
                    if pending.count > maxBytes {
                        dropping = true
                        droppedHead = pending.prefix(512)
                        pending = Data()
                    }
                    break
                }
                let piece = chunk[chunk.startIndex..<newline]
                chunk = chunk[(newline + 1)...]
                if dropping {
                    dropping = false
                    refuse(errorResponse(id: requestID(in: droppedHead), code: -32600,
                                         message: "message larger than \(maxBytes / (1 << 20)) MiB; refused (notes are text of at most \(EditRequest.maxContentBytes / (1 << 20)) MiB)"))
                    droppedHead = Data()
                    continue
                }
                pending.append(contentsOf: piece)
                if pending.count > maxBytes {
                    refuse(errorResponse(id: requestID(in: pending.prefix(512)), code: -32600,
                                         message: "message larger than \(maxBytes / (1 << 20)) MiB; refused"))
                    pending = Data()
                    continue
                }
                let line = pending
                pending = Data()
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                if let depth = nestingBeyond(maxNesting, in: line) {
                    refuse(errorResponse(id: requestID(in: line.prefix(512)), code: -32600,
                                         message: "invalid request: nested \(depth) levels deep or more; at most \(maxNesting) are accepted"))
                    continue
                }
                guard let message = try? JSONSerialization.jsonObject(with: line, options: [.fragmentsAllowed]) else {
                    refuse(errorResponse(id: nil, code: -32700, message: "parse error: the message is not valid JSON"))
                    continue
                }
                if !(message is [String: Any]) && !((message as? [Any]).map { !$0.isEmpty && $0.allSatisfy { $0 is [String: Any] } } ?? false) {
                    refuse(errorResponse(id: nil, code: -32600,
                                         message: "invalid request: a JSON-RPC message is an object (or a non-empty array of them)"))
                    continue
                }
                deliver(line)
            }
        }
    }

    /// The deepest nesting of arrays and objects a message may have. MCP messages need a handful of levels; a
    /// bound keeps recursive decoders far from the end of their stack.
    static let maxNesting = 64

    /// The nesting depth reached when it exceeds `limit` (nil when it does not), counting brackets outside strings.
    static func nestingBeyond(_ limit: Int, in line: Data) -> Int? {
        var depth = 0, inString = false, escaped = false
        for byte in line {
            if inString {
                if escaped { escaped = false } else if byte == 0x5C { escaped = true } else if byte == 0x22 { inString = false }
                continue
            }
            switch byte {
            case 0x22: inString = true
            case 0x5B, 0x7B:
                depth += 1
                if depth > limit { return depth }
            case 0x5D, 0x7D: depth -= 1
            default: break
            }
        }
        return nil
    }

    /// The `"id"` of a request whose text starts with `head`, as JSON text (a number or a string), when it can be
    /// read from there.
    static func requestID(in head: Data) -> String? {
        let text = String(decoding: head, as: UTF8.self)
        guard let key = text.range(of: "\"id\"") else { return nil }
        var rest = text[key.upperBound...].drop { $0 == " " || $0 == "\t" }
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" }
        if rest.first == "\"" {
            guard let end = rest.dropFirst().firstIndex(of: "\"") else { return nil }
            let id = rest[rest.startIndex...end]
            return id.contains("\\") ? nil : String(id)
        }
        let digits = rest.prefix { $0.isNumber || $0 == "-" }
        return digits.isEmpty || digits.count > 18 ? nil : String(digits)
    }

    static func errorResponse(id: String?, code: Int, message: String) -> Data {
        let quoted = (try? JSONEncoder().encode(message)).map { String(decoding: $0, as: UTF8.self) } ?? "\"error\""
        return Data("{\"jsonrpc\":\"2.0\",\"id\":\(id ?? "null"),\"error\":{\"code\":\(code),\"message\":\(quoted)}}".utf8)
    }
}
