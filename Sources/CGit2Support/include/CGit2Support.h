#ifndef CGIT2SUPPORT_H
#define CGIT2SUPPORT_H

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
#include "cairn_watch_socket.h"

/// SHA-1 of `data` through OpenSSL's libcrypto (hardware SHA extensions where the CPU has them), for
/// hashing large tree objects cairn serializes itself. Returns 0, or -1 when libcrypto is not
/// available (the caller then uses libgit2's hash). Unlike libgit2's SHA-1 it does not detect
/// collision attacks, so it is meant only for content made of names and object ids.
int cairn_fast_sha1(const void *data, size_t length, unsigned char out[20]);

/// zlib's Adler-32 of `data` (the checksum that ends a zlib stream).
unsigned int cairn_adler32(const void *data, size_t length);

/// A file descriptor that becomes readable when process `pid` exits (Linux pidfd_open), or -1 where the
/// kernel lacks it. Lets a parent wait for a child with a timeout without sleeping in steps.
int cairn_pidfd_open(int pid);

/// The user id of the process at the other end of a connected Unix socket (SO_PEERCRED), or -1.
long cairn_peer_uid(int fd);

/// Reads up to `length` bytes from the connected Unix socket `fd` like read(2), and takes the file
/// descriptors sent with them (SCM_RIGHTS, received close-on-exec): up to `max_fds` are stored in
/// `fds` and counted in `*nfds`; any beyond are closed. Returns the bytes read, or -1 (errno set).
long cairn_recv_fds(int fd, void *buffer, size_t length, int *fds, int max_fds, int *nfds);

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and returns a signalfd that becomes readable
/// when one arrives (-1 on failure). Call it before starting other threads, which inherit the mask.
int cairn_termination_signal_fd(void);

/// Starts `path` as a daemon: a session of its own (no controlling terminal, no hang-up when the
/// terminal closes), default signal dispositions, stdin from /dev/null, stdout and stderr to `outfd`,
/// no other descriptor inherited. Returns the pid, or minus the error number.
int cairn_spawn_detached(const char *path, char *const argv[], char *const envp[], int outfd);

#endif
