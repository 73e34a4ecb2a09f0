/* Helpers every mode needs: errors, clocks, sockets, epoll, and our own CPU report. */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void die(const char *what)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        die("calloc");
    return p;
}

double now_sec(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime");
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Thousands of sockets per run: take everything the hard limit allows. */
void raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        die("getrlimit");
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        die("setrlimit");
}

int make_epoll(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    return ep;
}

void ep_add(int ep, int fd, uint32_t events, uint64_t tag)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("epoll_ctl add");
}

void ep_mod(int ep, int fd, uint32_t events, uint64_t tag)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0)
        die("epoll_ctl mod");
}

static struct sockaddr_in address_of(const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        fail("not an IPv4 address: %s", host);
    return sa;
}

int listen_on(const char *host, int port)
{
    struct sockaddr_in sa = address_of(host, port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        die("setsockopt SO_REUSEADDR");
    /* Several loadgen processes may share one destination port (the kernel spreads the
     * proxy's connections over them) when one process would saturate a core. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        die("setsockopt SO_REUSEPORT");
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("bind destination port");
    if (listen(fd, 4096) != 0)
        die("listen");
    return fd;
}

int accept_one(int listener)
{
    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
        return fd;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR)
        return -1;
    die("accept4");
}

int connect_start(const char *host, int port)
{
    struct sockaddr_in sa = address_of(host, port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
        die("connect");
    return fd;
}

int socket_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        die("getsockopt SO_ERROR");
    return err;
}

/* Small messages must leave at once, or Nagle would measure itself instead of the proxy. */
void set_nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        die("setsockopt TCP_NODELAY");
}

double cpu_seconds_self(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        die("getrusage");
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* Our own CPU use since cpu_start, so a saturated load generator is visible next to the
 * proxy's figures (100 % = one full core: it, not the proxy, may have set the pace). */
void print_loadgen_cpu(double wall_seconds, double cpu_start)
{
    double cpu = cpu_seconds_self() - cpu_start;
    printf(" loadgen_cpu_s=%.3f loadgen_cpu_pct=%.1f", cpu, wall_seconds > 0 ? 100.0 * cpu / wall_seconds : 0.0);
}
