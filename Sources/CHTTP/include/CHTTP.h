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

/// How a session connects: credentials (never logged), an optional CA bundle, and whether TLS is required
/// (STARTTLS for imap:// and smtp:// URLs). Certificates and host names are always verified.
typedef struct {
    const char *username;
    const char *password;
    const char *ca_file;
    int require_tls;
    long timeout_ms;
} cairn_curl_settings;

/// A libcurl easy handle kept between requests, so IMAP commands share one logged-in connection.
typedef struct cairn_curl_session cairn_curl_session;

/// Opens a session (NULL with `message` filled when libcurl cannot be loaded). Nothing connects yet.
cairn_curl_session *cairn_curl_open(const cairn_curl_settings *settings, char message[512]);
void cairn_curl_close(cairn_curl_session *session);

/// One request on the session's connection: for IMAP, `url` picks the mailbox (and `;UID=n` fetches a
/// message) and `custom_request` is a command such as "UID SEARCH UID 5:*" whose untagged replies become
/// the body; for HTTP, `custom_request` is the method (NULL: GET, or POST with a body).
int cairn_curl_request(cairn_curl_session *session, const char *url, const char *custom_request,
                       const char *const *headers, size_t header_count,
                       const char *body, size_t body_length, cairn_http_response *out);

/// Submits `message` (headers and body, CRLF lines) over SMTP to `recipients`.
int cairn_curl_smtp_send(cairn_curl_session *session, const char *url, const char *from,
                         const char *const *recipients, size_t recipient_count,
                         const char *message, size_t message_length, cairn_http_response *out);

/// Connects and logs in (for imap:// and imaps://: greeting, STARTTLS when required, LOGIN) and then stops, leaving
/// the connection to cairn_curl_send_all and cairn_curl_receive. Fills `out` like a request; returns its transport_error.
int cairn_curl_connect_only(cairn_curl_session *session, const char *url, cairn_http_response *out);

/// Sends all of `data` on a connect-only session (through TLS when the session uses it); 0 on success.
int cairn_curl_send_all(cairn_curl_session *session, const char *data, size_t length, long timeout_ms, char message[512]);

/// Receives up to `capacity` bytes, waiting at most `timeout_ms`: the count (0 when the server closed the
/// connection), or -1 with `message` filled.
long cairn_curl_receive(cairn_curl_session *session, char *into, size_t capacity, long timeout_ms, char message[512]);

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
    CAIRN_CURLE_LOGIN_DENIED = 67,
    CAIRN_CURLE_REMOTE_FILE_NOT_FOUND = 78,
};

#endif
