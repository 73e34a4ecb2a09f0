/* Small helpers: time, verdicts, sockets, patterns. */
#include "grader.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

void sleep_s(double s) {
    struct timespec t = { (time_t)s, (long)((s - (time_t)s) * 1e9) };
    while (nanosleep(&t, &t) < 0 && errno == EINTR) {}
}

int fail(struct ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (!c->reason[0]) vsnprintf(c->reason, sizeof c->reason, fmt, ap);   /* first reason wins */
    va_end(ap);
    return -1;
}

void figure(struct ctx *c, const char *fmt, ...) {
    size_t used = strlen(c->figures);
    if (used + 2 >= sizeof c->figures) return;
    if (used) c->figures[used++] = ';', c->figures[used++] = ' ', c->figures[used] = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->figures + used, sizeof c->figures - used, fmt, ap);
    va_end(ap);
}

void vlog(const char *fmt, ...) {
    if (!opt_verbose) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%d] ", (int)getpid());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int set_nonblock(int fd, int on) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return -1;
    return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

int connect_proxy(struct ctx *c) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(c->proxy_port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket_cloexec(AF_INET);
    if (fd < 0) return fail(c, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(fd);
        return fail(c, "connect to proxy: %s", strerror(e));
    }
    set_nonblock(fd, 1);
    return fd;
}

int wait_fd(int fd, short events, double timeout_s) {
    struct pollfd p = { .fd = fd, .events = events };
    double end = now() + timeout_s;
    for (;;) {
        double left = end - now();
        int r = poll(&p, 1, left > 0 ? (int)(left * 1000) + 1 : 0);
        if (r > 0) return p.revents;
        if (r == 0) return 0;
        if (errno != EINTR) return -1;
    }
}

int accept_dest(struct ctx *c, double timeout_s) {
    int r = wait_fd(c->dest_lfd, POLLIN, timeout_s);
    if (r <= 0) return fail(c, "the proxy did not connect to the destination within %.0f s", timeout_s);
    int fd = accept_nonblock(c->dest_lfd);
    if (fd < 0) return fail(c, "accept: %s", strerror(errno));
    return fd;
}

int read_exact(int fd, void *buf, size_t n, double timeout_s) {
    double end = now() + timeout_s;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r > 0) { got += (size_t)r; continue; }
        if (r == 0) return -1;
        if (errno != EAGAIN && errno != EINTR) return -1;
        if (now() >= end || wait_fd(fd, POLLIN, end - now()) <= 0) return -1;
    }
    return 0;
}

int write_all(int fd, const void *buf, size_t n, double timeout_s) {
    double end = now() + timeout_s;
    size_t put = 0;
    while (put < n) {
        ssize_t r = send(fd, (const char *)buf + put, n - put, MSG_NOSIGNAL);
        if (r > 0) { put += (size_t)r; continue; }
        if (r < 0 && errno != EAGAIN && errno != EINTR) return -1;
        if (now() >= end || wait_fd(fd, POLLOUT, end - now()) <= 0) return -1;
    }
    return 0;
}

int expect_eof(int fd, double timeout_s) {
    double end = now() + timeout_s;
    char buf[4096];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r == 0) return 1;
        if (r < 0 && errno != EAGAIN && errno != EINTR) return 1;   /* reset also ends it */
        if (r > 0) continue;
        if (now() >= end || wait_fd(fd, POLLIN, end - now()) <= 0) return 0;
    }
}

int listen_on(const char *addr, int port, int backlog) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) return -1;
    int fd = socket_cloexec(AF_INET), one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || (backlog > 0 && listen(fd, backlog) < 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

int bound_port(int fd) {
    struct sockaddr_storage s;
    socklen_t len = sizeof s;
    if (getsockname(fd, (struct sockaddr *)&s, &len) < 0) return -1;
    return s.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&s)->sin_port)
                                  : ntohs(((struct sockaddr_in6 *)&s)->sin6_port);
}

/* A port below the kernel's ephemeral range (32768..), so that no outgoing connection
 * takes it between our check and the proxy's bind; checked free on [::] (dual-stack). */
int pick_free_port(void) {
    static unsigned seed;
    if (!seed) seed = (unsigned)getpid() ^ (unsigned)(now() * 1e6);
    for (int attempt = 0; attempt < 200; attempt++) {
        int port = 20000 + (int)(rand_r(&seed) % 12000);
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any };
        int fd = socket_cloexec(AF_INET6), zero = 0;
        if (fd < 0) return -1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok) return port;
    }
    return -1;
}

/* Deterministic pseudo-random bytes (xorshift64*), so both ends can check every byte. */
void fill_pattern(uint8_t *buf, size_t n, uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        if ((i & 7) == 0) { x ^= x >> 12; x ^= x << 25; x ^= x >> 27; }
        buf[i] = (uint8_t)((x * 0x2545F4914F6CDD1Dull) >> (8 * (i & 7)));
    }
}

uint64_t fnv1a(const uint8_t *buf, size_t n, uint64_t h) {
    if (!h) h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ buf[i]) * 0x100000001b3ull;
    return h;
}

int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double percentile(double *v, size_t n, double p) {
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}
