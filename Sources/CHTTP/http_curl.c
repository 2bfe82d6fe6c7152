#include "CHTTP.h"

#include <dlfcn.h>
#include <poll.h>
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
#define CURLOPT_READDATA (OPT_POINT + 9)
#define CURLOPT_READFUNCTION (OPT_FUNCTION + 12)
#define CURLOPT_CUSTOMREQUEST (OPT_POINT + 36)
#define CURLOPT_UPLOAD (OPT_LONG + 46)
#define CURLOPT_SSL_VERIFYPEER (OPT_LONG + 64)
#define CURLOPT_CAINFO (OPT_POINT + 65)
#define CURLOPT_HTTPGET (OPT_LONG + 80)
#define CURLOPT_SSL_VERIFYHOST (OPT_LONG + 81)
#define CURLOPT_INFILESIZE_LARGE (OPT_OFF_T + 115)
#define CURLOPT_USE_SSL (OPT_LONG + 119)
#define CURLOPT_CONNECTTIMEOUT_MS (OPT_LONG + 156)
#define CURLOPT_USERNAME (OPT_POINT + 173)
#define CURLOPT_PASSWORD (OPT_POINT + 174)
#define CURLOPT_MAIL_FROM (OPT_POINT + 186)
#define CURLOPT_MAIL_RCPT (OPT_POINT + 187)
#define CURLOPT_CONNECT_ONLY (OPT_LONG + 141)
#define CURLUSESSL_ALL 3
#define CURLINFO_ACTIVESOCKET (0x500000 + 44)
#define CURLE_AGAIN 81
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
    int (*easy_send)(CURL *, const void *, size_t, size_t *);
    int (*easy_recv)(CURL *, void *, size_t, size_t *);
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
    LOAD(easy_send, "curl_easy_send")
    LOAD(easy_recv, "curl_easy_recv")
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

/* Runs the transfer set up on `h`, collecting the body (and Retry-After) into `out`, and describes a failure. */
static int perform(CURL *h, cairn_http_response *out) {
    char error[CURL_ERROR_SIZE] = {0};
    buffer received = {0};
    curl.easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, (write_cb)on_body);
    curl.easy_setopt(h, CURLOPT_WRITEDATA, &received);
    curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, (write_cb)on_header);
    curl.easy_setopt(h, CURLOPT_HEADERDATA, out);
    int rc = curl.easy_perform(h);
    curl.easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    long status = 0;
    curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    out->status = status;
    out->transport_error = rc;
    if (rc != 0) snprintf(out->message, sizeof out->message, "%s", error[0] ? error : curl.easy_strerror(rc));
    else if (received.failed) { out->transport_error = -1; snprintf(out->message, sizeof out->message, "out of memory reading the response"); }
    out->body = received.data;
    out->body_length = received.length;
    return out->transport_error;
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
    curl.easy_setopt(h, CURLOPT_URL, url);
    curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(h, CURLOPT_POST, 1L);
    curl.easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (int64_t)body_length);
    curl.easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    int rc = perform(h, out);
    curl.slist_free_all(list);
    curl.easy_cleanup(h);
    return rc;
}

void cairn_http_response_free(cairn_http_response *response) {
    free(response->body);
    free(response->retry_after);
    response->body = NULL;
    response->retry_after = NULL;
}

/* Sessions: one easy handle whose connection libcurl keeps open between requests (IMAP, SMTP, CalDAV). */

struct cairn_curl_session {
    CURL *handle;
    struct curl_slist *headers;
};

cairn_curl_session *cairn_curl_open(const cairn_curl_settings *settings, char message[512]) {
    pthread_once(&curl_once, load_curl);
    if (curl.problem) { snprintf(message, 512, "%s", curl.problem); return NULL; }
    cairn_curl_session *s = calloc(1, sizeof *s);
    if (!s || !(s->handle = curl.easy_init())) { free(s); snprintf(message, 512, "libcurl could not start a session"); return NULL; }
    CURL *h = s->handle;
    curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    /* Certificates are always verified; a connector may name its own CA bundle, never switch checks off. */
    curl.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (settings->ca_file && *settings->ca_file) curl.easy_setopt(h, CURLOPT_CAINFO, settings->ca_file);
    if (settings->require_tls) curl.easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (settings->username) curl.easy_setopt(h, CURLOPT_USERNAME, settings->username);
    if (settings->password) curl.easy_setopt(h, CURLOPT_PASSWORD, settings->password);
    curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, settings->timeout_ms > 0 ? settings->timeout_ms : 60000L);
    curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, settings->timeout_ms > 0 && settings->timeout_ms < 15000 ? settings->timeout_ms : 15000L);
    return s;
}

void cairn_curl_close(cairn_curl_session *s) {
    if (!s) return;
    curl.easy_cleanup(s->handle);
    curl.slist_free_all(s->headers);
    free(s);
}

int cairn_curl_request(cairn_curl_session *s, const char *url, const char *custom_request,
                       const char *const *headers, size_t header_count,
                       const char *body, size_t body_length, cairn_http_response *out) {
    memset(out, 0, sizeof *out);
    CURL *h = s->handle;
    curl.slist_free_all(s->headers);
    s->headers = NULL;
    for (size_t i = 0; i < header_count; i++) s->headers = curl.slist_append(s->headers, headers[i]);
    curl.easy_setopt(h, CURLOPT_URL, url);
    curl.easy_setopt(h, CURLOPT_UPLOAD, 0L);
    if (body) {
        curl.easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (int64_t)body_length);
    } else {
        curl.easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, custom_request);
    curl.easy_setopt(h, CURLOPT_HTTPHEADER, s->headers);
    return perform(h, out);
}

typedef struct { const char *data; size_t length, offset; } source;

static size_t on_read(char *into, size_t size, size_t count, void *context) {
    source *src = context;
    size_t n = size * count, left = src->length - src->offset;
    if (n > left) n = left;
    memcpy(into, src->data + src->offset, n);
    src->offset += n;
    return n;
}

int cairn_curl_smtp_send(cairn_curl_session *s, const char *url, const char *from,
                         const char *const *recipients, size_t recipient_count,
                         const char *message, size_t message_length, cairn_http_response *out) {
    memset(out, 0, sizeof *out);
    CURL *h = s->handle;
    struct curl_slist *rcpt = NULL;
    for (size_t i = 0; i < recipient_count; i++) rcpt = curl.slist_append(rcpt, recipients[i]);
    source src = {message, message_length, 0};
    curl.easy_setopt(h, CURLOPT_URL, url);
    curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    curl.easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl.easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl.easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl.easy_setopt(h, CURLOPT_READFUNCTION, (write_cb)on_read);
    curl.easy_setopt(h, CURLOPT_READDATA, &src);
    curl.easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (int64_t)message_length);
    int rc = perform(h, out);
    curl.easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
    curl.easy_setopt(h, CURLOPT_UPLOAD, 0L);
    curl.slist_free_all(rcpt);
    return rc;
}


/* A raw channel: libcurl connects (TLS, STARTTLS, greeting and login included) and then leaves the protocol to the
   caller. IMAP uses it for commands whose replies carry literals (UID FETCH BODY.PEEK[]), which libcurl's own
   request forms cannot express. */

int cairn_curl_connect_only(cairn_curl_session *s, const char *url, cairn_http_response *out) {
    memset(out, 0, sizeof *out);
    curl.easy_setopt(s->handle, CURLOPT_URL, url);
    curl.easy_setopt(s->handle, CURLOPT_CONNECT_ONLY, 1L);
    return perform(s->handle, out);
}

/* Waits until the session's socket is readable (or writable) for at most `timeout_ms`; 0 when it timed out. */
static int wait_socket(cairn_curl_session *s, short events, long timeout_ms) {
    int socket = -1;  /* curl_socket_t */
    if (curl.easy_getinfo(s->handle, CURLINFO_ACTIVESOCKET, &socket) != 0 || socket < 0) return -1;
    struct pollfd p = {socket, events, 0};
    return poll(&p, 1, (int)timeout_ms);
}

int cairn_curl_send_all(cairn_curl_session *s, const char *data, size_t length, long timeout_ms, char message[512]) {
    size_t done = 0;
    while (done < length) {
        size_t n = 0;
        int rc = curl.easy_send(s->handle, data + done, length - done, &n);
        if (rc == CURLE_AGAIN) {
            if (wait_socket(s, POLLOUT, timeout_ms) <= 0) { snprintf(message, 512, "timed out sending to the server"); return -1; }
            continue;
        }
        if (rc != 0) { snprintf(message, 512, "%s", curl.easy_strerror(rc)); return rc; }
        done += n;
    }
    return 0;
}

long cairn_curl_receive(cairn_curl_session *s, char *into, size_t capacity, long timeout_ms, char message[512]) {
    for (;;) {
        size_t n = 0;
        int rc = curl.easy_recv(s->handle, into, capacity, &n);
        if (rc == 0) return (long)n;
        if (rc != CURLE_AGAIN) { snprintf(message, 512, "%s", curl.easy_strerror(rc)); return -1; }
        int ready = wait_socket(s, POLLIN, timeout_ms);
        if (ready == 0) { snprintf(message, 512, "the server did not answer within %ld ms", timeout_ms); return -1; }
        if (ready < 0) { snprintf(message, 512, "the connection is gone"); return -1; }
    }
}
