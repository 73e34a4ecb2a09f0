/* refproxy: the "libasync-style in C" reference TCP proxy.
 * Single-threaded epoll, one fixed ring buffer per direction (the high-water mark),
 * stall timeout, EOF forwarded with shutdown(SHUT_WR).  Also the deliberately broken
 * proxy that proves the grader honest: --break=no-eof|unbounded|no-timeout.
 * Usage: refproxy dest-host dest-port listen-port [--stall-timeout S] [--buffer-size B]
 *                 [--splice] [--break=MODE] [--quiet]
 * --splice: the zero-copy baseline.  Each direction moves socket -> pipe -> socket with
 * splice(2); the pipe (64 KiB, taken from a free list only while the direction holds data)
 * is the buffer, and our own byte count per pipe keeps the same high-water mark.
 * Break modes: no-eof (never forwards EOF), unbounded (never stops reading), no-timeout,
 * idle-timeout (also aborts idle pairs), blocking (waits for a slow peer, stalling all),
 * keep-on-error (drops the data on a write error but keeps the pair open).             */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Copy mode: buf holds the bytes.  Splice mode: buf is NULL, pipe[] holds them (-1 when no
 * pipe is taken) and len counts them, so every rule below reads len and cap alike. */
struct ring { char *buf; size_t cap, head, len; int pipe[2]; int slots_full; };
struct pair {
    int fd[2];                 /* 0 = client, 1 = destination */
    struct ring r[2];          /* r[i] holds bytes read from fd[i], to be written to fd[1-i] */
    int eof[2], shut[2], connecting, closed;
    int parked[2];             /* fd removed from epoll: it reports HUP/ERR we cannot act on yet */
    unsigned mask[2];          /* epoll interest currently registered per fd */
    double stall_since[2];     /* when r[i] last became non-empty or last drained a little */
    double active_at;          /* last byte moved (only --break=idle-timeout looks at it) */
    struct pair *prev, *next;  /* all pairs, for the stall sweep */
};
struct end { struct pair *p; int side; };

static int epfd, lfd, sfd, quiet, listening_paused;
static int splice_mode;
static int brk_no_eof, brk_unbounded, brk_no_timeout, brk_idle_timeout, brk_blocking, brk_keep_on_error;
static size_t bufsize = 8192;
static double stall_timeout = 10;
static struct addrinfo *dest;
static struct pair *pairs, *graveyard;   /* graveyard: closed this batch, freed after it */

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void die(const char *what, int code) { fprintf(stderr, "refproxy: %s\n", what); exit(code); }
static void usage(const char *why) {
    fprintf(stderr, "refproxy: %s\nusage: refproxy dest-host dest-port listen-port [--stall-timeout S] "
            "[--buffer-size B] [--splice]\n                [--break=no-eof|unbounded|no-timeout|idle-timeout|blocking|keep-on-error] [--quiet]\n", why);
    exit(2);
}
static int parse_port(const char *s) {
    char *e; long v = strtol(s, &e, 10);
    if (!*s || *e || v < 1 || v > 65535) usage("port must be a number in 1..65535");
    return (int)v;
}

static void set_interest(struct pair *p, int i) {
    struct ring *in = &p->r[i], *out = &p->r[1 - i];
    unsigned m = 0;
    if (!p->eof[i] && (brk_unbounded || in->len < in->cap) && !in->slots_full && !(i == 1 && p->connecting)) m |= EPOLLIN;
    if (out->len > 0 || (i == 1 && p->connecting)) m |= EPOLLOUT;
    if (m == p->mask[i]) return;
    if (p->parked[i]) return;
    struct epoll_event ev = { .events = m, .data.u64 = (uint64_t)(uintptr_t)p | (uint64_t)i };  /* malloc'd: 2-aligned */
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd[i], &ev) < 0) die("epoll_ctl MOD failed", 1);
    p->mask[i] = m;
}

/* Free list of empty pipes: splice mode takes one when a direction starts holding data and
 * gives it back the moment it drains, so an idle pair holds 2 fds, not 6. */
static int (*pipe_pool)[2];
static size_t pipe_pool_len, pipe_pool_cap;

static int pipe_take(struct ring *r) {
    if (r->pipe[0] >= 0) return 0;
    if (pipe_pool_len > 0) { memcpy(r->pipe, pipe_pool[--pipe_pool_len], sizeof r->pipe); return 0; }
    if (pipe2(r->pipe, O_NONBLOCK | O_CLOEXEC) < 0) { r->pipe[0] = r->pipe[1] = -1; return -1; }
    /* Larger than the buffer: a pipe counts page slots, and one small skb can fill a slot. */
    fcntl(r->pipe[1], F_SETPIPE_SZ, 65536);   /* may fail above /proc/sys/fs/pipe-max-size: the default 64 KiB stays */
    return 0;
}

/* Only an empty pipe goes back to the list; one that still holds bytes is closed. */
static void pipe_give_back(struct ring *r) {
    if (r->pipe[0] < 0) return;
    if (r->len == 0 && pipe_pool_len == pipe_pool_cap) {
        size_t cap = pipe_pool_cap * 2 + 16;
        int (*grown)[2] = realloc(pipe_pool, cap * sizeof *grown);
        if (grown) { pipe_pool = grown; pipe_pool_cap = cap; }
    }
    if (r->len == 0 && pipe_pool_len < pipe_pool_cap) {
        memcpy(pipe_pool[pipe_pool_len++], r->pipe, sizeof r->pipe);
    } else {
        close(r->pipe[0]); close(r->pipe[1]);
    }
    r->pipe[0] = r->pipe[1] = -1;
}

static void close_pair(struct pair *p) {
    for (int i = 0; i < 2; i++) { close(p->fd[i]); free(p->r[i].buf); pipe_give_back(&p->r[i]); }
    if (p->prev) p->prev->next = p->next; else pairs = p->next;
    if (p->next) p->next->prev = p->prev;
    p->closed = 1;             /* events for it may still sit in this epoll batch */
    p->next = graveyard; graveyard = p;
    if (listening_paused) {   /* an fd came free: accept again */
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };
        if (epoll_ctl(epfd, EPOLL_CTL_MOD, lfd, &ev) == 0) listening_paused = 0;
    }
}

/* Grows the ring (only with --break=unbounded) so reading never stops. */
static void grow(struct ring *r) {
    char *nb = malloc(r->cap * 2);
    if (!nb) die("out of memory", 1);
    size_t first = r->cap - r->head < r->len ? r->cap - r->head : r->len;
    memcpy(nb, r->buf + r->head, first);
    memcpy(nb + first, r->buf, r->len - first);
    free(r->buf); r->buf = nb; r->head = 0; r->cap *= 2;
}

/* Splices fd[i] into its pipe until EAGAIN, the byte count reaches the buffer size, or EOF.
 * Returns -1 when no pipe could be had (the pair must be closed). */
static int splice_read(struct pair *p, int i) {
    struct ring *r = &p->r[i];
    while (r->len < r->cap) {
        if (pipe_take(r) < 0) return -1;
        size_t space = r->cap - r->len;
        ssize_t n = splice(p->fd[i], NULL, r->pipe[1], NULL, space, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            if (r->len == 0) p->stall_since[i] = now();
            r->len += (size_t)n; p->active_at = now();
            if ((size_t)n < space) break;   /* short: drained (or the pipe's slots are full: EAGAIN next time tells) */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            /* EAGAIN is either "socket empty" or "pipe out of page slots"; only bytes waiting in the
             * socket tell them apart.  Slots full: stop reading until the writer frees some. */
            int queued = 0;
            if (r->len > 0 && ioctl(p->fd[i], FIONREAD, &queued) == 0 && queued > 0) r->slots_full = 1;
            break;
        }
        p->eof[i] = 1;    /* EOF, or a read error other than EAGAIN: treated alike */
        break;
    }
    if (r->len == 0) pipe_give_back(r);
    return 0;
}

/* Splices r[i]'s pipe to fd[1-i].  Returns -1 on a write error (the pair must be closed). */
static int splice_write(struct pair *p, int i) {
    struct ring *r = &p->r[i];
    int o = 1 - i;
    while (r->len > 0) {
        size_t wanted = r->len;
        ssize_t n = splice(r->pipe[0], NULL, p->fd[o], NULL, wanted, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) return -1;   /* the pipe holds len bytes, so 0 cannot mean "nothing to move" */
        r->len -= (size_t)n; r->slots_full = 0;
        p->active_at = p->stall_since[i] = now();   /* progress restarts the stall clock */
        if ((size_t)n < wanted) break;   /* short write: the socket is full; EPOLLOUT says when it is not */
    }
    if (r->len == 0) pipe_give_back(r);
    return 0;
}

/* Reads fd[i] into r[i] until EAGAIN, ring full, or EOF.  Returns -1 when the pair must close. */
static int do_read(struct pair *p, int i) {
    if (splice_mode) return splice_read(p, i);
    struct ring *r = &p->r[i];
    for (;;) {
        if (r->len == r->cap) { if (!brk_unbounded) break; grow(r); }
        if (r->len == 0) r->head = 0;   /* keep reads contiguous when possible */
        size_t tail = (r->head + r->len) % r->cap, space = r->cap - r->len;
        size_t first = r->cap - tail < space ? r->cap - tail : space;
        struct iovec iov[2] = { { r->buf + tail, first }, { r->buf, space - first } };
        ssize_t n = readv(p->fd[i], iov, 2);
        if (n > 0) {
            if (r->len == 0) p->stall_since[i] = now();
            r->len += (size_t)n; p->active_at = now();
            if ((size_t)n < space) break;   /* short read: drained; level-triggered epoll says when there is more */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        p->eof[i] = 1;    /* EOF, or a read error other than EAGAIN: treated alike */
        break;
    }
    return 0;
}

/* Writes r[i] to fd[1-i]. Returns -1 on a write error (the pair must be closed). */
static int do_write(struct pair *p, int i) {
    struct ring *r = &p->r[i];
    int o = 1 - i;
    if (o == 1 && p->connecting) return 0;   /* destination not connected yet */
    if (splice_mode) {
        if (splice_write(p, i) < 0) return -1;
    } else while (r->len > 0) {
        size_t first = r->cap - r->head < r->len ? r->cap - r->head : r->len;
        struct iovec iov[2] = { { r->buf + r->head, first }, { r->buf, r->len - first } };
        ssize_t n = writev(p->fd[o], iov, 2);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN && brk_blocking) {   /* wait for this one peer, whatever the rest need */
            struct pollfd w[2] = { { .fd = p->fd[o], .events = POLLOUT }, { .fd = sfd, .events = POLLIN } };
            if (poll(w, 2, -1) < 0 && errno != EINTR) return -1;
            if (w[1].revents) exit(0);
            continue;
        }
        if (n < 0 && errno == EAGAIN) break;
        if (n < 0 && brk_keep_on_error) { r->len = 0; break; }
        if (n < 0) return -1;
        size_t wanted = r->len;
        p->active_at = now();
        r->head = (r->head + (size_t)n) % r->cap; r->len -= (size_t)n;
        p->stall_since[i] = now();   /* progress restarts the stall clock */
        if ((size_t)n < wanted && !brk_blocking) break;   /* short write: the socket is full; EPOLLOUT says when it is not */
    }
    /* shutdown can only fail with ENOTCONN after a reset, when there is nothing left to tell. */
    if (r->len == 0 && p->eof[i] && !p->shut[o] && !brk_no_eof) { shutdown(p->fd[o], SHUT_WR); p->shut[o] = 1; }
    return 0;
}

/* Reads fd[i] and writes what it read on at once.  Splice mode repeats while a read fills the
 * pipe to the high-water mark and the write empties it (a stream is flowing), instead of
 * asking epoll between every 8 KiB; bounded, so one busy pair cannot starve the others.
 * Returns -1 when the pair must be closed. */
static int pump(struct pair *p, int i) {
    struct ring *r = &p->r[i];
    for (int round = 0; ; round++) {
        if (do_read(p, i) < 0) return -1;
        int filled = r->len == r->cap;
        if (do_write(p, i) < 0) return -1;
        if (!splice_mode || !filled || r->len > 0 || p->eof[i] || round == 15) return 0;
    }
}

static void service(struct pair *p, int side, unsigned events) {
    if (p->closed) return;
    if (side == 1 && p->connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0; socklen_t len = sizeof err;
        if (getsockopt(p->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) { close_pair(p); return; }
        p->connecting = 0;
        if (do_write(p, 0) < 0) { close_pair(p); return; }   /* what the client sent meanwhile */
    }
    /* Read until EAGAIN or ring full, then write at once. */
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR) && !p->eof[side] && !(side == 1 && p->connecting)) {
        if (pump(p, side) < 0) { close_pair(p); return; }
    }
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
        int other = 1 - side;
        if (do_write(p, other) < 0) { close_pair(p); return; }
        if (!p->eof[other] && p->r[other].len < p->r[other].cap && !p->parked[other]) {
            /* the ring drained a little: refill it now */
            if (pump(p, other) < 0) { close_pair(p); return; }
        }
    }
    if (p->eof[0] && p->eof[1] && !p->r[0].len && !p->r[1].len) { close_pair(p); return; }
    /* HUP/ERR are reported whatever the interest; if we can neither read nor write this fd
     * now, take it out of epoll (the sweep puts it back) instead of spinning on it. */
    if (events & (EPOLLHUP | EPOLLERR) && !p->r[1 - side].len && (p->eof[side] || p->r[side].len == p->r[side].cap || p->r[side].slots_full)) {
        if (epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd[side], NULL) == 0) { p->parked[side] = 1; p->mask[side] = 0; }
    }
    set_interest(p, 0); set_interest(p, 1);
}

static void accept_clients(void) {
    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EMFILE || errno == ENFILE) {   /* stop accepting until a pair closes */
                struct epoll_event ev = { .events = 0, .data.u64 = 1 };
                if (epoll_ctl(epfd, EPOLL_CTL_MOD, lfd, &ev) == 0) listening_paused = 1;
            }
            return;   /* EAGAIN, or a transient error such as ECONNABORTED */
        }
        int d = socket(dest->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (d < 0) { close(c); continue; }
        if (connect(d, dest->ai_addr, dest->ai_addrlen) < 0 && errno != EINPROGRESS) { close(c); close(d); continue; }
        struct pair *p = calloc(1, sizeof *p);
        if (!p) die("out of memory", 1);
        p->fd[0] = c; p->fd[1] = d; p->connecting = 1; p->active_at = now();
        for (int i = 0; i < 2; i++) {
            p->r[i].cap = bufsize;
            p->r[i].pipe[0] = p->r[i].pipe[1] = -1;
            if (!splice_mode && !(p->r[i].buf = malloc(bufsize))) die("out of memory", 1);
            struct epoll_event ev = { .events = 0, .data.u64 = (uint64_t)(uintptr_t)p | (uint64_t)i };
            if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd[i], &ev) < 0) die("epoll_ctl ADD failed", 1);
        }
        p->next = pairs; if (pairs) pairs->prev = p; pairs = p;
        set_interest(p, 0); set_interest(p, 1);
    }
}

/* Aborts every pair whose buffered data could not be written for stall_timeout seconds,
 * and puts parked fds back into epoll so what they still hold gets handled. */
static void sweep(void) {
    double t = now();
    for (struct pair *p = pairs, *next; p; p = next) {
        next = p->next;
        if (!brk_no_timeout)
            for (int i = 0; i < 2 && !p->closed; i++)
                if (p->r[i].len && t - p->stall_since[i] >= stall_timeout) close_pair(p);
        if (brk_idle_timeout && !p->closed && t - p->active_at >= stall_timeout) close_pair(p);
        for (int i = 0; i < 2 && !p->closed; i++) {
            if (!p->parked[i]) continue;
            struct epoll_event ev = { .events = 0, .data.u64 = (uint64_t)(uintptr_t)p | (uint64_t)i };
            if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd[i], &ev) == 0) p->parked[i] = 0;
            set_interest(p, i);
        }
    }
}

static void parse_args(int argc, char **argv, int *lport) {
    if (argc < 4) usage("expected dest-host dest-port listen-port");
    for (int k = 4; k < argc; k++) {
        char *a = argv[k], *e;
        if (!strcmp(a, "--stall-timeout") && k + 1 < argc) {
            stall_timeout = strtod(argv[++k], &e);
            if (*e || !(stall_timeout > 0)) usage("--stall-timeout needs a positive number of seconds");
        } else if (!strcmp(a, "--buffer-size") && k + 1 < argc) {
            long v = strtol(argv[++k], &e, 10);
            if (*e || v < 1 || v > (1 << 30)) usage("--buffer-size needs a positive number of bytes");
            bufsize = (size_t)v;
        } else if (!strcmp(a, "--break=no-eof")) brk_no_eof = 1;
        else if (!strcmp(a, "--break=unbounded")) brk_unbounded = 1;
        else if (!strcmp(a, "--break=no-timeout")) brk_no_timeout = 1;
        else if (!strcmp(a, "--break=idle-timeout")) brk_idle_timeout = 1;
        else if (!strcmp(a, "--break=blocking")) brk_blocking = 1;
        else if (!strcmp(a, "--break=keep-on-error")) brk_keep_on_error = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--splice")) splice_mode = 1;
        else usage("unknown option");
    }
    if (splice_mode && (brk_no_eof | brk_unbounded | brk_no_timeout | brk_idle_timeout | brk_blocking | brk_keep_on_error))
        usage("--splice does not combine with --break");
    parse_port(argv[2]);
    *lport = parse_port(argv[3]);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    if (getaddrinfo(argv[1], argv[2], &hints, &dest) != 0) die("cannot resolve destination host", 1);
}

static void listen_on(int port) {
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any };
    int one = 1, zero = 0;
    lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket failed", 1);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);   /* dual-stack */
    if (bind(lfd, (struct sockaddr *)&a6, sizeof a6) < 0) die(errno == EADDRINUSE ? "listen port in use" : "bind failed", 1);
    if (listen(lfd, 4096) < 0) die("listen failed", 1);
}

int main(int argc, char **argv) {
    int lport;
    parse_args(argc, argv, &lport);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    signal(SIGPIPE, SIG_IGN);
    listen_on(lport);
    sigset_t ss; sigemptyset(&ss); sigaddset(&ss, SIGTERM); sigaddset(&ss, SIGINT);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    if ((sfd = signalfd(-1, &ss, SFD_CLOEXEC)) < 0 || (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) die("setup failed", 1);
    struct epoll_event lev = { .events = EPOLLIN, .data.u64 = 1 }, sev = { .events = EPOLLIN, .data.u64 = 3 };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &sev) < 0) die("epoll setup failed", 1);
    if (!quiet) fprintf(stderr, "refproxy: listening on [::]:%d, forwarding to %s:%s (%s, %zu-byte buffers)\n", lport,
                        argv[1], argv[2], splice_mode ? "splice" : "copy", bufsize);
    struct epoll_event evs[256];
    double next_sweep = now() + 0.25;
    for (;;) {
        int timeout_ms = (int)((next_sweep - now()) * 1000) + 1;
        int n = epoll_wait(epfd, evs, 256, timeout_ms < 0 ? 0 : timeout_ms);
        if (n < 0 && errno != EINTR) die("epoll_wait failed", 1);
        for (int k = 0; k < n; k++) {
            uint64_t u = evs[k].data.u64;
            if (u == 1) accept_clients();
            else if (u == 3) return 0;   /* SIGTERM or SIGINT: exit cleanly */
            else service((struct pair *)(uintptr_t)(u & ~(uint64_t)1), (int)(u & 1), evs[k].events);
        }
        if (now() >= next_sweep) { sweep(); next_sweep = now() + 0.25; }
        while (graveyard) { struct pair *p = graveyard; graveyard = p->next; free(p); }
    }
}
