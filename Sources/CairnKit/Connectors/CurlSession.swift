import CHTTP
import Foundation

/// One libcurl connection kept between requests (IMAP commands, SMTP submissions, CalDAV reports).
/// libcurl is loaded on first use; certificates are always verified.
final class CurlSession {
    struct Response {
        var status: Int
        var body: Data
        var error: Int32
        var message: String
    }

    private let pointer: OpaquePointer
    let timeoutMilliseconds: Int

    init(connector: String, credentials: Credentials, caFile: String?, requireTLS: Bool, timeoutSeconds: Int) throws(ConnectorError) {
        var message = [CChar](repeating: 0, count: 512)
        let made: OpaquePointer? = (credentials.username ?? "").withCString { user in
            (credentials.password ?? "").withCString { password in
                (caFile ?? "").withCString { ca in
                    var settings = cairn_curl_settings(username: credentials.username == nil ? nil : user,
                                                       password: credentials.password == nil ? nil : password,
                                                       ca_file: caFile == nil ? nil : ca, require_tls: requireTLS ? 1 : 0,
                                                       timeout_ms: timeoutSeconds * 1000)
                    return cairn_curl_open(&settings, &message)
                }
            }
        }
        timeoutMilliseconds = max(timeoutSeconds, 1) * 1000
        guard let made else { throw .transport(connector: connector, item: "connecting", reason: String(cString: message)) }
        pointer = made
    }

    deinit { cairn_curl_close(pointer) }

    func request(_ url: String, custom: String? = nil, headers: [String] = [], body: Data? = nil) -> Response {
        var out = cairn_http_response()
        let cHeaders = headers.map { strdup($0) }
        defer { cHeaders.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = cHeaders.map { UnsafePointer($0) }
        let rc: Int32 = pointers.withUnsafeMutableBufferPointer { hp in
            if let body {
                return body.withUnsafeBytes { raw in
                    cairn_curl_request(pointer, url, custom, hp.baseAddress, hp.count, raw.bindMemory(to: CChar.self).baseAddress, body.count, &out)
                }
            }
            return cairn_curl_request(pointer, url, custom, hp.baseAddress, hp.count, nil, 0, &out)
        }
        return finish(&out, rc)
    }

    func sendMail(_ url: String, from: String, recipients: [String], message: Data) -> Response {
        var out = cairn_http_response()
        let cRecipients = recipients.map { strdup($0) }
        defer { cRecipients.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = cRecipients.map { UnsafePointer($0) }
        let rc: Int32 = pointers.withUnsafeMutableBufferPointer { rp in
            message.withUnsafeBytes { raw in
                cairn_curl_smtp_send(pointer, url, from, rp.baseAddress, rp.count, raw.bindMemory(to: CChar.self).baseAddress, message.count, &out)
            }
        }
        return finish(&out, rc)
    }

    /// Connects and logs in, then leaves the connection to `send` and `receive` (IMAP commands whose replies hold
    /// literals).
    func connectOnly(_ url: String) -> Response {
        var out = cairn_http_response()
        let rc = cairn_curl_connect_only(pointer, url, &out)
        return finish(&out, rc)
    }

    /// Sends `data` on a connect-only session; the reason when it could not.
    func send(_ data: Data) -> String? {
        var message = [CChar](repeating: 0, count: 512)
        let rc = data.withUnsafeBytes { raw in
            cairn_curl_send_all(pointer, raw.bindMemory(to: CChar.self).baseAddress, data.count, timeoutMilliseconds, &message)
        }
        return rc == 0 ? nil : String(cString: message)
    }

    /// Up to `capacity` bytes from a connect-only session: empty when the server closed the connection.
    func receive(into buffer: inout [UInt8]) -> Result<Int, TransportFailure> {
        var message = [CChar](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { raw in
            cairn_curl_receive(pointer, raw.bindMemory(to: CChar.self).baseAddress, raw.count, timeoutMilliseconds, &message)
        }
        return n < 0 ? .failure(TransportFailure(reason: String(cString: message))) : .success(n)
    }

    struct TransportFailure: Error { let reason: String }

    private func finish(_ out: inout cairn_http_response, _ rc: Int32) -> Response {
        defer { cairn_http_response_free(&out) }
        let body = out.body.map { Data(bytes: $0, count: out.body_length) } ?? Data()
        let message = withUnsafeBytes(of: out.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return Response(status: out.status, body: body, error: rc, message: message)
    }
}
