import CHTTP
import Foundation

/// One message of a chat-completions conversation.
public struct ChatMessage: Sendable, Hashable, Codable {
    /// `system`, `user` or `assistant`.
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
}

/// A successful chat completion: the assistant's text and what it cost in tokens.
public struct ChatCompletion: Sendable, Hashable {
    /// `choices[0].message.content`.
    public var content: String
    /// The model the server says answered (`model`), which may differ from the name asked for
    /// (`llama3.2` → `llama3.2:latest`); nil when the server does not say.
    public var model: String?
    /// `usage.prompt_tokens`, 0 when the server does not report usage.
    public var promptTokens: Int
    /// `usage.completion_tokens`, 0 when the server does not report usage.
    public var completionTokens: Int
    /// The HTTP status (a 2xx).
    public var status: Int
    /// The response body exactly as received.
    public var body: String
    /// False when the server refused `response_format` and the request was repeated without it.
    public var usedResponseFormat: Bool
}

/// Why a chat request failed, classified so a caller knows whether asking again can help.
public struct ModelClientError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Worth retrying: a timeout, a refused or dropped connection, 408, 429, 5xx.
        case transient
        /// Asking again will not help: a bad URL, 400, 401, 403, 404, a malformed body.
        case permanent
    }

    public let kind: Kind
    /// The HTTP status, nil when no response arrived.
    public let status: Int?
    /// What went wrong, in words.
    public let message: String
    /// The response body, when one arrived.
    public let body: String?
    /// Seconds the server asked to wait (`Retry-After`), when it said.
    public let retryAfter: TimeInterval?

    public init(kind: Kind, status: Int? = nil, message: String, body: String? = nil, retryAfter: TimeInterval? = nil) {
        self.kind = kind
        self.status = status
        self.message = message
        self.body = body
        self.retryAfter = retryAfter
    }

    public var isTransient: Bool { kind == .transient }

    public var description: String { message }
}

/// A client for an OpenAI-compatible `POST {base_url}/chat/completions` endpoint — the API that
/// Ollama, llama.cpp's server, LM Studio, vLLM and OpenAI all speak.
///
/// Calls are synchronous and bounded: each request gives up after `timeout` seconds, even when the
/// server keeps the connection open without answering. The client never reads the environment;
/// the API key is passed in.
public final class ModelClient: @unchecked Sendable {
    /// The `/chat/completions` URL requests go to.
    public let endpoint: URL
    /// Seconds one request may take.
    public let timeout: TimeInterval
    private let apiKey: String?

    /// Creates a client for `baseURL` (e.g. `http://127.0.0.1:11434/v1`).
    ///
    /// - Parameter apiKey: sent as `Authorization: Bearer KEY`; nil or empty sends no header.
    /// - Throws: a permanent `ModelClientError` when `baseURL` is not an http(s) URL.
    public init(baseURL: String, apiKey: String?, timeout: TimeInterval) throws(ModelClientError) {
        var base = baseURL.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base + "/chat/completions"),
            let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw ModelClientError(kind: .permanent, message: "model base URL '\(baseURL)' is not an http:// or https:// URL")
        }
        endpoint = url
        self.timeout = max(timeout, 0.001)
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Asks `model` for a completion of `messages` at temperature 0.
    ///
    /// With `jsonResponse` the request carries `response_format: {type: json_object}`; a server
    /// that answers 400 naming `response_format` is asked once more without it (the result then
    /// has `usedResponseFormat == false`, so a caller can leave it out from then on).
    ///
    /// - Throws: `ModelClientError`, transient or permanent.
    public func complete(model: String, messages: [ChatMessage], jsonResponse: Bool = true) throws(ModelClientError) -> ChatCompletion {
        do {
            return try send(model: model, messages: messages, jsonResponse: jsonResponse)
        } catch let error where jsonResponse && error.status == 400 && (error.body ?? "").contains("response_format") {
            return try send(model: model, messages: messages, jsonResponse: false)
        }
    }

    private struct RequestBody: Encodable {
        struct ResponseFormat: Encodable { let type: String }
        let model: String
        let messages: [ChatMessage]
        let temperature: Double
        let responseFormat: ResponseFormat?

        enum CodingKeys: String, CodingKey {
            case model, messages, temperature
            case responseFormat = "response_format"
        }
    }

    private func send(model: String, messages: [ChatMessage], jsonResponse: Bool) throws(ModelClientError) -> ChatCompletion {
        var headers = ["Content-Type: application/json", "Accept: application/json", "Expect:"]
        if let apiKey { headers.append("Authorization: Bearer \(apiKey)") }
        let payload = RequestBody(model: model, messages: messages, temperature: 0,
                                  responseFormat: jsonResponse ? .init(type: "json_object") : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let requestBody: Data
        do {
            requestBody = try encoder.encode(payload)
        } catch {
            throw ModelClientError(kind: .permanent, message: "could not encode the request: \(error)")
        }

        let response = try post(requestBody, headers: headers)
        let data = response.body
        let body = String(decoding: data, as: UTF8.self)
        let status = response.status
        guard (200..<300).contains(status) else {
            let transient = status == 408 || status == 425 || status == 429 || (500...599).contains(status)
            let retryAfter = response.retryAfter.flatMap { TimeInterval($0.trimmingCharacters(in: .whitespaces)) }
            throw ModelClientError(kind: transient ? .transient : .permanent, status: status,
                                   message: "HTTP \(status) from \(endpoint.absoluteString)\(Self.excerpt(body))",
                                   body: body, retryAfter: retryAfter)
        }
        return try Self.parseCompletion(data, body: body, status: status, usedResponseFormat: jsonResponse)
    }

    /// Reads `choices[0].message.content`, `usage` and `model` from a 2xx body.
    static func parseCompletion(_ data: Data, body: String, status: Int, usedResponseFormat: Bool) throws(ModelClientError) -> ChatCompletion {
        func malformed(_ why: String) -> ModelClientError {
            ModelClientError(kind: .permanent, status: status, message: "malformed chat completion: \(why)\(excerpt(body))", body: body)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let root = object as? [String: Any] else {
            throw malformed("the body is not a JSON object")
        }
        guard let choices = root["choices"] as? [Any], let first = choices.first as? [String: Any] else {
            throw malformed("no choices[0]")
        }
        guard let message = first["message"] as? [String: Any], let content = message["content"] as? String else {
            throw malformed("choices[0].message.content is missing or not text")
        }
        let usage = root["usage"] as? [String: Any]
        func count(_ key: String) -> Int { (usage?[key] as? NSNumber)?.intValue ?? 0 }
        return ChatCompletion(content: content, model: root["model"] as? String,
                              promptTokens: max(0, count("prompt_tokens")), completionTokens: max(0, count("completion_tokens")),
                              status: status, body: body, usedResponseFormat: usedResponseFormat)
    }

    /// Runs one POST through libcurl (see CHTTP), which gives up after `timeout`.
    private func post(_ body: Data, headers: [String]) throws(ModelClientError) -> (status: Int, body: Data, retryAfter: String?) {
        var response = cairn_http_response()
        defer { cairn_http_response_free(&response) }
        let cHeaders = headers.map { strdup($0) }
        defer { cHeaders.forEach { free($0) } }
        let timeoutMs = max(1, Int(timeout * 1000))
        let rc = cHeaders.map { UnsafePointer($0) }.withUnsafeBufferPointer { headerList in
            body.withUnsafeBytes { bytes in
                cairn_http_post(endpoint.absoluteString, headerList.baseAddress, headerList.count,
                                bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, timeoutMs, &response)
            }
        }
        if rc != 0 {
            let message = withUnsafeBytes(of: response.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw classify(code: rc, message: message)
        }
        let data = response.body.map { Data(bytes: $0, count: response.body_length) } ?? Data()
        return (Int(response.status), data, response.retry_after.map { String(cString: $0) })
    }

    private func timedOut() -> ModelClientError {
        ModelClientError(kind: .transient, message: "timed out after \(Self.seconds(timeout)) waiting for \(endpoint.absoluteString)")
    }

    /// Transport errors: connection-level trouble is transient, a request that cannot be made is not.
    private func classify(code: Int32, message: String) -> ModelClientError {
        let failed = "request to \(endpoint.absoluteString) failed: \(message)"
        switch code {
        case Int32(CAIRN_CURLE_OPERATION_TIMEDOUT):
            return timedOut()
        case -1, Int32(CAIRN_CURLE_UNSUPPORTED_PROTOCOL), Int32(CAIRN_CURLE_URL_MALFORMAT), Int32(CAIRN_CURLE_PEER_FAILED_VERIFICATION):
            return ModelClientError(kind: .permanent, message: failed)
        case Int32(CAIRN_CURLE_COULDNT_CONNECT):
            return ModelClientError(kind: .transient, message: "connection refused by \(endpoint.absoluteString) (is the model server running?)")
        case Int32(CAIRN_CURLE_GOT_NOTHING), Int32(CAIRN_CURLE_SEND_ERROR), Int32(CAIRN_CURLE_RECV_ERROR):
            return ModelClientError(kind: .transient, message: "connection to \(endpoint.absoluteString) was reset (\(message))")
        default:
            return ModelClientError(kind: .transient, message: failed + " (libcurl error \(code))")
        }
    }

    /// `: <first 300 characters of body>` for error messages, or "" for an empty body.
    static func excerpt(_ body: String) -> String {
        let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return "" }
        return ": " + (trimmed.count > 300 ? String(trimmed.prefix(300)) + "…" : trimmed)
    }

    static func seconds(_ t: TimeInterval) -> String {
        t == t.rounded() ? "\(Int(t))s" : String(format: "%.1fs", t)
    }
}
