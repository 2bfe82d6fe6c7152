#ifndef CHTTP_H
#define CHTTP_H

#include <stddef.h>

/// One HTTP POST through the system's libcurl, loaded with dlopen on first use.
///
/// cairn links no HTTP library: loading libcurl and the thirty libraries it depends on cost every
/// command a few milliseconds at start-up, and only model agents talk HTTP. The constants used are
/// libcurl's stable ABI values, so building needs no curl headers.

typedef struct {
    /// HTTP status of the last response, 0 when there was none.
    long status;
    /// The response body (malloc'd, NUL-terminated), and its length.
    char *body;
    size_t body_length;
    /// The value of the last response's Retry-After header (malloc'd), or NULL.
    char *retry_after;
    /// libcurl's result code: 0 on success; -1 when libcurl could not be loaded.
    int transport_error;
    /// A readable description of a transport error.
    char message[512];
} cairn_http_response;

/// POSTs `body` to `url` with `headers` ("Name: value"), giving up after `timeout_ms`.
/// Fills `out` (free it with cairn_http_response_free) and returns out->transport_error.
int cairn_http_post(const char *url, const char *const *headers, size_t header_count,
                    const char *body, size_t body_length, long timeout_ms, cairn_http_response *out);

void cairn_http_response_free(cairn_http_response *response);

/// libcurl's result codes cairn tells apart.
enum {
    CAIRN_CURLE_UNSUPPORTED_PROTOCOL = 1,
    CAIRN_CURLE_URL_MALFORMAT = 3,
    CAIRN_CURLE_COULDNT_RESOLVE_PROXY = 5,
    CAIRN_CURLE_COULDNT_RESOLVE_HOST = 6,
    CAIRN_CURLE_COULDNT_CONNECT = 7,
    CAIRN_CURLE_OPERATION_TIMEDOUT = 28,
    CAIRN_CURLE_GOT_NOTHING = 52,
    CAIRN_CURLE_SEND_ERROR = 55,
    CAIRN_CURLE_RECV_ERROR = 56,
    CAIRN_CURLE_PEER_FAILED_VERIFICATION = 60,
};

#endif
