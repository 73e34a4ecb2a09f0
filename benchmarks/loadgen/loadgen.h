/* Shared declarations of the load generator: options, helpers, one entry per mode. */
#ifndef LOADGEN_H
#define LOADGEN_H

#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct options {
    const char *mode;
    const char *host;     /* address of the proxy and of our own destination */
    int dest_port;        /* our in-process sink/echo destination listens here */
    int target_port;      /* clients connect here: the proxy, or dest_port with --direct */
    int conns;            /* concurrent connections (workers in connrate) */
    uint64_t bytes;       /* bulk: bytes streamed by each connection */
    int msg_size;         /* rtt: bytes per message */
    double seconds;       /* rtt, connrate: measured duration */
    double timeout;       /* hard limit for the whole run: a hang fails instead of blocking */
    size_t chunk;         /* bytes per read()/write() of the load generator itself */
    int window;           /* idle: connects in flight at once, so no listen backlog overflows */
    const char *histogram_path; /* rtt: also write the raw histogram here (for merging) */
    bool hold_echo;       /* rtt, connrate: serve the destination until stdin closes */
};

/* Tags packed into epoll_event.data.u64: role in the high half, index in the low half. */
enum role { ROLE_LISTENER = 1, ROLE_CLIENT, ROLE_SERVER, ROLE_STDIN };
#define TAG(role, idx) (((uint64_t)(role) << 32) | (uint32_t)(idx))
#define TAG_ROLE(tag) ((int)((tag) >> 32))
#define TAG_IDX(tag) ((uint32_t)(tag))

/* common.c */
void die(const char *what) __attribute__((noreturn));
void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
double now_sec(void);
void raise_nofile_limit(void);
int make_epoll(void);
void ep_add(int ep, int fd, uint32_t events, uint64_t tag);
void ep_mod(int ep, int fd, uint32_t events, uint64_t tag);
int listen_on(const char *host, int port);
int accept_one(int listener);            /* -1 when nothing is pending */
int connect_start(const char *host, int port); /* non-blocking, in progress */
int socket_error(int fd);                /* SO_ERROR, 0 when connected fine */
void set_nodelay(int fd);
double cpu_seconds_self(void);
void print_loadgen_cpu(double wall_seconds, double cpu_start);
void *xcalloc(size_t n, size_t size);

/* histogram.c: round-trip times at 100 ns resolution */
struct histogram;
struct histogram *histogram_new(void);
void histogram_add(struct histogram *h, double seconds);
uint64_t histogram_count(const struct histogram *h);
double histogram_percentile_us(const struct histogram *h, double pct);
void histogram_write(const struct histogram *h, const char *path);

int run_bulk(const struct options *o);
int run_rtt(const struct options *o);
int run_connrate(const struct options *o);
int run_idle(const struct options *o);

#endif
