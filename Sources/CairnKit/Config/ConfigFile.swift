import Foundation

/// Reads and decodes a JSON configuration file, turning every failure into a `FileProblem`.
enum ConfigFile {
    /// The largest configuration file cairn reads; anything bigger is certainly a mistake.
    static let maxSize = 1 << 20

    /// Reads the file at `url` without following it into anything that is not a regular file.
    ///
    /// Reads at most `maxSize + 1` bytes, so a huge or endless file costs nothing.
    static func read(_ url: URL, path: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw FileProblem(path: path, reason: "file not found")
        }
        if isDirectory.boolValue {
            throw FileProblem(path: path, reason: "is a directory, expected a JSON file")
        }
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxSize + 1) ?? Data()
        } catch {
            throw FileProblem(path: path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        return data
    }

    /// Decodes `data` as a JSON object into `T`, after checking size, encoding and syntax.
    ///
    /// Returns the value and a map from key paths (`review.max_files`, `protected_paths[2]`) to
    /// the line where each value is written, so later validation errors can name the line too.
    static func decode<T: Decodable>(
        _ type: T.Type, from data: Data, path: String
    ) throws -> (value: T, lines: JSONValueMap) {
        guard data.count <= maxSize else {
            throw FileProblem(path: path, reason: "too large (the limit is 1 MiB)")
        }
        let bytes = [UInt8](data)
        if let bad = UTF8Check.firstInvalidByte(in: bytes) {
            throw FileProblem(path: path, line: bad.line, reason: "not valid UTF-8 (column \(bad.column))")
        }
        let report: JSONSyntaxCheck.Report
        do {
            report = try JSONSyntaxCheck.check(bytes)
        } catch let failure as JSONSyntaxCheck.Failure where failure.isEmptyDocument {
            throw FileProblem(path: path, line: failure.line, reason: failure.message)
        } catch let failure as JSONSyntaxCheck.Failure {
            throw FileProblem(
                path: path, line: failure.line,
                reason: "invalid JSON: \(failure.message) (column \(failure.column))")
        }
        guard report.topLevelKind == .object else {
            throw FileProblem(
                path: path, line: report.values.line(for: ""),
                reason: "expected a JSON object ({ … }) at the top level, found \(report.topLevelKind.phrase)")
        }
        var body = data
        if bytes.starts(with: UTF8Check.byteOrderMark) { body = data.dropFirst(3) }
        do {
            return (try JSONDecoder().decode(T.self, from: body), report.values)
        } catch let error as DecodingError {
            throw configError(for: error, lines: report.values, path: path)
        } catch {
            throw FileProblem(path: path, reason: "cannot decode (\(error))")
        }
    }

    /// Turns a `DecodingError` into a `FileProblem` that names the key path and its line.
    static func configError(for error: DecodingError, lines: JSONValueMap, path: String) -> FileProblem {
        func located(_ context: DecodingError.Context, _ reason: (String) -> String) -> FileProblem {
            let keyPath = JSONValueMap.keyPath(context.codingPath)
            let shown = keyPath.isEmpty ? "top level" : keyPath
            return FileProblem(path: path, line: lines.line(for: keyPath), reason: reason(shown))
        }
        switch error {
        case .typeMismatch(let type, let context):
            let found = lines.kind(for: JSONValueMap.keyPath(context.codingPath)).map { ", found \($0.phrase)" } ?? ""
            return located(context) { "\($0): expected \(phrase(for: type))\(found)" }
        case .valueNotFound(let type, let context):
            return located(context) { "\($0): expected \(phrase(for: type)), found null" }
        case .keyNotFound(let key, let context):
            return located(context) { "\($0): missing key \"\(key.stringValue)\"" }
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return FileProblem(path: path, reason: "invalid JSON (\(context.debugDescription))")
            }
            return located(context) { "\($0): \(context.debugDescription)" }
        @unknown default:
            return FileProblem(path: path, reason: "cannot decode (\(error))")
        }
    }

    /// The operator's word for a Swift type a decoder expected.
    static func phrase(for type: Any.Type) -> String {
        let name = String(describing: type)
        switch name {
        case "Int", "Int64", "Int32", "UInt", "UInt64": return "an integer"
        case "Double", "Float", "Decimal": return "a number"
        case "String": return "a string"
        case "Bool": return "true or false"
        default:
            if name.hasPrefix("Dictionary") || name.contains(":") { return "an object" }
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "an array" }
            return "an object"
        }
    }
}
