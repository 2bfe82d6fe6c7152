import Foundation

/// Why a connector could not be read, reached or used. Messages name the connector file or the item, and never
/// contain a credential.
public enum ConnectorError: Error, CustomStringConvertible, Sendable {
    /// `connectors/NAME.md` is not valid: each problem as `file:line: reason`.
    case invalid([NoteError])
    case unknown(name: String, known: [String])
    case credentials(connector: String, reason: String)
    /// The server could not be reached, refused, dropped the connection or answered something unusable.
    case transport(connector: String, item: String, reason: String)
    /// An item from outside could not be imported; nothing was written.
    case badItem(connector: String, item: String, reason: String)
    case outbox(item: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let problems):
            return problems.map(\.description).joined(separator: "\n")
        case .unknown(let name, let known):
            return "no connector named '\(name)' (connectors/\(name).md)" + (known.isEmpty ? "; there are none yet" : "; known: \(known.joined(separator: ", "))")
        case .credentials(let connector, let reason):
            return "connectors/\(connector).md: credentials: \(reason)"
        case .transport(let connector, let item, let reason):
            return "connector \(connector): \(item): \(reason); nothing was imported or recorded, run the command again later"
        case .badItem(let connector, let item, let reason):
            return "connector \(connector): \(item): \(reason); nothing was written"
        case .outbox(let item, let reason):
            return "outbox/\(item).md: \(reason)"
        }
    }
}
