#ifndef CGIT2HELPERS_H
#define CGIT2HELPERS_H

// C that cairn's git layer needs around libgit2: the CA bundle loaded on first TLS use, a fast SHA-1
// for trees cairn serializes itself, and zlib's Adler-32 for checking loose objects.

/// Lets libgit2's trusted CA bundle be loaded on first use instead of at start-up.
///
/// Debian's libgit2 (mbedTLS) parses the whole system CA bundle inside git_libgit2_init(): about a
/// sixth of a short cairn command's instructions, for commands that never open a TLS connection.
/// This library defines mbedtls_x509_crt_parse_file in the executable, which the dynamic linker
/// binds ahead of libmbedx509's. Until cairn_tls_enable() is called, a request to load a CA file is
/// remembered and skipped, so the chain stays empty and any TLS handshake fails verification
/// (closed, never open). cairn_tls_enable() switches the real parser on and loads the remembered file.

/// The CA file libgit2 asked for at start-up and that was skipped, or NULL (nothing skipped, or
/// this interposer is not the one the dynamic linker bound).
const char *cairn_tls_deferred_ca_file(void);

/// How many CA files reached the real mbedTLS parser.
int cairn_tls_real_parse_count(void);

/// Switches the real parser on and, when libgit2 asked for a CA file at start-up, loads it through
/// GIT_OPT_SET_SSL_CERT_LOCATIONS. Returns 0 on success, the libgit2 error code otherwise.
int cairn_tls_enable(void);

#include <stddef.h>

/// SHA-1 of `data` through OpenSSL's libcrypto (hardware SHA extensions where the CPU has them), for
/// hashing large tree objects cairn serializes itself. Returns 0, or -1 when libcrypto is not
/// available (the caller then uses libgit2's hash). Unlike libgit2's SHA-1 it does not detect
/// collision attacks, so it is meant only for content made of names and object ids.
int cairn_fast_sha1(const void *data, size_t length, unsigned char out[20]);

/// zlib's Adler-32 of `data` (the checksum that ends a zlib stream).
unsigned int cairn_adler32(const void *data, size_t length);

/// Makes libgit2 open its TCP connections (git://, and the socket under https and ssh) through cairn's stream,
/// whose connect, read and write give up when the peer sends or takes nothing for `seconds` (0: wait forever),
/// and clears this thread's count of timeouts. Call before each fetch, push or ls-remote. Returns 0 or the
/// libgit2 error code of the registration.
int cairn_transport_begin(int seconds);

/// How many waits timed out on this thread since the last cairn_transport_begin (a transfer that failed
/// because the peer stopped answering, rather than for another reason).
int cairn_transport_timeouts(void);
/// A streaming SHA-1 (libcrypto's SHA_CTX, opaque here) for pack files cairn writes itself.
typedef struct { unsigned char opaque[256]; } cairn_sha1_ctx;
/// 1 when libcrypto's streaming SHA-1 could be loaded.
int cairn_sha1_stream_available(void);
int cairn_sha1_stream_init(cairn_sha1_ctx *ctx);
int cairn_sha1_stream_update(cairn_sha1_ctx *ctx, const void *data, size_t length);
int cairn_sha1_stream_final(cairn_sha1_ctx *ctx, unsigned char out[20]);

/// zlib's CRC-32 of `data`, continuing `crc` (0 to start).
unsigned int cairn_crc32(unsigned int crc, const void *data, size_t length);
/// The most bytes `cairn_deflate` may write for `length` input bytes.
size_t cairn_deflate_bound(size_t length);
/// zlib-compresses `data` into `out` at `level`; the compressed size, or -1.
long cairn_deflate(const void *data, size_t length, void *out, size_t capacity, int level);
/// Inflates the start of the zlib stream `data` into `out`, stopping when `capacity` bytes are out or the input
/// ends; the bytes produced, or -1 when the stream is damaged.
long cairn_inflate_prefix(const void *data, size_t length, void *out, size_t capacity);

/// Makes libgit2 reach file:// remotes through `git upload-pack` and `git receive-pack` (found on PATH) over
/// pipes instead of its local transport, which rebuilds every delta of the pack in process. Returns 1 when done
/// (or done before), 0 when no `git` is on PATH (libgit2's local transport stays), else libgit2's error code.
int cairn_use_git_for_file_remotes(void);

#endif
