/*
 * srv_origin.h — is a request's Origin the server's own, or one the
 * configuration allows? The CSRF defence of cookie-authenticated requests
 * (srv_http.c) and WebSocket upgrades (srv_ws.c). Pure: no lws, no state.
 *
 * Same origin means the Origin's host and port are the Host header's, with
 * the scheme's default port (80 http, 443 https) where either leaves it out.
 * Schemes are not compared with the Host: behind a TLS-terminating proxy
 * the server sees http while the browser says https. `allowed` lists extra
 * origins ("https://chat.example.com"), compared whole, case-insensitively,
 * a trailing '/' ignored. The literal "null" (sandboxed frames, file: pages)
 * is never allowed.
 */
#ifndef SRV_ORIGIN_H
#define SRV_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

/* origin and host as the headers carry them (host may be NULL or empty:
 * only the list can allow then). */
bool srv_origin_allowed(const char *origin, const char *host, char *const *allowed,
                        size_t n_allowed);

/* Does a Content-Type header value name JSON ("application/json", any
 * case, parameters such as "; charset=utf-8" allowed)? NULL: no. */
bool srv_content_type_json(const char *value);

#endif
