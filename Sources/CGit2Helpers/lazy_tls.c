#define _GNU_SOURCE
#include "CGit2Helpers.h"

#include <dlfcn.h>
#include <git2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct mbedtls_x509_crt;
typedef int (*parse_file_fn)(struct mbedtls_x509_crt *chain, const char *path);

static atomic_int tls_enabled = 0;
static atomic_int real_parses = 0;
static pthread_mutex_t deferred_lock = PTHREAD_MUTEX_INITIALIZER;
static char *deferred_file = NULL;

/* Interposes libmbedx509's function of the same name (see CGit2Helpers.h). */
int mbedtls_x509_crt_parse_file(struct mbedtls_x509_crt *chain, const char *path) {
    if (!atomic_load(&tls_enabled)) {
        pthread_mutex_lock(&deferred_lock);
        if (deferred_file == NULL && path != NULL) deferred_file = strdup(path);
        pthread_mutex_unlock(&deferred_lock);
        return 0;
    }
    parse_file_fn real = (parse_file_fn)dlsym(RTLD_NEXT, "mbedtls_x509_crt_parse_file");
    if (real == NULL) return -1;
    atomic_fetch_add(&real_parses, 1);
    return real(chain, path);
}

const char *cairn_tls_deferred_ca_file(void) {
    pthread_mutex_lock(&deferred_lock);
    const char *file = deferred_file;
    pthread_mutex_unlock(&deferred_lock);
    return file;
}

int cairn_tls_real_parse_count(void) { return atomic_load(&real_parses); }

int cairn_tls_enable(void) {
    if (atomic_exchange(&tls_enabled, 1)) return 0;
    const char *file = cairn_tls_deferred_ca_file();
    if (file == NULL) return 0;
    return git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, NULL);
}
