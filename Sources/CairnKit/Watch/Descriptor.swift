import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing to a file descriptor that may be a terminal, a pipe or a file, possibly another process's.
public enum Descriptor {
    /// Writes all of `bytes` to `fd`. A reader that went away (EPIPE) or another error drops the rest, as a
    /// closed pipe would; a non-blocking descriptor is waited on until it takes more.
    public static func writeAll(_ fd: Int32, _ bytes: Data) {
        bytes.withUnsafeBytes { buf in
            guard var p = buf.baseAddress else { return }
            var left = buf.count
            while left > 0 {
                let n = Glibc.write(fd, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN {
                        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&pfd, 1, 1000)
                        continue
                    }
                    return
                }
                p += n
                left -= n
            }
        }
    }
}
