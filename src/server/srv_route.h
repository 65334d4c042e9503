/*
 * srv_route.h — matching a method and path against the route table.
 *
 * Pure: no I/O, no allocation; unit-tested in tests/server/unit. A pattern
 * is a literal path whose `{id}` segments match a positive decimal integer
 * (1..18 digits); anything else in such a segment is "not found", exactly
 * like an unknown id. A `{name}` segment matches 1..SRV_ROUTE_NAME_MAX of
 * [a-z0-9_-] (a file name without dots: no path can be built from it); the
 * handler reads it from the path.
 *
 * One table serves HTTP and WebSocket: a route that a frame may also call
 * names its frame type (srv_route_by_frame), so a frame is decoded straight
 * into a request for that route, with no path built for it.
 */
#ifndef SRV_ROUTE_H
#define SRV_ROUTE_H

#include <stddef.h>
#include <stdint.h>

typedef enum srv_method {
    SRV_GET,
    SRV_POST,
    SRV_PUT,
    SRV_PATCH,
    SRV_DELETE,
    SRV_OPTIONS,
    SRV_HEAD,
    SRV_METHOD_OTHER
} srv_method;

/* Who may call a route. */
enum {
    SRV_R_PUBLIC = 1u << 0,   /* no session needed */
    SRV_R_PWCHANGE = 1u << 1, /* allowed while must_change_password / TOTP enrolment pending */
    SRV_R_OFFICER = 1u << 2,  /* officer or admin */
    SRV_R_ADMIN = 1u << 3,    /* admin */
    SRV_R_NO_RATE = 1u << 4   /* not counted against the session's rate (health) */
};

#define SRV_ROUTE_MAX_IDS  2
#define SRV_ROUTE_NAME_MAX 64

typedef struct srv_route {
    srv_method method;
    const char *pattern;
    unsigned flags;
    const void *handler; /* opaque to the matcher (a handler function) */
    /* The same route as a WebSocket frame (NULL: HTTP only): the frame's
     * "type", the frame field holding the route's {id}, and the type of the
     * reply frame on success (NULL: no reply on success). */
    const char *ws_type, *ws_id, *ws_ack;
} srv_route;

typedef enum srv_match {
    SRV_MATCH_OK,
    SRV_MATCH_NOT_FOUND,
    SRV_MATCH_METHOD /* the path exists with other methods: 405 */
} srv_match;

/* Finds the route for method + path (no query string). On SRV_MATCH_OK,
 * *out is the route and ids[] the values of its {id} segments in order. */
srv_match srv_route_match(const srv_route *table, size_t n, srv_method method, const char *path,
                          const srv_route **out, int64_t ids[SRV_ROUTE_MAX_IDS]);

/* The route a WebSocket frame of this type stands for, or NULL. */
const srv_route *srv_route_by_frame(const srv_route *table, size_t n, const char *type);

/* "GET" -> SRV_GET ...; unknown -> SRV_METHOD_OTHER. */
srv_method srv_method_parse(const char *s);
/* "GET", "POST", ...; "OTHER" for SRV_METHOD_OTHER. */
const char *srv_method_name(srv_method m);

#endif
