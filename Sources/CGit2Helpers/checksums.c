#include "CGit2Helpers.h"

#include <dlfcn.h>
#include <pthread.h>

typedef unsigned char *(*sha1_fn)(const unsigned char *, size_t, unsigned char *);

static sha1_fn sha1;
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;

static void load_sha1(void) {
    /* libgit2 already brings libcrypto in (through libssh2); RTLD_NOLOAD only looks it up. */
    void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!lib) lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (lib) *(void **)(&sha1) = dlsym(lib, "SHA1");
}

int cairn_fast_sha1(const void *data, size_t length, unsigned char out[20]) {
    pthread_once(&sha1_once, load_sha1);
    if (!sha1) return -1;
    sha1(data, length, out);
    return 0;
}

#include <limits.h>
#include <string.h>
#include <zlib.h>
#include <string.h>

unsigned int cairn_adler32(const void *data, size_t length) {
    uLong sum = adler32(0L, Z_NULL, 0);
    const unsigned char *p = data;
    while (length > 0) {
        uInt n = length > (1u << 30) ? (1u << 30) : (uInt)length;
        sum = adler32(sum, p, n);
        p += n;
        length -= n;
    }
    return (unsigned int)sum;
}

/* Streaming SHA-1 through libcrypto's SHA1_Init/Update/Final (for pack files cairn writes itself). */
typedef int (*sha1_init_fn)(void *);
typedef int (*sha1_update_fn)(void *, const void *, size_t);
typedef int (*sha1_final_fn)(unsigned char *, void *);
static sha1_init_fn sha1_init;
static sha1_update_fn sha1_update;
static sha1_final_fn sha1_final;
static pthread_once_t sha1_stream_once = PTHREAD_ONCE_INIT;

static void load_sha1_stream(void) {
    void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!lib) lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    *(void **)(&sha1_init) = dlsym(lib, "SHA1_Init");
    *(void **)(&sha1_update) = dlsym(lib, "SHA1_Update");
    *(void **)(&sha1_final) = dlsym(lib, "SHA1_Final");
}

int cairn_sha1_stream_available(void) {
    pthread_once(&sha1_stream_once, load_sha1_stream);
    return sha1_init && sha1_update && sha1_final;
}

int cairn_sha1_stream_init(cairn_sha1_ctx *ctx) {
    if (!cairn_sha1_stream_available()) return -1;
    return sha1_init(ctx->opaque) == 1 ? 0 : -1;
}

int cairn_sha1_stream_update(cairn_sha1_ctx *ctx, const void *data, size_t length) {
    return sha1_update(ctx->opaque, data, length) == 1 ? 0 : -1;
}

int cairn_sha1_stream_final(cairn_sha1_ctx *ctx, unsigned char out[20]) {
    return sha1_final(out, ctx->opaque) == 1 ? 0 : -1;
}

unsigned int cairn_crc32(unsigned int crc, const void *data, size_t length) {
    uLong sum = crc;
    const unsigned char *p = data;
    while (length > 0) {
        uInt n = length > (1u << 30) ? (1u << 30) : (uInt)length;
        sum = crc32(sum, p, n);
        p += n;
        length -= n;
    }
    return (unsigned int)sum;
}

size_t cairn_deflate_bound(size_t length) { return (size_t)compressBound((uLong)length); }

long cairn_deflate(const void *data, size_t length, void *out, size_t capacity, int level) {
    // One stream per thread, reset between objects. compress2 set a stream up and tore it down for every object:
    // deflateInit allocates about 270 KB and clears it, which cost more than compressing a small note (a pull packs
    // thousands), and each free gave the memory back to the system only to fault it in again for the next object.
    static _Thread_local z_stream stream;
    static _Thread_local int ready = 0, stream_level = 0;
    if (ready && stream_level != level) { deflateEnd(&stream); ready = 0; }
    if (!ready) {
        memset(&stream, 0, sizeof stream);
        if (deflateInit(&stream, level) != Z_OK) return -1;
        ready = 1;
        stream_level = level;
    } else if (deflateReset(&stream) != Z_OK) {
        deflateEnd(&stream);
        ready = 0;
        return -1;
    }
    if (length > UINT_MAX || capacity > UINT_MAX) return -1;
    stream.next_in = (Bytef *)data;
    stream.avail_in = (uInt)length;
    stream.next_out = (Bytef *)out;
    stream.avail_out = (uInt)capacity;
    if (deflate(&stream, Z_FINISH) != Z_STREAM_END) return -1;
    return (long)stream.total_out;
}

long cairn_inflate_prefix(const void *data, size_t length, void *out, size_t capacity) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit(&s) != Z_OK) return -1;
    s.next_in = (Bytef *)data;
    s.avail_in = (uInt)length;
    s.next_out = out;
    s.avail_out = (uInt)capacity;
    int rc = inflate(&s, Z_SYNC_FLUSH);
    long produced = (long)(capacity - s.avail_out);
    inflateEnd(&s);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return -1;
    return produced;
}
