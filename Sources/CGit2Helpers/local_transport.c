#define _GNU_SOURCE
#include "CGit2Helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <git2/sys/transport.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * file:// remotes through git's own upload-pack and receive-pack, spoken to over pipes with libgit2's smart
 * protocol client (as its ssh transport speaks to them over a channel). libgit2 1.5's local transport builds the
 * pack itself, in process, recomputing every delta (git_packbuilder; no reuse of the deltas already in the
 * remote's pack): a clone of a 100k-note vault spent most of its time there. upload-pack reuses them, as
 * `git clone file://` does. Only the transport changes: negotiation, indexing, refs and checkout stay libgit2's.
 */

extern char **environ;

/* The child's standard input and output are one end of a socket pair (not pipes), so that writing to a server
 * that already went away fails with EPIPE instead of killing cairn with SIGPIPE (send with MSG_NOSIGNAL). */
typedef struct {
    git_smart_subtransport_stream parent;
    pid_t pid;
    int fd;
} child_stream;

typedef struct {
    git_smart_subtransport parent;
    child_stream *current;
} child_subtransport;

static void set_error(const char *what, const char *detail) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s: %s", what, detail);
    git_error_set_str(GIT_ERROR_NET, msg);
}

static int stream_read(git_smart_subtransport_stream *stream, char *buffer, size_t size, size_t *bytes_read) {
    child_stream *s = (child_stream *)stream;
    for (;;) {
        ssize_t n = recv(s->fd, buffer, size, 0);
        if (n >= 0) { *bytes_read = (size_t)n; return 0; }
        if (errno == EINTR) continue;
        set_error("could not read from remote", strerror(errno));
        return -1;
    }
}

static int stream_write(git_smart_subtransport_stream *stream, const char *buffer, size_t len) {
    child_stream *s = (child_stream *)stream;
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(s->fd, buffer + done, len - done, MSG_NOSIGNAL);
        if (n > 0) { done += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        set_error("could not write to remote", n < 0 ? strerror(errno) : "nothing written");
        return -1;
    }
    return 0;
}

/* libgit2's smart transport frees the stream; the subtransport forgets it then (as libgit2's ssh transport does). */
static void stream_free(git_smart_subtransport_stream *stream) {
    child_stream *s = (child_stream *)stream;
    child_subtransport *t = (child_subtransport *)s->parent.subtransport;
    if (t && t->current == s) t->current = NULL;
    if (s->fd >= 0) close(s->fd);
    if (s->pid > 0) {
        int status;
        while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {}
    }
    free(s);
}

/* The path a file:// URL names (percent escapes decoded), or NULL. */
static char *path_of(const char *url) {
    const char *p = url + strlen("file://");
    if (strncmp(p, "localhost/", 10) == 0) p += 9;
    if (*p != '/') return NULL;
    char *out = malloc(strlen(p) + 1), *o = out;
    if (out == NULL) return NULL;
    for (; *p; p++) {
        if (p[0] == '%' && p[1] && p[2]) {
            char hex[3] = { p[1], p[2], 0 };
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end == 0) { *o++ = (char)v; p += 2; continue; }
        }
        *o++ = *p;
    }
    *o = 0;
    return out;
}

/* Variables that would point the server at another repository than the one named (git's own list). */
static int server_must_not_inherit(const char *entry) {
    static const char *names[] = { "GIT_DIR=", "GIT_WORK_TREE=", "GIT_INDEX_FILE=", "GIT_OBJECT_DIRECTORY=",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES=", "GIT_NAMESPACE=", "GIT_PREFIX=", "GIT_COMMON_DIR=", "GIT_PROTOCOL=",
        "GIT_CONFIG_PARAMETERS=", "GIT_CONFIG_COUNT=", "GIT_IMPLICIT_WORK_TREE=", "GIT_GRAFT_FILE=",
        "GIT_REPLACE_REF_BASE=", "GIT_SHALLOW_FILE=", "GIT_INTERNAL_SUPER_PREFIX=", NULL };
    for (int i = 0; names[i]; i++) if (strncmp(entry, names[i], strlen(names[i])) == 0) return 1;
    return 0;
}

static int spawn_server(child_stream **out, const char *url, const char *service) {
    char *path = path_of(url);
    if (path == NULL) { set_error("unsupported file URL", url); return -1; }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        char msg[512];
        snprintf(msg, sizeof msg, "could not find repository at '%s'", path);
        git_error_set_str(GIT_ERROR_NET, msg);
        free(path);
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        set_error("could not start git", strerror(errno));
        free(path);
        return -1;
    }
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 1, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; env && i < n; i++) if (!server_must_not_inherit(environ[i])) env[k++] = environ[i];

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = { "git", (char *)service, path, NULL };
    pid_t pid = 0;
    int rc = env ? posix_spawnp(&pid, "git", &fa, NULL, argv, env) : ENOMEM;
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    free(path);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        set_error("could not run git for a file:// remote", strerror(rc));
        return -1;
    }
    child_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        close(sv[0]); kill(pid, SIGTERM); waitpid(pid, NULL, 0);
        git_error_set_str(GIT_ERROR_NOMEMORY, "out of memory");
        return -1;
    }
    s->parent.read = stream_read;
    s->parent.write = stream_write;
    s->parent.free = stream_free;
    s->pid = pid;
    s->fd = sv[0];
    *out = s;
    return 0;
}

static int subtransport_action(git_smart_subtransport_stream **out, git_smart_subtransport *transport, const char *url,
                               git_smart_service_t action) {
    child_subtransport *t = (child_subtransport *)transport;
    const char *service = NULL;
    switch (action) {
    case GIT_SERVICE_UPLOADPACK_LS: service = "upload-pack"; break;
    case GIT_SERVICE_RECEIVEPACK_LS: service = "receive-pack"; break;
    case GIT_SERVICE_UPLOADPACK:
    case GIT_SERVICE_RECEIVEPACK:
        /* The same conversation goes on after the references were listed. */
        if (t->current) { *out = &t->current->parent; return 0; }
        git_error_set_str(GIT_ERROR_NET, "the references must be listed before the pack is sent");
        return -1;
    default:
        git_error_set_str(GIT_ERROR_NET, "unknown service");
        return -1;
    }
    child_stream *s = NULL;
    if (spawn_server(&s, url, service) < 0) return -1;
    s->parent.subtransport = transport;
    t->current = s;
    *out = &s->parent;
    return 0;
}

static int subtransport_close(git_smart_subtransport *transport) {
    child_subtransport *t = (child_subtransport *)transport;
    if (t->current) stream_free(&t->current->parent);
    return 0;
}

static void subtransport_free(git_smart_subtransport *transport) {
    subtransport_close(transport);
    free(transport);
}

static int subtransport_new(git_smart_subtransport **out, git_transport *owner, void *param) {
    (void)owner; (void)param;
    child_subtransport *t = calloc(1, sizeof *t);
    if (t == NULL) { git_error_set_str(GIT_ERROR_NOMEMORY, "out of memory"); return -1; }
    t->parent.action = subtransport_action;
    t->parent.close = subtransport_close;
    t->parent.free = subtransport_free;
    *out = &t->parent;
    return 0;
}

static git_smart_subtransport_definition definition = { subtransport_new, 0, NULL };

static int transport_new(git_transport **out, git_remote *owner, void *param) {
    (void)param;
    return git_transport_smart(out, owner, &definition);
}

/* Whether an executable `git` is in one of PATH's folders. */
static int git_on_path(void) {
    const char *path = getenv("PATH");
    if (path == NULL) path = "/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        char candidate[4096];
        if (len > 0 && len + 5 < sizeof candidate) {
            memcpy(candidate, path, len);
            memcpy(candidate + len, "/git", 5);
            if (access(candidate, X_OK) == 0) return 1;
        }
        if (!end) break;
        path = end + 1;
    }
    return 0;
}

int cairn_use_git_for_file_remotes(void) {
    if (!git_on_path()) return 0;
    int rc = git_transport_register("file", transport_new, NULL);
    return rc == 0 || rc == GIT_EEXISTS ? 1 : rc;
}
