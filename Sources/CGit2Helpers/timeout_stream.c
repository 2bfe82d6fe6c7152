#define _GNU_SOURCE
#include "CGit2Helpers.h"

#include <errno.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <git2.h>
#include <git2/sys/stream.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * libgit2 1.5's own TCP stream blocks in connect(), recv() and send() with no time limit, so a server (or a line)
 * that stops answering keeps a fetch or push waiting forever. This stream replaces it for every TCP connection
 * libgit2 opens (git://, and the socket under https's TLS and under ssh): each wait for the peer is a poll() that
 * gives up after the timeout. It begins like libgit2's git_socket_stream because libgit2's ssh transport reads the
 * socket through that type and hands it to libssh2, which then reads and writes the socket itself: for ssh the
 * time limit is libssh2's own (see the end of this file).
 */
typedef struct {
    git_stream parent;
    char *host;
    char *port;
    int s;
} cairn_socket_stream;

static atomic_int timeout_seconds = 0;
static _Thread_local int timeouts_seen = 0;

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* 1: ready; 0: nothing came within the timeout (recorded, with libgit2's error set); -1: poll failed. */
static int wait_for(cairn_socket_stream *st, short events, const char *what) {
    int seconds = atomic_load(&timeout_seconds);
    long long deadline = seconds > 0 ? now_ms() + (long long)seconds * 1000 : -1;
    for (;;) {
        struct pollfd p = { .fd = st->s, .events = events };
        int wait = deadline < 0 ? -1 : (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0);
        int n = poll(&p, 1, wait);
        if (n > 0) return 1;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            char msg[256];
            snprintf(msg, sizeof msg, "waiting for %s:%s failed: %s", st->host, st->port, strerror(errno));
            git_error_set_str(GIT_ERROR_NET, msg);
            return -1;
        }
        timeouts_seen++;
        char msg[256];
        snprintf(msg, sizeof msg, "timed out after %d s %s %s:%s", seconds, what, st->host, st->port);
        git_error_set_str(GIT_ERROR_NET, msg);
        return 0;
    }
}

static void set_errno_error(cairn_socket_stream *st, const char *what) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s %s:%s: %s", what, st->host, st->port, strerror(errno));
    git_error_set_str(GIT_ERROR_NET, msg);
}

static int stream_connect(git_stream *stream) {
    cairn_socket_stream *st = (cairn_socket_stream *)stream;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC }, *info = NULL;
    int rc = getaddrinfo(st->host, st->port, &hints, &info);
    if (rc != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "failed to resolve address for %s: %s", st->host, gai_strerror(rc));
        git_error_set_str(GIT_ERROR_NET, msg);
        return -1;
    }
    int result = -1, saved = ECONNREFUSED;
    for (struct addrinfo *p = info; p != NULL; p = p->ai_next) {
        int s = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, p->ai_protocol);
        if (s < 0) { saved = errno; continue; }
        st->s = s;
        if (connect(s, p->ai_addr, p->ai_addrlen) == 0) { result = 0; break; }
        if (errno == EINPROGRESS) {
            int ready = wait_for(st, POLLOUT, "connecting to");
            if (ready == 0) { close(s); st->s = -1; freeaddrinfo(info); return -1; }
            int err = 0;
            socklen_t len = sizeof err;
            if (ready > 0 && getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) { result = 0; break; }
            saved = err ? err : errno;
        } else {
            saved = errno;
        }
        close(s);
        st->s = -1;
    }
    freeaddrinfo(info);
    if (result != 0) {
        errno = saved;
        set_errno_error(st, "failed to connect to");
    }
    return result;
}

static ssize_t stream_read(git_stream *stream, void *data, size_t len) {
    cairn_socket_stream *st = (cairn_socket_stream *)stream;
    for (;;) {
        ssize_t n = recv(st->s, data, len, 0);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) { set_errno_error(st, "error receiving data from"); return -1; }
        if (wait_for(st, POLLIN, "waiting for data from") <= 0) return -1;
    }
}

static ssize_t stream_write(git_stream *stream, const char *data, size_t len, int flags) {
    cairn_socket_stream *st = (cairn_socket_stream *)stream;
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(st->s, data + done, len - done, flags | MSG_NOSIGNAL);
        if (n > 0) { done += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { set_errno_error(st, "error sending data to"); return -1; }
        if (wait_for(st, POLLOUT, "sending data to") <= 0) return -1;
    }
    return (ssize_t)done;
}

static int stream_close(git_stream *stream) {
    cairn_socket_stream *st = (cairn_socket_stream *)stream;
    int rc = st->s >= 0 ? close(st->s) : 0;
    st->s = -1;
    return rc;
}

static void stream_free(git_stream *stream) {
    cairn_socket_stream *st = (cairn_socket_stream *)stream;
    free(st->host);
    free(st->port);
    free(st);
}

static int stream_new(git_stream **out, const char *host, const char *port) {
    cairn_socket_stream *st = calloc(1, sizeof *st);
    if (st == NULL || (st->host = strdup(host)) == NULL || (st->port = strdup(port ? port : "")) == NULL) {
        if (st) { free(st->host); free(st); }
        git_error_set_str(GIT_ERROR_NOMEMORY, "out of memory");
        return -1;
    }
    st->parent.version = GIT_STREAM_VERSION;
    st->parent.connect = stream_connect;
    st->parent.read = stream_read;
    st->parent.write = stream_write;
    st->parent.close = stream_close;
    st->parent.free = stream_free;
    st->s = -1;
    *out = &st->parent;
    return 0;
}

static atomic_int installed = 0;

int cairn_transport_begin(int seconds) {
    atomic_store(&timeout_seconds, seconds > 0 ? seconds : 0);
    timeouts_seen = 0;
    if (atomic_load(&installed)) return 0;
    git_stream_registration reg = { .version = GIT_STREAM_VERSION, .init = stream_new, .wrap = NULL };
    int rc = git_stream_register(GIT_STREAM_STANDARD, &reg);
    if (rc == 0) atomic_store(&installed, 1);
    return rc;
}

int cairn_transport_timeouts(void) { return timeouts_seen; }

/*
 * ssh: libgit2 1.5 creates the libssh2 session and never sets its time limit (libgit2 1.7 does, with
 * GIT_OPT_SET_SERVER_TIMEOUT). This executable defines the two libssh2 functions libgit2 calls to start a session,
 * which the dynamic linker binds ahead of libssh2's (as lazy_tls.c does for mbedTLS): each forwards to the real
 * one, the first then sets the session's time limit, so every blocking libssh2 call gives up with
 * LIBSSH2_ERROR_TIMEOUT ("API timeout expired") when the server sends and takes nothing for that long. libgit2
 * retries a handshake that timed out forever; the second function turns that timeout into a disconnection.
 */
typedef struct _LIBSSH2_SESSION LIBSSH2_SESSION;
typedef void *(*ssh_alloc_fn)(size_t, void **);
typedef void (*ssh_free_fn)(void *, void **);
typedef void *(*ssh_realloc_fn)(void *, size_t, void **);
typedef LIBSSH2_SESSION *(*ssh_init_fn)(ssh_alloc_fn, ssh_free_fn, ssh_realloc_fn, void *);
typedef void (*ssh_set_timeout_fn)(LIBSSH2_SESSION *, long);
typedef int (*ssh_handshake_fn)(LIBSSH2_SESSION *, int);
enum { SSH_ERROR_TIMEOUT = -9, SSH_ERROR_SOCKET_DISCONNECT = -13 };

LIBSSH2_SESSION *libssh2_session_init_ex(ssh_alloc_fn my_alloc, ssh_free_fn my_free, ssh_realloc_fn my_realloc, void *abstract) {
    ssh_init_fn real = (ssh_init_fn)dlsym(RTLD_NEXT, "libssh2_session_init_ex");
    if (real == NULL) return NULL;
    LIBSSH2_SESSION *session = real(my_alloc, my_free, my_realloc, abstract);
    int seconds = atomic_load(&timeout_seconds);
    ssh_set_timeout_fn set_timeout = (ssh_set_timeout_fn)dlsym(RTLD_NEXT, "libssh2_session_set_timeout");
    if (session != NULL && seconds > 0 && set_timeout != NULL) set_timeout(session, (long)seconds * 1000);
    return session;
}

int libssh2_session_handshake(LIBSSH2_SESSION *session, int sock) {
    ssh_handshake_fn real = (ssh_handshake_fn)dlsym(RTLD_NEXT, "libssh2_session_handshake");
    if (real == NULL) return SSH_ERROR_SOCKET_DISCONNECT;
    int rc = real(session, sock);
    if (rc == SSH_ERROR_TIMEOUT) {
        timeouts_seen++;
        return SSH_ERROR_SOCKET_DISCONNECT;
    }
    return rc;
}
