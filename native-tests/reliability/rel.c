/* Shared helpers of the reliability drivers; see rel.h. */
#include "rel.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_sec(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void die(const char *what)
{
    fprintf(stderr, "reliability: %s: %s\n", what, strerror(errno));
    exit(2);
}

void xfail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("reliability: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        die("calloc");
    return p;
}

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static int passed_count, failed_count;

int check(int ok, const char *name, const char *why_fmt, ...)
{
    pthread_mutex_lock(&report_lock);
    if (ok) {
        printf("%s: passed\n", name);
        passed_count++;
    } else {
        va_list ap;
        va_start(ap, why_fmt);
        printf("%s: FAILED (", name);
        vprintf(why_fmt, ap);
        printf(")\n");
        va_end(ap);
        failed_count++;
    }
    fflush(stdout);
    pthread_mutex_unlock(&report_lock);
    return ok;
}

void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&report_lock);
    printf("    # ");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    pthread_mutex_unlock(&report_lock);
    va_end(ap);
}

int checks_failed(void) { return failed_count; }
int checks_passed(void) { return passed_count; }

/* splitmix64: every 8-byte block of a stream is the mix of (seed, block index). */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint8_t pattern_byte(uint64_t seed, uint64_t offset, uint64_t *block_index, uint64_t *block)
{
    uint64_t index = offset >> 3;
    if (index != *block_index) {
        *block_index = index;
        *block = mix64(seed * 0x100000001b3ull ^ index);
    }
    return (uint8_t)(*block >> ((offset & 7) * 8));
}

void pattern_fill(uint64_t seed, uint64_t offset, uint8_t *buf, size_t n)
{
    uint64_t block_index = UINT64_MAX, block = 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = pattern_byte(seed, offset + i, &block_index, &block);
}

size_t pattern_find_mismatch(uint64_t seed, uint64_t offset, const uint8_t *buf, size_t n)
{
    uint64_t block_index = UINT64_MAX, block = 0;
    for (size_t i = 0; i < n; i++)
        if (buf[i] != pattern_byte(seed, offset + i, &block_index, &block))
            return i;
    return n;
}

int netns_open(const char *path)
{
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* A socket belongs to the namespace its creator was in; switch this thread only for the call. */
int ns_socket(int nsfd, int type)
{
    static __thread int own_ns = -1;
    if (nsfd < 0)
        return socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (own_ns < 0 && (own_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
        die("open /proc/thread-self/ns/net");
    if (setns(nsfd, CLONE_NEWNET) != 0)
        die("setns into a test namespace");
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    int saved = errno;
    if (setns(own_ns, CLONE_NEWNET) != 0)
        die("setns back");
    errno = saved;
    return fd;
}

int parse_addr(const char *text, struct sockaddr_in *out)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host)
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = 0;
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    int port = atoi(colon + 1);
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &out->sin_addr) != 1)
        return -1;
    out->sin_port = htons((uint16_t)port);
    return 0;
}

int listen_in(int nsfd, const struct sockaddr_in *addr, int backlog)
{
    int fd = ns_socket(nsfd, SOCK_STREAM), one = 1;
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)addr, sizeof *addr) != 0 || listen(fd, backlog) != 0)
        die("bind/listen");
    return fd;
}

void set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void reset_close(int fd)
{
    struct linger lg = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - now_sec();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = { fd, events, 0 };
        int ms = left > 0.2 ? 200 : (int)(left * 1000) + 1;
        int r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

int connect_in(int nsfd, const struct sockaddr_in *to, const struct sockaddr_in *from, double limit_sec)
{
    int fd = ns_socket(nsfd, SOCK_STREAM | SOCK_NONBLOCK);
    if (fd < 0)
        return -errno;
    if (from) {
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (const struct sockaddr *)from, sizeof *from) != 0) {
            int e = errno;
            close(fd);
            return -e;
        }
    }
    if (connect(fd, (const struct sockaddr *)to, sizeof *to) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    int rc = wait_fd(fd, POLLOUT, now_sec() + limit_sec);
    int err = 0;
    socklen_t len = sizeof err;
    if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
        rc = -err;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    set_nodelay(fd);
    return fd;
}

int send_all(int fd, const void *buf, size_t n, double deadline)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN)
            return -errno;
        int rc = wait_fd(fd, POLLOUT, deadline);
        if (rc < 0)
            return rc;
    }
    return 0;
}

long recv_some(int fd, void *buf, size_t n, double deadline)
{
    size_t have = 0;
    while (have < n) {
        ssize_t r = recv(fd, (uint8_t *)buf + have, n - have, 0);
        if (r > 0) {
            have += (size_t)r;
            continue;
        }
        if (r == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
    }
    return (long)have;
}

int wait_close(int fd, double deadline, long *discarded)
{
    static __thread uint8_t scratch[65536];
    for (;;) {
        ssize_t r = recv(fd, scratch, sizeof scratch, 0);
        if (r == 0)
            return 0;
        if (r > 0) {
            if (discarded)
                *discarded += r;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
    }
}

void flow_init(struct flow *f)
{
    memset(f, 0, sizeof *f);
    f->recv_total = -1;
    f->wait_eof = 1;
    f->mismatch_at = -1;
}

static int flow_send_done(const struct flow *f)
{
    return f->sent >= f->send_total;
}

static int flow_recv_done(const struct flow *f)
{
    if (f->recv_total < 0)
        return f->eof;
    return f->received >= f->recv_total && (!f->wait_eof || f->eof);
}

static int flow_may_send(const struct flow *f)
{
    if (!f->send_after_recv)
        return 1;
    return f->recv_total < 0 ? f->eof : f->received >= f->recv_total;
}

int flow_run(int fd, struct flow *f, double deadline)
{
    enum { CHUNK = 65536 };
    static __thread uint8_t out[CHUNK], in[CHUNK];
    int shut = 0;
    set_nonblocking(fd);
    while (!f->error && f->mismatch_at < 0) {
        if (f->stop && *f->stop)
            break;
        int sending = flow_may_send(f) && !flow_send_done(f);
        if (flow_may_send(f) && flow_send_done(f) && f->shut_after_send && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        int receiving = !f->eof && !(f->recv_total >= 0 && !f->wait_eof && f->received >= f->recv_total);
        if (!sending && (flow_recv_done(f) || !receiving))
            break;
        short events = (short)((sending ? POLLOUT : 0) | (receiving ? POLLIN : 0));
        int rc = wait_fd(fd, events, deadline);
        if (rc < 0) {
            f->error = -rc;
            break;
        }
        if (receiving) {
            for (int i = 0; i < 16; i++) {
                size_t want = CHUNK;
                /* Not waiting for EOF: leave whatever comes after the expected bytes unread. */
                if (f->recv_total >= 0 && !f->wait_eof) {
                    if (f->received >= f->recv_total)
                        break;
                    if ((int64_t)want > f->recv_total - f->received)
                        want = (size_t)(f->recv_total - f->received);
                }
                ssize_t r = recv(fd, in, want, 0);
                if (r > 0) {
                    size_t bad = pattern_find_mismatch(f->recv_seed, (uint64_t)f->received, in, (size_t)r);
                    int extra = f->recv_total >= 0 && f->received + r > f->recv_total;
                    if (bad < (size_t)r || extra) {
                        f->mismatch_at = extra && bad == (size_t)r ? f->recv_total : f->received + (int64_t)bad;
                        f->received += r;
                        break;
                    }
                    f->received += r;
                    continue;
                }
                if (r == 0)
                    f->eof = 1;
                else if (errno != EAGAIN && errno != EINTR)
                    f->error = errno;
                break;
            }
        }
        if (sending && !f->error && f->mismatch_at < 0) {
            for (int i = 0; i < 16 && !flow_send_done(f); i++) {
                int64_t left = f->send_total - f->sent;
                size_t n = left < CHUNK ? (size_t)left : CHUNK;
                pattern_fill(f->send_seed, (uint64_t)f->sent, out, n);
                ssize_t w = send(fd, out, n, MSG_NOSIGNAL);
                if (w > 0) {
                    f->sent += w;
                    f->last_send_at = now_sec();
                    continue;
                }
                if (w < 0 && errno != EAGAIN && errno != EINTR)
                    f->error = errno;
                break;
            }
        }
    }
    return !f->error && f->mismatch_at < 0 && flow_send_done(f) && flow_recv_done(f);
}

long proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(fp);
    return kb;
}

int proc_fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

void raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double percentile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

double metrics_value(const struct sockaddr_in *addr, const char *name)
{
    int fd = connect_in(-1, addr, NULL, 5);
    if (fd < 0)
        return -1;
    static const char request[] = "GET /metrics HTTP/1.1\r\nHost: tcpproxy\r\nConnection: close\r\n\r\n";
    char *body = xcalloc(1, 1 << 20);
    double value = -1;
    if (send_all(fd, request, sizeof request - 1, now_sec() + 5) == 0) {
        long n = recv_some(fd, body, (1 << 20) - 1, now_sec() + 5);
        if (n > 0) {
            body[n] = 0;
            size_t len = strlen(name);
            for (char *line = body; line; line = strchr(line, '\n')) {
                if (*line == '\n')
                    line++;
                if (strncmp(line, name, len) != 0)
                    continue;
                char *p = line + len;
                if (*p == '{' && (p = strchr(p, '}')) != NULL)
                    p++;
                if (p && *p == ' ') {
                    value = strtod(p + 1, NULL);
                    break;
                }
            }
        }
    }
    close(fd);
    free(body);
    return value;
}
