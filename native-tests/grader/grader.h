/* test-tcpproxy: shared declarations of the grader's modules. */
#ifndef GRADER_H
#define GRADER_H
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "compat.h"

/* What a phase gets: the proxy it grades and where to put its verdict. */
struct ctx {
    int dest_lfd;          /* destination listener (127.0.0.1:dest_port); bound, listening unless PH_DEST_UNLISTENED */
    int dest_port;
    int proxy_port;        /* the proxy listens here (connect to 127.0.0.1) */
    pid_t proxy_pid;       /* 0 when the phase runs without a proxy (PH_NO_PROXY) */
    char reason[512];      /* set by fail() */
    char figures[512];     /* set by figure(): printed to stderr next to the result */
};

/* Phase flags */
#define PH_BUSY            1   /* CPU-heavy: run one at a time, not alongside other busy phases */
#define PH_NO_PROXY        2   /* the phase starts its own processes */
#define PH_DEST_UNLISTENED 4   /* destination port bound but not listening (connections refused) */

struct phase { const char *name; int (*run)(struct ctx *); int flags; };
extern const struct phase classic_phases[], extra_phases[];
extern const int n_classic_phases, n_extra_phases;

/* Options shared by all modules */
extern int opt_verbose;
extern double opt_timeout;            /* the stall timeout the proxy is expected to have */
extern char **proxy_argv;             /* proxy path followed by extra args */
extern int proxy_argc;

/* util.c */
double now(void);
void sleep_s(double s);
int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void figure(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int set_nonblock(int fd, int on);
int connect_proxy(struct ctx *c);                 /* blocking connect, then non-blocking fd; -1 on error */
int accept_dest(struct ctx *c, double timeout_s); /* waits for the proxy to connect to the destination */
int wait_fd(int fd, short events, double timeout_s); /* poll one fd: revents, 0 on timeout, -1 error */
int read_exact(int fd, void *buf, size_t n, double timeout_s);   /* 0 ok, -1 error/EOF/timeout */
int write_all(int fd, const void *buf, size_t n, double timeout_s);
int expect_eof(int fd, double timeout_s);         /* 1 if EOF/reset arrives in time, 0 otherwise */
int listen_on(const char *addr, int port, int backlog);   /* port 0: any; returns fd */
int bound_port(int fd);
int pick_free_port(void);
void fill_pattern(uint8_t *buf, size_t n, uint64_t seed);
uint64_t fnv1a(const uint8_t *buf, size_t n, uint64_t h);
int cmp_double(const void *a, const void *b);
double percentile(double *v, size_t n, double p);   /* sorts v */

/* proc.c: child processes */
pid_t start_proxy(struct ctx *c);                 /* fork+exec, waits until it listens; 0 on failure */
int stop_proxy(struct ctx *c);                    /* SIGTERM, then SIGKILL; 0 if it did not crash */
int proxy_alive(struct ctx *c);
long proxy_rss_kb(struct ctx *c);                 /* summed over the proxy's process group */
int wait_pid_exit(pid_t pid, double timeout_s, int *status);   /* 1 exited, 0 timed out */
void kill_all_children(void);                     /* for signal handlers and atexit */

/* destsrv.c: the destination server run in a thread of the phase process */
enum dest_mode { DEST_ECHO, DEST_SINK, DEST_STREAM };
struct destsrv;
struct destsrv *destsrv_start(int lfd);
void destsrv_next_mode(struct destsrv *d, enum dest_mode m);   /* for the next accepted connection */
int destsrv_wait_accepted(struct destsrv *d, int count, double timeout_s);
int destsrv_wait_closed(struct destsrv *d, int count, double timeout_s);
int destsrv_accepted(struct destsrv *d);
void destsrv_stop(struct destsrv *d);

/* pump.c: client-side chains of echo connections */
struct blocked_writer { int fd; size_t written; double last_progress; int closed; };
int open_chain(struct ctx *c, int *fds, int n);
void close_all(int *fds, int n);
/* Sends data into fds[0]; what comes back on fds[i] goes to fds[i+1]; checks that fds[n-1]
 * returns exactly the data.  bw (optional) is written to whenever it accepts bytes. */
int run_chain(struct ctx *c, int *fds, int n, const uint8_t *data, size_t len, double timeout_s,
              struct blocked_writer *bw);
int echo_once(struct ctx *c, int fd, const void *msg, size_t n, double timeout_s);

/* More taken from a writer whose peer never reads = unbounded buffering.  Legitimately the
 * kernel alone can hold ~45 MB here (tcp_rmem max 32 MB on the proxy side, autotuned).  */
#define UNBOUNDED_LIMIT ((size_t)128 << 20)

#endif
