import Foundation

/// Decoding helpers for configuration files: a missing or null key takes a default, and a wrong value names its key.
extension KeyedDecodingContainer {
    /// An integer at `key`, or `fallback` when the key is absent or null.
    ///
    /// Decoded through `Double` so that `3.5` or `1e20` get an error naming the key instead of
    /// Foundation's anonymous "not valid JSON".
    func integer(_ key: Key, default fallback: Int) throws -> Int {
        let number: Double?
        do {
            number = try decodeIfPresent(Double.self, forKey: key)
        } catch DecodingError.typeMismatch(_, let context) {
            throw DecodingError.typeMismatch(Int.self, context)
        }
        guard let number else { return fallback }
        guard number.rounded(.towardZero) == number else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "expected an integer, found \(number)")
        }
        guard abs(number) <= 9_007_199_254_740_992 else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "the integer is too large")
        }
        return Int(number)
    }

    /// A number at `key`, or `fallback` when the key is absent or null.
    func number(_ key: Key, default fallback: Double) throws -> Double {
        try decodeIfPresent(Double.self, forKey: key) ?? fallback
    }

    /// A string at `key`, or `fallback` when the key is absent or null.
    func string(_ key: Key, default fallback: String) throws -> String {
        try decodeIfPresent(String.self, forKey: key) ?? fallback
    }

    /// A boolean at `key`, or `fallback` when the key is absent or null.
    func boolean(_ key: Key, default fallback: Bool) throws -> Bool {
        try decodeIfPresent(Bool.self, forKey: key) ?? fallback
    }

    /// An array of strings at `key`, or `fallback` when the key is absent or null.
    func strings(_ key: Key, default fallback: [String]) throws -> [String] {
        try decodeIfPresent([String].self, forKey: key) ?? fallback
    }

    /// A nested object at `key`, or `fallback` when the key is absent or null.
    func section<T: Decodable>(_ key: Key, default fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}
