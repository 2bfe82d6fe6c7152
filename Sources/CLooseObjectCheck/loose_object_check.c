#include "CLooseObjectCheck.h"

#include <git2/sys/odb_backend.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <zlib.h>

int cairn_git_set_odb_priorities(int packed, int loose) {
    int rc = git_libgit2_opts(GIT_OPT_SET_ODB_PACKED_PRIORITY, packed);
    if (rc) return rc;
    return git_libgit2_opts(GIT_OPT_SET_ODB_LOOSE_PRIORITY, loose);
}

/* A loose object is either a zlib stream (RFC 1950: CMF byte with method 8, (CMF*256+FLG) % 31 == 0), or, in
   the "packlike" format git wrote before 2005, a pack entry header (type and size as a varint) followed by a
   zlib stream. */
static int is_zlib_header(const unsigned char *data, size_t length) {
    return length >= 2 && (data[0] & 0x0f) == 8 && ((data[0] << 8) | data[1]) % 31 == 0;
}

int cairn_loose_object_check(const unsigned char *data, size_t length, const char **reason) {
    size_t start = 0;
    if (!is_zlib_header(data, length)) {
        while (start < length && (data[start] & 0x80)) start++;
        start++;
        if (start >= length) { *reason = "it is empty or its header is cut off"; return -1; }
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) { *reason = "zlib could not start"; return -1; }
    unsigned char scratch[16384];
    z.next_in = (unsigned char *)data + start;
    z.avail_in = (uInt)(length - start); /* loose objects larger than 4 GiB are not supported by libgit2 either */
    int rc;
    do {
        z.next_out = scratch;
        z.avail_out = sizeof scratch;
        rc = inflate(&z, Z_NO_FLUSH);
        /* No progress with input left, or no input left before the end of the stream: truncated. */
    } while (rc == Z_OK);
    inflateEnd(&z);
    if (rc == Z_STREAM_END) {
        if (z.avail_in != 0) { *reason = "it has trailing bytes after its zlib stream"; return -1; }
        return 0;
    }
    *reason = rc == Z_BUF_ERROR ? "it is truncated (its zlib stream ends early)" : "its zlib stream is corrupt";
    return -1;
}

typedef struct {
    git_odb_backend parent;
    char *objects_dir; /* with a trailing slash */
} check_backend;

/* 0 when the loose object `id` is absent (GIT_ENOTFOUND) or complete (GIT_PASSTHROUGH, so the loose backend
   reads it), an error otherwise. */
static int check_file(check_backend *b, const char *path, const char *hex) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return GIT_ENOTFOUND;
        git_error_set_str(GIT_ERROR_ODB, strerror(errno));
        return GIT_ERROR;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return GIT_PASSTHROUGH; }
    size_t length = (size_t)st.st_size;
    unsigned char *data = malloc(length ? length : 1);
    if (!data) { close(fd); git_error_set_oom(); return GIT_ERROR; }
    size_t got = 0;
    while (got < length) {
        ssize_t n = read(fd, data + got, length - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    const char *reason = NULL;
    int ok = cairn_loose_object_check(data, got, &reason);
    free(data);
    if (ok == 0) return GIT_PASSTHROUGH;
    char message[512];
    snprintf(message, sizeof message, "loose object %s is corrupt: %s (%s)", hex, reason, path);
    git_error_set_str(GIT_ERROR_ZLIB, message);
    (void)b;
    return GIT_ERROR;
}

static int check_id(check_backend *b, const git_oid *id) {
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, id);
    size_t dir = strlen(b->objects_dir);
    char *path = malloc(dir + GIT_OID_HEXSZ + 2);
    if (!path) { git_error_set_oom(); return GIT_ERROR; }
    memcpy(path, b->objects_dir, dir);
    path[dir] = hex[0]; path[dir + 1] = hex[1]; path[dir + 2] = '/';
    memcpy(path + dir + 3, hex + 2, GIT_OID_HEXSZ - 2 + 1);
    int rc = check_file(b, path, hex);
    free(path);
    return rc;
}

static int check_read(void **out, size_t *len, git_object_t *type, git_odb_backend *backend, const git_oid *id) {
    (void)out; (void)len; (void)type;
    return check_id((check_backend *)backend, id);
}

static int check_read_header(size_t *len, git_object_t *type, git_odb_backend *backend, const git_oid *id) {
    (void)len; (void)type;
    return check_id((check_backend *)backend, id);
}

static int check_readstream(git_odb_stream **out, size_t *len, git_object_t *type, git_odb_backend *backend,
                            const git_oid *id) {
    (void)out; (void)len; (void)type;
    return check_id((check_backend *)backend, id);
}

/* Short ids: checks every loose object whose name starts with the prefix. */
static int check_read_prefix(git_oid *full, void **out, size_t *len, git_object_t *type, git_odb_backend *backend,
                             const git_oid *prefix, size_t prefix_length) {
    (void)full; (void)out; (void)len; (void)type;
    check_backend *b = (check_backend *)backend;
    if (prefix_length >= GIT_OID_HEXSZ) return check_id(b, prefix);
    if (prefix_length < 2) return GIT_ENOTFOUND;
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, prefix);
    hex[prefix_length] = '\0';
    size_t dir = strlen(b->objects_dir);
    char folder[4096];
    if (dir + 3 >= sizeof folder) return GIT_PASSTHROUGH;
    memcpy(folder, b->objects_dir, dir);
    folder[dir] = hex[0]; folder[dir + 1] = hex[1]; folder[dir + 2] = '\0';
    DIR *d = opendir(folder);
    if (!d) return GIT_ENOTFOUND;
    int result = GIT_ENOTFOUND;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strlen(e->d_name) != GIT_OID_HEXSZ - 2 || strncmp(e->d_name, hex + 2, prefix_length - 2) != 0) continue;
        char path[4096 + 64], name[GIT_OID_HEXSZ + 1];
        snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
        snprintf(name, sizeof name, "%c%c%s", hex[0], hex[1], e->d_name);
        int rc = check_file(b, path, name);
        if (rc == GIT_ERROR) { result = rc; break; }
        if (rc == GIT_PASSTHROUGH) result = rc;
    }
    closedir(d);
    return result;
}

static void check_free(git_odb_backend *backend) {
    check_backend *b = (check_backend *)backend;
    free(b->objects_dir);
    free(b);
}

int cairn_odb_add_loose_object_check(git_odb *odb, const char *objects_dir, int priority) {
    check_backend *b = calloc(1, sizeof *b);
    if (!b) return -1;
    size_t length = strlen(objects_dir);
    b->objects_dir = malloc(length + 2);
    if (!b->objects_dir) { free(b); return -1; }
    memcpy(b->objects_dir, objects_dir, length + 1);
    if (length == 0 || objects_dir[length - 1] != '/') { b->objects_dir[length] = '/'; b->objects_dir[length + 1] = '\0'; }
    b->parent.version = GIT_ODB_BACKEND_VERSION;
    b->parent.read = check_read;
    b->parent.read_prefix = check_read_prefix;
    b->parent.read_header = check_read_header;
    b->parent.readstream = check_readstream;
    b->parent.free = check_free;
    int rc = git_odb_add_backend(odb, &b->parent, priority);
    if (rc) check_free(&b->parent);
    return rc;
}
