#include "CHTTP.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* libcurl's ABI (curl/curl.h): option numbers are type base + index. */
#define OPT_LONG 0
#define OPT_POINT 10000
#define OPT_FUNCTION 20000
#define OPT_OFF_T 30000
#define CURLOPT_WRITEDATA (OPT_POINT + 1)
#define CURLOPT_URL (OPT_POINT + 2)
#define CURLOPT_ERRORBUFFER (OPT_POINT + 10)
#define CURLOPT_WRITEFUNCTION (OPT_FUNCTION + 11)
#define CURLOPT_POSTFIELDS (OPT_POINT + 15)
#define CURLOPT_HTTPHEADER (OPT_POINT + 23)
#define CURLOPT_HEADERDATA (OPT_POINT + 29)
#define CURLOPT_POST (OPT_LONG + 47)
#define CURLOPT_HEADERFUNCTION (OPT_FUNCTION + 79)
#define CURLOPT_NOSIGNAL (OPT_LONG + 99)
#define CURLOPT_POSTFIELDSIZE_LARGE (OPT_OFF_T + 120)
#define CURLOPT_TIMEOUT_MS (OPT_LONG + 155)
#define CURLINFO_RESPONSE_CODE (0x200000 + 2)
#define CURL_GLOBAL_DEFAULT 3
#define CURL_ERROR_SIZE 256

struct curl_slist;
typedef void CURL;
typedef size_t (*write_cb)(char *, size_t, size_t, void *);

static struct {
    int (*global_init)(long);
    CURL *(*easy_init)(void);
    int (*easy_setopt)(CURL *, int, ...);
    int (*easy_perform)(CURL *);
    int (*easy_getinfo)(CURL *, int, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(int);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    const char *problem;
} curl;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void load_curl(void) {
    const char *names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so"};
    void *lib = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !lib; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) { curl.problem = "libcurl is not installed (Debian: apt-get install libcurl4)"; return; }
#define LOAD(field, symbol) *(void **)(&curl.field) = dlsym(lib, symbol); if (!curl.field) { curl.problem = "libcurl lacks " symbol; return; }
    LOAD(global_init, "curl_global_init")
    LOAD(easy_init, "curl_easy_init")
    LOAD(easy_setopt, "curl_easy_setopt")
    LOAD(easy_perform, "curl_easy_perform")
    LOAD(easy_getinfo, "curl_easy_getinfo")
    LOAD(easy_cleanup, "curl_easy_cleanup")
    LOAD(easy_strerror, "curl_easy_strerror")
    LOAD(slist_append, "curl_slist_append")
    LOAD(slist_free_all, "curl_slist_free_all")
#undef LOAD
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != 0) curl.problem = "libcurl failed to initialize";
}

typedef struct { char *data; size_t length, capacity; int failed; } buffer;

static int append(buffer *b, const char *data, size_t n) {
    if (b->length + n + 1 > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 4096;
        while (capacity < b->length + n + 1) capacity *= 2;
        char *grown = realloc(b->data, capacity);
        if (!grown) { b->failed = 1; return 0; }
        b->data = grown;
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, data, n);
    b->length += n;
    b->data[b->length] = 0;
    return 1;
}

static size_t on_body(char *data, size_t size, size_t count, void *context) {
    return append(context, data, size * count) ? size * count : 0;
}

/* Keeps the last response's Retry-After (a new status line starts a new response). */
static size_t on_header(char *data, size_t size, size_t count, void *context) {
    cairn_http_response *out = context;
    size_t n = size * count;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) { free(out->retry_after); out->retry_after = NULL; return n; }
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1, *end = data + n;
        while (v < end && (*v == ' ' || *v == '\t')) v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
        free(out->retry_after);
        out->retry_after = strndup(v, (size_t)(end - v));
    }
    return n;
}

int cairn_http_post(const char *url, const char *const *headers, size_t header_count,
                    const char *body, size_t body_length, long timeout_ms, cairn_http_response *out) {
    memset(out, 0, sizeof *out);
    pthread_once(&curl_once, load_curl);
    if (curl.problem) {
        out->transport_error = -1;
        snprintf(out->message, sizeof out->message, "%s", curl.problem);
        return -1;
    }
    CURL *h = curl.easy_init();
    if (!h) {
        out->transport_error = -1;
        snprintf(out->message, sizeof out->message, "libcurl could not start a request");
        return -1;
    }
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < header_count; i++) list = curl.slist_append(list, headers[i]);
    char error[CURL_ERROR_SIZE] = {0};
    buffer received = {0};
    curl.easy_setopt(h, CURLOPT_URL, url);
    curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(h, CURLOPT_POST, 1L);
    curl.easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (int64_t)body_length);
    curl.easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl.easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, (write_cb)on_body);
    curl.easy_setopt(h, CURLOPT_WRITEDATA, &received);
    curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, (write_cb)on_header);
    curl.easy_setopt(h, CURLOPT_HEADERDATA, out);
    int rc = curl.easy_perform(h);
    long status = 0;
    curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    out->status = status;
    out->transport_error = rc;
    if (rc != 0) snprintf(out->message, sizeof out->message, "%s", error[0] ? error : curl.easy_strerror(rc));
    else if (received.failed) { out->transport_error = -1; snprintf(out->message, sizeof out->message, "out of memory reading the response"); }
    out->body = received.data;
    out->body_length = received.length;
    curl.slist_free_all(list);
    curl.easy_cleanup(h);
    return out->transport_error;
}

void cairn_http_response_free(cairn_http_response *response) {
    free(response->body);
    free(response->retry_after);
    response->body = NULL;
    response->retry_after = NULL;
}
