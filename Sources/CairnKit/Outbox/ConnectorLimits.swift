import Foundation

/// Per-connector send limits from `policy.json`'s `connectors` section:
///
/// ```json
/// "connectors": {"default": {"retries": 2, "backoff_seconds": 2, "rate_per_minute": 30, "breaker_failures": 3},
///                "smtp": {"rate_per_minute": 10}}
/// ```
///
/// `retries`: extra attempts after a transient failure, waiting `backoff_seconds` × 2^attempt; `rate_per_minute`: most
/// sends per connector in any minute (counted from the committed records); `breaker_failures`: after this many items in a
/// row fail on one connector, the rest wait for the next run.
public struct ConnectorLimits: Sendable, Equatable {
    public var retries = 2
    public var backoffSeconds = 2.0
    public var ratePerMinute = 30
    public var breakerFailures = 3

    static func load(policyJSON data: Data?, connector: String) -> ConnectorLimits {
        var limits = ConnectorLimits()
        guard let data, let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let section = root["connectors"] as? [String: Any] else { return limits }
        for key in ["default", connector] {
            guard let s = section[key] as? [String: Any] else { continue }
            if let v = s["retries"] as? Int, v >= 0 { limits.retries = min(v, 10) }
            if let v = s["backoff_seconds"] as? Double, v >= 0 { limits.backoffSeconds = v }
            if let v = s["rate_per_minute"] as? Int, v > 0 { limits.ratePerMinute = v }
            if let v = s["breaker_failures"] as? Int, v > 0 { limits.breakerFailures = v }
        }
        return limits
    }
}
