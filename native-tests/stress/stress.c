/* stress: high-fanout load through a proxy started as `PROXY dest-host dest-port listen-port`.
 * Opens N connections (spread over several 127.x.y.z source and destination addresses, since
 * one address pair runs out of ports and backlog), keeps each exchanging 16-byte messages at a
 * bounded rate for T seconds, checks every byte, and reports throughput, latency and the
 * proxy's memory per pair: RSS and private memory (Private_Clean + Private_Dirty of
 * /proc/PID/smaps_rollup) once every pair has proven itself by a round trip, and again at
 * the end, each minus the same before any pair existed.  The destination echo server runs in a child process so that neither process
 * needs more than N descriptors (the hard limit here is 20 000; the proxy needs 2N).
 * usage: stress [-n N] [-t SECONDS] [-r MSGS_PER_SEC_PER_CONN] [-a ADDRESSES] PROXY [args] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG 16
enum { CONNECTING, READY, WAITING, DEAD };
struct conn { int fd, state, proven; uint32_t seq; size_t got; double sent_at, next_at; uint8_t out[MSG], in[MSG]; };
struct mem { long rss_kb, private_kb; };

static pid_t proxy_pid, dest_pid;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void die(const char *m) { fprintf(stderr, "stress: %s: %s\n", m, strerror(errno)); exit(2); }
static void cleanup(void) { if (proxy_pid > 0) kill(-proxy_pid, SIGKILL); if (dest_pid > 0) kill(dest_pid, SIGKILL); }
static void on_signal(int sig) { cleanup(); signal(sig, SIG_DFL); raise(sig); }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
}

/* The destination: echoes everything, one epoll loop, in its own process. */
static void echo_server(int lfd) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[512];
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) _exit(1);
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce) < 0) close(c);
                }
                continue;
            }
            char buf[4096];
            ssize_t r = read(fd, buf, sizeof buf);
            if (r == 0 || (r < 0 && errno != EAGAIN)) { close(fd); continue; }
            /* Each client has one 16-byte message outstanding: the socket buffer always has room. */
            if (r > 0 && send(fd, buf, (size_t)r, MSG_NOSIGNAL) != r) close(fd);
        }
    }
}

static int port_listening(int port) {
    const char *files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
    char line[512];
    for (int f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "r");
        if (!fp) continue;
        int found = 0;
        while (!found && fgets(line, sizeof line, fp)) {
            unsigned lport, state;
            if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &lport, &state) == 2)
                found = (int)lport == port && state == 0x0A;
        }
        fclose(fp);
        if (found) return 1;
    }
    return 0;
}

static int start_proxy(char **pargv, int pargc, int dport) {
    srand((unsigned)getpid() ^ (unsigned)(now() * 1e6));
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = 20000 + rand() % 12000;   /* below the ephemeral range */
        char dp[16], lp[16], *argv[64];
        int argc = 0;
        snprintf(dp, sizeof dp, "%d", dport);
        snprintf(lp, sizeof lp, "%d", port);
        argv[argc++] = pargv[0]; argv[argc++] = "127.0.0.1"; argv[argc++] = dp; argv[argc++] = lp;
        for (int i = 1; i < pargc && argc < 63; i++) argv[argc++] = pargv[i];
        argv[argc] = NULL;
        proxy_pid = fork();
        if (proxy_pid < 0) die("fork");
        if (proxy_pid == 0) {
            setpgid(0, 0);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int null = open("/dev/null", O_RDWR);
            dup2(null, 0); dup2(null, 1);
            execvp(argv[0], argv);
            _exit(127);
        }
        setpgid(proxy_pid, proxy_pid);
        double end = now() + 15;
        int status;
        while (now() < end) {
            if (port_listening(port)) return port;
            if (waitpid(proxy_pid, &status, WNOHANG) == proxy_pid) break;
            struct timespec ts = { 0, 2000000 };
            nanosleep(&ts, NULL);   /* /proc offers no event for "someone listens" */
        }
        kill(-proxy_pid, SIGKILL);
        waitpid(proxy_pid, &status, 0);
        proxy_pid = 0;
    }
    fprintf(stderr, "stress: the proxy did not start listening\n");
    exit(2);
}

static long rss_kb(pid_t pid) {
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    while (fgets(line, sizeof line, fp)) if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
    fclose(fp);
    return kb;
}

/* RSS from status; private = Private_Clean + Private_Dirty from smaps_rollup (-1 if unreadable). */
static struct mem mem_of(pid_t pid) {
    struct mem m = { rss_kb(pid), -1 };
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp) return m;
    long kb, sum = 0;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "Private_Clean: %ld", &kb) == 1 || sscanf(line, "Private_Dirty: %ld", &kb) == 1) sum += kb;
    fclose(fp);
    m.private_kb = sum;
    return m;
}

static void print_mem(const char *when, struct mem before, struct mem now_, int pairs) {
    double d = pairs ? pairs : 1;
    printf("stress: proxy %s: RSS %ld KB (+%.2f KB/pair), private %ld KB (+%.2f KB/pair) over %d pairs\n", when,
           now_.rss_kb, (now_.rss_kb - before.rss_kb) / d, now_.private_kb, (now_.private_kb - before.private_kb) / d,
           pairs);
}

static int open_conn(int i, int port, int naddrs) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);   /* port chosen per 4-tuple */
    struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET, .sin_port = htons(port) };
    src.sin_addr.s_addr = htonl(0x7F010001u + (uint32_t)(i % naddrs));          /* 127.1.0.x */
    dst.sin_addr.s_addr = htonl(0x7F000001u + (uint32_t)((i / naddrs) % naddrs)); /* 127.0.0.y */
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0 ||
        (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS)) { close(fd); return -1; }
    return fd;
}

static void make_msg(struct conn *k, uint32_t id) {
    uint64_t check = ((uint64_t)id * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)k->seq * 0xC2B2AE3D27D4EB4Full);
    memcpy(k->out, &id, 4); memcpy(k->out + 4, &k->seq, 4); memcpy(k->out + 8, &check, 8);
}

int main(int argc, char **argv) {
    int n = 9000, naddrs = 8, i = 1;
    double seconds = 10, rate = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (i + 1 >= argc) break;
        if (!strcmp(argv[i], "-n")) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-t")) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "-r")) rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "-a")) naddrs = atoi(argv[++i]);
        else break;
    }
    if (i >= argc || n < 1 || n > 9900 || seconds <= 0 || rate <= 0 || naddrs < 1 || naddrs > 250) {
        fprintf(stderr, "usage: stress [-n CONNECTIONS (1..9900, default 9000)] [-t SECONDS (10)] [-r MSGS/S PER CONNECTION (1)]\n"
                        "              [-a ADDRESSES (8)] PROXY [extra proxy args]\n");
        return 2;
    }
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    atexit(cleanup);

    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) die("destination listener");
    if ((dest_pid = fork()) < 0) die("fork");
    if (dest_pid == 0) echo_server(lfd);
    close(lfd);
    int port = start_proxy(argv + i, argc - i, ntohs(a.sin_port));
    struct mem before = mem_of(proxy_pid), up = { -1, -1 };
    int proven = 0, up_pairs = 0;

    struct conn *conns = calloc((size_t)n, sizeof *conns);
    size_t max_samples = (size_t)(n * seconds * rate * 1.5) + 1000;
    double *rtt = malloc(max_samples * sizeof *rtt);
    int ep = epoll_create1(0);
    if (!conns || !rtt || ep < 0) die("setup");
    int opened = 0, established = 0, failures = 0, in_flight = 0;
    long trips = 0, mismatches = 0;
    size_t nsamples = 0;
    double t0 = now(), connect_deadline = t0 + 60, run_start = 0, run_end = 0, next_scan = 0;
    struct epoll_event evs[1024];
    for (;;) {
        double t = now();
        /* Connect in batches: a bounded number in flight, so the proxy's backlog keeps up. */
        while (opened < n && in_flight < 256 && t < connect_deadline) {
            struct conn *k = &conns[opened];
            k->fd = open_conn(opened, port, naddrs);
            if (k->fd < 0) { k->state = DEAD; failures++; opened++; continue; }
            struct epoll_event e = { .events = EPOLLOUT, .data.u32 = (uint32_t)opened };
            if (epoll_ctl(ep, EPOLL_CTL_ADD, k->fd, &e) < 0) die("epoll_ctl");
            k->state = CONNECTING;
            opened++; in_flight++;
        }
        if (!run_start && ((opened == n && in_flight == 0) || t >= connect_deadline)) {
            run_start = t; run_end = t + seconds;
            if (before.rss_kb < 0) before = mem_of(proxy_pid);
        }
        /* Every pair up at the proxy: each has carried a round trip (a completed connect only
         * says the kernel accepted it into the backlog). */
        if (run_start && up.rss_kb < 0 && opened == n && in_flight == 0 && proven == established) {
            up = mem_of(proxy_pid);
            up_pairs = proven;
        }
        if (run_start && t >= run_end) break;
        int ne = epoll_wait(ep, evs, 1024, 2);
        t = now();
        for (int e = 0; e < ne; e++) {
            uint32_t id = evs[e].data.u32;
            struct conn *k = &conns[id];
            if (k->state == CONNECTING) {
                int err = 0; socklen_t el = sizeof err;
                in_flight--;
                getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) { k->state = DEAD; failures++; close(k->fd); continue; }
                struct epoll_event ce = { .events = EPOLLIN, .data.u32 = id };
                epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &ce);
                k->state = READY;
                k->next_at = t + (double)(rand() % 1000) / 1000.0 / rate;   /* spread the sends */
                established++;
                continue;
            }
            if (k->state != WAITING) {   /* data or EOF while nothing is outstanding */
                char junk[64];
                ssize_t r = read(k->fd, junk, sizeof junk);
                if (r != -1 || errno != EAGAIN) { k->state = DEAD; failures++; close(k->fd); }
                continue;
            }
            ssize_t r = read(k->fd, k->in + k->got, MSG - k->got);
            if (r == 0 || (r < 0 && errno != EAGAIN)) { k->state = DEAD; failures++; close(k->fd); continue; }
            if (r < 0) continue;
            k->got += (size_t)r;
            if (k->got < MSG) continue;
            if (memcmp(k->in, k->out, MSG) != 0) { mismatches++; k->state = DEAD; failures++; close(k->fd); continue; }
            if (!k->proven) { k->proven = 1; proven++; }
            if (run_start && nsamples < max_samples) rtt[nsamples++] = (t - k->sent_at) * 1000;
            if (run_start) trips++;
            k->state = READY;
            k->next_at = k->sent_at + 1.0 / rate;
        }
        if (t < next_scan) continue;   /* scanning all N on every wake-up would cost more than the I/O */
        next_scan = t + 0.002;
        for (int c = 0; c < opened; c++) {   /* send what is due; a lost echo counts as a failure */
            struct conn *k = &conns[c];
            if (k->state == WAITING && t - k->sent_at > 10) { k->state = DEAD; failures++; close(k->fd); continue; }
            if (k->state != READY || t < k->next_at) continue;
            k->seq++;
            make_msg(k, (uint32_t)c);
            k->got = 0;
            k->sent_at = t;
            if (send(k->fd, k->out, MSG, MSG_NOSIGNAL) != MSG) { k->state = DEAD; failures++; close(k->fd); continue; }
            k->state = WAITING;
        }
    }
    struct mem end = mem_of(proxy_pid);
    double elapsed = now() - run_start;
    int alive = 0;
    for (int c = 0; c < opened; c++) if (conns[c].state == READY || conns[c].state == WAITING) alive++;
    int proxy_status = 0, proxy_died = waitpid(proxy_pid, &proxy_status, WNOHANG) == proxy_pid;
    qsort(rtt, nsamples, sizeof *rtt, cmp);
    double p50 = nsamples ? rtt[nsamples / 2] : 0, p99 = nsamples ? rtt[(size_t)(nsamples * 0.99)] : 0;
    double p999 = nsamples ? rtt[(size_t)(nsamples * 0.999)] : 0, max = nsamples ? rtt[nsamples - 1] : 0;
    printf("stress: %d of %d connections established over %d source and %d destination addresses; %d still open\n",
           established, n, naddrs, naddrs, alive);
    printf("stress: %d failures (%ld wrong echoes)%s\n", failures, mismatches, proxy_died ? "; THE PROXY DIED" : "");
    printf("stress: %ld round trips in %.1f s = %.0f/s (%.1f per connection per second); latency p50 %.3f ms, p99 %.3f ms, "
           "p99.9 %.3f ms, max %.3f ms\n",
           trips, elapsed, trips / elapsed, trips / elapsed / (established ? established : 1), p50, p99, p999, max);
    printf("stress: proxy before any pair: RSS %ld KB, private %ld KB\n", before.rss_kb, before.private_kb);
    if (up.rss_kb >= 0) print_mem("with every pair up (each proven by a round trip)", before, up, up_pairs);
    else printf("stress: proxy memory with every pair up: not measured (not every pair completed a round trip)\n");
    print_mem("at the end of the run", before, end, alive);
    for (int c = 0; c < opened; c++) if (conns[c].state != DEAD) close(conns[c].fd);
    kill(-proxy_pid, SIGTERM);
    for (int w = 0; w < 500 && waitpid(proxy_pid, &proxy_status, WNOHANG) == 0; w++) {
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    kill(-proxy_pid, SIGKILL);
    waitpid(proxy_pid, &proxy_status, 0);
    kill(dest_pid, SIGKILL);
    waitpid(dest_pid, NULL, 0);   /* reaped here, not left to init */
    proxy_pid = dest_pid = 0;
    return established == n && failures == 0 && !proxy_died && trips > 0 ? 0 : 1;
}
