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

#include <zlib.h>

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
