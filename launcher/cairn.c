// The `cairn` command: a small C front end to the Swift program `cairn-core` next to it.
//
// Every command is the Swift program's: this front end execs it with the same arguments (same
// process, same pid, same signals). The one exception is `cairn search` in a vault whose watcher
// runs (`cairn watch start`): the watcher is a warm cairn process that already knows what changed
// in the working tree, so the front end hands it the search: the arguments, the working folder, the
// environment and its standard input, output and error (passed as file descriptors over the
// watcher's Unix socket). The watcher parses the command like cairn-core would, runs it writing to
// those descriptors, and answers with the exit status; or answers `fallback` before writing
// anything (not a search, another vault, an environment it cannot serve as this process), and the
// front end execs cairn-core. A search then costs a process start of a small C program instead of
// the Swift runtime's start-up, libgit2's and SQLite's loading and the argument parser's set-up.
//
// CAIRN_NO_SERVER=1 makes every command go to cairn-core.
//
// Built by the Makefile with the system C compiler (not SwiftPM, which links the Swift runtime into
// every executable); it needs only libc.

#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cairn_watch_socket.h"

extern char **environ;

// The path of cairn-core: next to this program. Returns 0, or -1 (errno set).
static int core_path(char path[PATH_MAX]) {
    ssize_t n = readlink("/proc/self/exe", path, PATH_MAX - 16);
    if (n <= 0) return -1;
    path[n] = 0;
    char *slash = strrchr(path, '/');
    strcpy(slash ? slash + 1 : path, "cairn-core");
    return 0;
}

// Runs cairn-core; returns only when that fails.
static void exec_core(char **argv) {
    char path[PATH_MAX];
    if (core_path(path) != 0) {
        fprintf(stderr, "cairn: cannot find this program's path (/proc/self/exe): %s\n", strerror(errno));
        exit(127);
    }
    execv(path, argv);
    fprintf(stderr, "cairn: cannot run %s: %s\n", path, strerror(errno));
    exit(127);
}

static int exists(const char *dir, const char *name) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return 0;
    struct stat st;
    return stat(path, &st) == 0;
}

// The vault's folder, found as cairn-core finds it: --vault, else $CAIRN_VAULT, else the nearest
// folder from `cwd` upward with .cairn/config.json and .git. Written to `out` resolved (realpath).
// Returns 0, or -1 when there is none here (cairn-core then says why).
static int locate_vault(int argc, char **argv, const char *cwd, char *out) {
    const char *explicit = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--vault") == 0 && i + 1 < argc) explicit = argv[++i];
        else if (strncmp(argv[i], "--vault=", 8) == 0) explicit = argv[i] + 8;
    }
    if (!explicit || !*explicit) explicit = getenv("CAIRN_VAULT");
    char dir[PATH_MAX];
    if (explicit && *explicit) {
        int n = explicit[0] == '/' ? snprintf(dir, sizeof dir, "%s", explicit)
                                   : snprintf(dir, sizeof dir, "%s/%s", cwd, explicit);
        if (n >= (int)sizeof dir) return -1;
        return realpath(dir, out) ? 0 : -1;
    }
    if (snprintf(dir, sizeof dir, "%s", cwd) >= (int)sizeof dir) return -1;
    for (;;) {
        if (exists(dir, ".git")) {
            if (!exists(dir, ".cairn/config.json")) return -1;
            return realpath(dir, out) ? 0 : -1;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) return -1;
        *slash = 0;
    }
}

static int append(char **buf, size_t *len, size_t *cap, const char *field) {
    size_t n = strlen(field) + 1;
    if (*len + n > *cap) {
        size_t cap2 = (*cap + n) * 2;
        char *b = realloc(*buf, cap2);
        if (!b) return -1;
        *buf = b;
        *cap = cap2;
    }
    memcpy(*buf + *len, field, n);
    *len += n;
    return 0;
}

// Hands the command to the vault's watcher. Returns the exit status it ran with, or -1 when it
// did not run it (no watcher, or it answered `fallback`).
static int forward(int argc, char **argv) {
    char cwd[PATH_MAX], root[PATH_MAX], git_dir[PATH_MAX + 8], resolved_git[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return -1;
    if (locate_vault(argc, argv, cwd, root) != 0) return -1;
    snprintf(git_dir, sizeof git_dir, "%s/.git", root);
    if (!realpath(git_dir, resolved_git)) return -1;

    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t name_len = cairn_watch_socket_name(resolved_git, (unsigned)getuid(), addr.sun_path + 1, sizeof addr.sun_path - 1);
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + name_len);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, addr_len) != 0) { close(fd); return -1; }
    struct ucred cred;
    socklen_t cred_len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0 || cred.uid != getuid()) { close(fd); return -1; }

    // The request: "run BYTES\n", then NUL-terminated fields: the identity of the cairn-core this
    // front end would run (the watcher runs the command only if it is that program, not an older build
    // replaced since it started), the working folder, the argument count, the arguments after the
    // program name, the environment.
    char core[PATH_MAX], identity[128];
    struct stat st;
    if (core_path(core) != 0 || stat(core, &st) != 0) { close(fd); return -1; }
    snprintf(identity, sizeof identity, "%llu:%llu:%lld.%09ld:%lld", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_size);
    char *payload = NULL;
    size_t len = 0, cap = 0;
    char count[32];
    snprintf(count, sizeof count, "%d", argc - 1);
    int failed = append(&payload, &len, &cap, identity) || append(&payload, &len, &cap, cwd)
                 || append(&payload, &len, &cap, count);
    for (int i = 1; i < argc && !failed; i++) failed = append(&payload, &len, &cap, argv[i]);
    for (char **e = environ; *e && !failed; e++) failed = append(&payload, &len, &cap, *e);
    if (failed || len > (1 << 20)) { free(payload); close(fd); return -1; }
    char header[64];
    int header_len = snprintf(header, sizeof header, "run %zu\n", len);

    struct iovec iov[2] = {{header, (size_t)header_len}, {payload, len}};
    int fds[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
    union { char buf[CMSG_SPACE(sizeof fds)]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {0};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(cmsg), fds, sizeof fds);

    size_t total = (size_t)header_len + len, sent = 0;
    ssize_t n;
    do { n = sendmsg(fd, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    if (n > 0) sent = (size_t)n;
    while (n > 0 && sent < total) {  // the rest, without the descriptors (sent once)
        const char *p = sent < (size_t)header_len ? header + sent : payload + (sent - header_len);
        size_t left = sent < (size_t)header_len ? header_len - sent : total - sent;
        n = send(fd, p, left, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) { n = 1; continue; }
        if (n > 0) sent += (size_t)n;
    }
    free(payload);
    if (sent < total) { close(fd); return -1; }

    // The answer: NUL-terminated fields: the magic, the watcher's root, its token, then `exit STATUS`
    // or `fallback`. Once the watcher says `exit`, the command has run (it checked the vault is its own):
    // its status is this program's, and cairn-core must not run it again.
    char answer[PATH_MAX + 512];
    size_t got = 0;
    while (got < sizeof answer) {
        n = read(fd, answer + got, sizeof answer - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (got == 0 || got == sizeof answer || answer[got - 1] != 0) return -1;
    const char *fields[6] = {0};
    int count_fields = 0;
    for (size_t i = 0; i < got && count_fields < 6; i += strlen(answer + i) + 1) fields[count_fields++] = answer + i;
    if (count_fields < 4 || strcmp(fields[0], CAIRN_WATCH_MAGIC) != 0) return -1;
    if (count_fields >= 5 && strcmp(fields[3], "exit") == 0) {
        char *end;
        long status = strtol(fields[4], &end, 10);
        return *end == 0 && status >= 0 && status < 256 ? (int)status : 1;
    }
    return -1;
}

int main(int argc, char **argv) {
    const char *no_server = getenv("CAIRN_NO_SERVER");
    if (argc >= 2 && strcmp(argv[1], "search") == 0 && !(no_server && *no_server && strcmp(no_server, "0") != 0)) {
        int status = forward(argc, argv);
        if (status >= 0) return status;
    }
    exec_core(argv);
    return 127;
}
