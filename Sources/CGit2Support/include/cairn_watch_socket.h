#ifndef CAIRN_WATCH_SOCKET_H
#define CAIRN_WATCH_SOCKET_H

// The name of a vault's watcher socket, shared by the Swift watcher and client (CairnKit's
// WatchClient) and the C launcher (launcher/cairn.c), which must agree on it byte for byte.
// Header-only so the launcher links nothing but libc.

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/// The protocol's first field; a watcher of another version is treated as absent.
#define CAIRN_WATCH_MAGIC "cairn-watch 2"

/// Writes the abstract socket name (without the leading NUL) for `resolved_git_dir` (the git
/// directory after realpath, no trailing slash) and user `uid` into `out`:
/// `cairn-watch-UID-HASH`, HASH being the 64-bit FNV-1a of the path in hex. Returns its length.
static inline size_t cairn_watch_socket_name(const char *resolved_git_dir, unsigned uid, char *out, size_t size) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)resolved_git_dir; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    int n = snprintf(out, size, "cairn-watch-%u-%016llx", uid, (unsigned long long)h);
    if (n < 0) return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

#endif
