import Foundation

/// Per-connector send limits from `policy.json`'s `connectors` section:
///
/// ```json
/// "connectors": {"default": {"retries": 2, "backoff_seconds": 2, "rate_per_minute": 30, "breaker_failures": 3,
///                            "breaker_cooldown_seconds": 900},
///                "smtp": {"rate_per_minute": 10, "sends_per_day": 200}}
/// ```
///
/// `retries`: extra attempts after a transient failure, waiting `backoff_seconds` × 2^attempt; `rate_per_minute`: most
/// sends per connector in any minute (counted from the committed records); `sends_per_day`: a daily quota (UTC day, no
/// quota when absent); `breaker_failures`: after this many items in a row fail on one connector (counted from the
/// committed records, so across runs and machines), its breaker opens: nothing is sent through it for
/// `breaker_cooldown_seconds` after the last failure, then one item is tried (half-open).
public struct ConnectorLimits: Sendable, Equatable {
    public var retries = 2
    public var backoffSeconds = 2.0
    public var ratePerMinute = 30
    public var breakerFailures = 3
    public var breakerCooldownSeconds = 900.0
    public var sendsPerDay: Int? = nil

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
            if let v = s["breaker_cooldown_seconds"] as? Double, v >= 0 { limits.breakerCooldownSeconds = v }
            if let v = s["sends_per_day"] as? Int, v >= 0 { limits.sendsPerDay = v }
        }
        return limits
    }
}
