import Foundation
import MCP

/// `cairn mcp`: the vault as memory for any Model Context Protocol client, over a pair of file descriptors
/// (stdin and stdout for a client that starts the server).
public enum CairnMCPServer {
    static let instructions = """
        This server is the memory of a one-person business: a vault of Markdown notes under git. Search it \
        (search_memory), read notes (read_note; it returns a blob id), list notes and recent changes. You cannot \
        change notes directly: propose_edit makes a proposal that the operator reviews as a diff and approves or \
        rejects. Pass the blob id you read as expected_blob, so that an edit based on an old version is marked \
        stale instead of overwriting newer work. Core memory (always relevant) is the resource cairn://core.
        """

    /// Serves the vault at `root` until the client closes `input` (end of file). Every call runs in turn on one
    /// open vault; nothing a client sends can stop the server other than closing its input.
    public static func serve(root: String, options: MCPServerOptions, input: Int32, output: Int32) async throws {
        let service = try MCPService(root: root, options: options)
        await service.startWatching()
        let server = Server(name: "cairn", version: options.version, title: "Cairn vault memory", instructions: instructions,
                            capabilities: .init(resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { _ in .init(tools: MCPTools.all) }
        await server.withMethodHandler(RawCallTool.self) { params in
            let (name, arguments) = try RawCallTool.check(params.value)
            return try await service.call(name, arguments)
        }
        await server.withMethodHandler(ListResources.self) { _ in
            do { return .init(resources: try await service.resources(), nextCursor: nil) } catch {
                throw MCPError.internalError("cannot list resources: \(error)")
            }
        }
        await server.withMethodHandler(ListResourceTemplates.self) { _ in
            .init(templates: [Resource.Template(uriTemplate: MCPService.notePrefix + "{+path}", name: "note", title: "A note by path",
                                                description: "Any text file of the vault by its vault-relative path, e.g. cairn://note/memory/projects/acme.md",
                                                mimeType: "text/markdown")])
        }
        await server.withMethodHandler(ReadResource.self) { params in
            do { return try await service.readResource(params.uri) } catch let error as MCPError { throw error } catch {
                throw MCPError.internalError("\(error)")
            }
        }
        let transport = LineTransport(input: input, output: output)
        try await server.start(transport: transport) { client, _ in
            await service.setClient(client.name)
        }
        await server.waitUntilCompleted()
        // The client closed its input: let the call under way (the actor runs one at a time) finish its commit.
        await service.idle()
        await service.stopWatching()
    }
}

/// `tools/call` with its parameters as the client sent them, so that a malformed call gets an invalid-params error
/// that says what is wrong (the SDK's own decoding reports "internal error: the data isn't in the correct format").
enum RawCallTool: Method {
    static let name = CallTool.name
    typealias Result = CallTool.Result

    struct Parameters: Codable, Hashable, Sendable, NotRequired {
        var value: Value
        init() { value = .null }
        init(from decoder: any Decoder) throws { value = try Value(from: decoder) }
        func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
    }

    /// The tool's name and arguments, or an invalid-params error naming the field that is wrong.
    static func check(_ params: Value) throws -> (String, [String: Value]) {
        guard let object = params.objectValue else { throw MCPError.invalidParams("tools/call needs params: {\"name\": TOOL, \"arguments\": {…}}") }
        guard let name = object["name"]?.stringValue else { throw MCPError.invalidParams("tools/call: name must be a string, the tool's name") }
        guard let arguments = object["arguments"], !arguments.isNull else { return (name, [:]) }
        guard let values = arguments.objectValue else {
            throw MCPError.invalidParams("tools/call: arguments must be an object of named arguments")
        }
        return (name, values)
    }
}
