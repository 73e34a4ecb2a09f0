/* Shared by the reliability drivers (faults, soak, hostile): clocks, the verifiable byte
 * pattern, sockets created in a given network namespace, bounded I/O, /proc sampling and
 * the one-line-per-check report that the suites' shell scripts count. */
#ifndef REL_H
#define REL_H

#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* ---- time ---- */
double now_sec(void);
void sleep_sec(double seconds);

/* ---- errors and checks ---- */
void die(const char *what);                    /* perror-style, exit 2: the driver itself broke */
void xfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xcalloc(size_t n, size_t size);
/* Prints "NAME: passed" or "NAME: FAILED (why)" and counts it; returns ok. */
int check(int ok, const char *name, const char *why_fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prints "    # ..." (figures, indented so nobody takes them for results). */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int checks_failed(void);
int checks_passed(void);

/* ---- the pattern: byte o of stream `seed` is a pure function of (seed, o) ---- */
void pattern_fill(uint64_t seed, uint64_t offset, uint8_t *buf, size_t n);
/* Index of the first byte that differs from the pattern, or n if all match. */
size_t pattern_find_mismatch(uint64_t seed, uint64_t offset, const uint8_t *buf, size_t n);

/* ---- sockets ---- */
/* Opens /run/netns/NAME (or any path); -1 and errno on failure. */
int netns_open(const char *path);
/* socket() inside the namespace nsfd (-1: the caller's own), the thread returns to its own. */
int ns_socket(int nsfd, int type);
int parse_addr(const char *text, struct sockaddr_in *out);   /* "a.b.c.d:port" */
int listen_in(int nsfd, const struct sockaddr_in *addr, int backlog);
/* Blocking connect with a bound; returns a non-blocking connected fd or -errno. */
int connect_in(int nsfd, const struct sockaddr_in *to, const struct sockaddr_in *from, double limit_sec);
void set_nonblocking(int fd);
void set_nodelay(int fd);
void reset_close(int fd);                        /* SO_LINGER 0 + close: the peer sees RST */
/* Sends all of buf on a non-blocking fd, waiting with poll; 0, or -errno (-ETIMEDOUT at the deadline). */
int send_all(int fd, const void *buf, size_t n, double deadline);
/* Reads exactly n bytes (fewer at EOF: returns what arrived), or -errno. */
long recv_some(int fd, void *buf, size_t n, double deadline);
/* Waits for the peer's EOF or reset, discarding data; returns 0 EOF, -errno, or -ETIMEDOUT. */
int wait_close(int fd, double deadline, long *discarded);

/* ---- a bidirectional verified flow over one socket ---- */
struct flow {
    /* what to send */
    uint64_t send_seed;
    int64_t send_total;       /* INT64_MAX: until stopped */
    int send_after_recv;      /* hold sending until recv_total arrived (or EOF when recv_total < 0) */
    int shut_after_send;      /* shutdown(SHUT_WR) once all was sent */
    /* what to expect */
    uint64_t recv_seed;
    int64_t recv_total;       /* -1: until EOF */
    int wait_eof;             /* after recv_total, still wait for EOF (and no extra byte) */
    volatile int *stop;       /* optional: ends the flow when set */
    /* results */
    int64_t sent, received;
    int eof;                  /* EOF seen */
    int error;                /* errno that ended it, 0 if none */
    int64_t mismatch_at;      /* first wrong byte received, -1 if none */
    double last_send_at;      /* when the kernel last took a byte */
};
void flow_init(struct flow *f);
/* Runs until the flow is complete, an error, a mismatch, stop, or the deadline (error ETIMEDOUT).
 * Returns 1 when complete without error or mismatch. */
int flow_run(int fd, struct flow *f, double deadline);

/* ---- the header a client sends first (faults): tells the server what to do ---- */
#define REL_MAGIC 0x7470726cu
struct hello {
    uint32_t magic, kind, id, pad;
    int64_t up_bytes, down_bytes;
};

/* ---- /proc ---- */
long proc_rss_kb(pid_t pid);
int proc_fd_count(pid_t pid);
void raise_nofile_limit(void);
double percentile(double *v, size_t n, double p);  /* sorts v */
/* GET /metrics from a Prometheus endpoint: the value of the first sample of `name`, or -1. */
double metrics_value(const struct sockaddr_in *addr, const char *name);

#endif
