/* hostile: clients that misbehave on purpose, while one well-behaved client measures round
 * trips through the same proxy (make hostile). In order:
 *   quiet       the well-behaved client alone (baseline);
 *   slowloris   SLOWLORIS clients connect and send one byte a minute, and stay;
 *   never-read  NEVER clients ask the server to flood them and never read: the proxy's ring
 *               fills, and the stall rule must reset each of them;
 *   syn-flood   for FLOOD_SECONDS, connects that are reset at once (some before the handshake
 *               completes, some right after);
 *   cleanup     the idle timeout (when the proxy has one) or the test closes the slowloris
 *               clients; the proxy's descriptors must come back.
 * Checks: every well-behaved round trip is answered (within 3 s, a liveness bound, not a
 * speed one; p50/p99 reported per phase), memory per hostile pair stays within the two rings
 * plus a page or two, never-readers are reset after the stall timeout, and nothing leaks.
 *
 * usage: hostile --proxy A:P --server A:P --pid PROXY_PID --stall S --buffer B
 *                [--idle-timeout S] [--slowloris N] [--never N] [--flood-seconds S]
 * Runs inside the namespace hostile.sh made; the destination is echo_server.c in a child. */
#include "echo_server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { LANES = 16, FLOOD_LANES = 4, MAX_RTT = 200000, PHASES = 5 };
static const char *phase_names[PHASES] = { "quiet", "slowloris", "never-read", "syn-flood", "cleanup" };

static struct {
    struct sockaddr_in proxy, server;
    pid_t pid;
    double stall, idle_timeout, flood_seconds;
    int buffer, slowloris, never;
} opt = { .slowloris = 3000, .never = 200, .flood_seconds = 10 };

static volatile int phase, stop_probe, stop_slowloris;
static double rtts[PHASES][MAX_RTT];
static int rtt_count[PHASES];
static double worst_rtt;
static volatile int probe_failures;
static char probe_failure[200];

static struct sockaddr_in source_for(long i)
{
    struct sockaddr_in from = { .sin_family = AF_INET };
    from.sin_addr.s_addr = htonl(0x7F000001u + (uint32_t)(i % 200));
    return from;
}

/* The well-behaved client: a 64-byte round trip every 5 ms, on one connection, all along. */
static void *probe(void *arg)
{
    (void)arg;
    int fd = connect_in(-1, &opt.proxy, NULL, 5);
    if (fd < 0) {
        probe_failures++;
        snprintf(probe_failure, sizeof probe_failure, "connect: %s", strerror(-fd));
        return NULL;
    }
    uint8_t out[64], in[64];
    for (uint64_t k = 0; !stop_probe; k++) {
        pattern_fill(k, 0, out, sizeof out);
        out[0] = 'P'; /* never the flood request */
        double t = now_sec();
        long got = -1;
        if (send_all(fd, out, sizeof out, t + 3) == 0)
            got = recv_some(fd, in, sizeof in, t + 3);
        double rtt = now_sec() - t;
        if (got != (long)sizeof in || memcmp(in, out, sizeof in) != 0) {
            probe_failures++;
            snprintf(probe_failure, sizeof probe_failure, "round trip %llu in phase %s: %s after %.2f s",
                     (unsigned long long)k, phase_names[phase], got < 0 ? strerror((int)-got) : "short or wrong echo", rtt);
            break;
        }
        int p = phase;
        if (rtt_count[p] < MAX_RTT)
            rtts[p][rtt_count[p]++] = rtt;
        if (rtt > worst_rtt)
            worst_rtt = rtt;
        sleep_sec(0.005);
    }
    close(fd);
    return NULL;
}

/* ---- slowloris: connect, one byte, then one a minute ---- */
static int *slow_fds;
static double *slow_next;
static volatile int slow_failures;

static void *slowloris_open(void *arg)
{
    long lane = (long)arg;
    for (long i = lane; i < opt.slowloris; i += LANES) {
        struct sockaddr_in from = source_for(i);
        int fd = connect_in(-1, &opt.proxy, &from, 10);
        slow_fds[i] = fd;
        if (fd < 0 || send_all(fd, "s", 1, now_sec() + 5) != 0) {
            slow_failures++;
            continue;
        }
        slow_next[i] = now_sec() + 60;
    }
    return NULL;
}

static void *slowloris_drip(void *arg)
{
    (void)arg;
    uint8_t scratch[256];
    while (!stop_slowloris) {
        double t = now_sec();
        for (int i = 0; i < opt.slowloris; i++) {
            if (slow_fds[i] < 0)
                continue;
            while (recv(slow_fds[i], scratch, sizeof scratch, MSG_DONTWAIT) > 0) {
            } /* the echoes */
            if (t >= slow_next[i]) {
                send(slow_fds[i], "s", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
                slow_next[i] = t + 60;
            }
        }
        sleep_sec(0.2);
    }
    return NULL;
}

static void run_lanes(void *(*body)(void *), int lanes)
{
    pthread_t t[LANES];
    for (long i = 0; i < lanes; i++)
        pthread_create(&t[i], NULL, body, (void *)i);
    for (int i = 0; i < lanes; i++)
        pthread_join(t[i], NULL);
}

/* ---- never-readers ---- */
static int never_readers(long base_rss_kb, long *stuck_rss_kb)
{
    int *fds = xcalloc((size_t)opt.never, sizeof *fds);
    double *reset_after = xcalloc((size_t)opt.never, sizeof *reset_after);
    int opened = 0;
    double start = now_sec();
    for (int i = 0; i < opt.never; i++) {
        struct sockaddr_in from = source_for(i + 101);
        fds[i] = connect_in(-1, &opt.proxy, &from, 10);
        if (fds[i] >= 0 && send_all(fds[i], ECHO_SERVER_FLOOD, sizeof ECHO_SERVER_FLOOD - 1, now_sec() + 5) == 0)
            opened++;
    }
    /* Stuck by now: rings full, nothing moving. The stall clock runs; sample before it fires. */
    sleep_sec(opt.stall * 0.5);
    *stuck_rss_kb = proc_rss_kb(opt.pid);
    long per_pair = opened ? (*stuck_rss_kb - base_rss_kb) * 1024 / opened : 0;

    /* Each must see the proxy's reset (the stall abort closes with SO_LINGER 0). */
    double deadline = start + opt.stall + 8;
    int reset = 0, early = 0;
    while (reset < opened && now_sec() < deadline) {
        for (int i = 0; i < opt.never; i++) {
            if (fds[i] < 0 || reset_after[i] > 0)
                continue;
            struct pollfd p = { fds[i], 0, 0 };
            if (poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP))) {
                reset_after[i] = now_sec() - start;
                reset++;
                if (reset_after[i] < opt.stall - 0.5)
                    early++;
            }
        }
        sleep_sec(0.02);
    }
    double first = 1e9, last = 0;
    for (int i = 0; i < opt.never; i++) {
        if (reset_after[i] > 0 && reset_after[i] < first) first = reset_after[i];
        if (reset_after[i] > last) last = reset_after[i];
        if (fds[i] >= 0) close(fds[i]);
    }
    long bound = 2L * opt.buffer + 8192;
    check(opened == opt.never && per_pair <= bound, "never-readers: the proxy holds at most its two rings per stuck pair",
          "%d of %d opened; %ld B of RSS per stuck pair, bound %ld", opened, opt.never, per_pair, bound);
    check(opened == opt.never && reset == opened && early == 0, "never-readers: each reset by the stall rule",
          "%d of %d reset within %.1f s, %d before %.1f s", reset, opened, opt.stall + 8, early, opt.stall - 0.5);
    note("%d never-reading clients: %ld B of proxy RSS per stuck pair; reset %.2f to %.2f s after they connected (stall timeout %.1f s)",
         opened, per_pair, first < 1e9 ? first : 0, last, opt.stall);
    free(fds);
    free(reset_after);
    return reset;
}

/* ---- SYN flood: connects reset at once ---- */
static volatile long flood_attempts;

static void *flood_lane(void *arg)
{
    long lane = (long)arg;
    double end = now_sec() + opt.flood_seconds;
    for (long k = 0; now_sec() < end; k++) {
        struct sockaddr_in from = source_for(lane * 7 + k);
        int fd = ns_socket(-1, SOCK_STREAM | SOCK_NONBLOCK), one = 1;
        if (fd < 0)
            continue;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        bind(fd, (struct sockaddr *)&from, sizeof from);
        connect(fd, (struct sockaddr *)&opt.proxy, sizeof opt.proxy);
        if (k % 2) { /* the other half: once established */
            struct pollfd p = { fd, POLLOUT, 0 };
            poll(&p, 1, 100);
        }
        reset_close(fd);
        __atomic_add_fetch(&flood_attempts, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void report_phase(int p)
{
    int n = rtt_count[p];
    double p50 = percentile(rtts[p], (size_t)n, 0.50) * 1e3, p99 = percentile(rtts[p], (size_t)n, 0.99) * 1e3;
    double max = n ? rtts[p][n - 1] * 1e3 : 0;
    note("well-behaved client during %-10s %5d round trips: p50 %.3f ms, p99 %.3f ms, max %.3f ms", phase_names[p], n, p50, p99, max);
    printf("hostile-rtt phase=%s n=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", phase_names[p], n, p50, p99, max);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--proxy") && parse_addr(v, &opt.proxy) == 0) continue;
        else if (!strcmp(k, "--server") && parse_addr(v, &opt.server) == 0) continue;
        else if (!strcmp(k, "--pid")) opt.pid = atoi(v);
        else if (!strcmp(k, "--stall")) opt.stall = atof(v);
        else if (!strcmp(k, "--buffer")) opt.buffer = atoi(v);
        else if (!strcmp(k, "--idle-timeout")) opt.idle_timeout = atof(v);
        else if (!strcmp(k, "--slowloris")) opt.slowloris = atoi(v);
        else if (!strcmp(k, "--never")) opt.never = atoi(v);
        else if (!strcmp(k, "--flood-seconds")) opt.flood_seconds = atof(v);
        else xfail("unknown or malformed option %s %s", k, v);
    }
    if (!opt.proxy.sin_port || !opt.server.sin_port || opt.pid <= 0 || opt.stall <= 0 || opt.buffer <= 0
        || opt.slowloris < 1 || opt.slowloris > 9000 || opt.never < 1 || opt.never > 2000 || opt.flood_seconds <= 0)
        xfail("usage: hostile --proxy A:P --server A:P --pid PID --stall S --buffer B [--idle-timeout S] "
              "[--slowloris N] [--never N] [--flood-seconds S]");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    parse_args(argc, argv);
    raise_nofile_limit();
    pid_t server = echo_server_start(&opt.server);
    int base_fds = proc_fd_count(opt.pid);

    pthread_t prober;
    pthread_create(&prober, NULL, probe, NULL);
    sleep_sec(2);
    long rss_quiet = proc_rss_kb(opt.pid);

    phase = 1;
    slow_fds = xcalloc((size_t)opt.slowloris, sizeof *slow_fds);
    slow_next = xcalloc((size_t)opt.slowloris, sizeof *slow_next);
    double t = now_sec();
    run_lanes(slowloris_open, LANES);
    note("%d slowloris clients connected in %.2f s", opt.slowloris - slow_failures, now_sec() - t);
    pthread_t dripper;
    pthread_create(&dripper, NULL, slowloris_drip, NULL);
    sleep_sec(1);
    long rss_slow = proc_rss_kb(opt.pid);
    int slow_open = opt.slowloris - slow_failures;
    long slow_per_pair = slow_open ? (rss_slow - rss_quiet) * 1024 / slow_open : 0;
    long slow_bound = 2L * opt.buffer + 4096;
    check(slow_failures == 0, "slowloris: every client connected and is held", "%d of %d failed to connect", slow_failures, opt.slowloris);
    check(slow_per_pair <= slow_bound, "slowloris: memory per held pair within its two rings",
          "%ld B of RSS per pair (%ld KiB quiet, %ld KiB with %d pairs), bound %ld", slow_per_pair, rss_quiet, rss_slow,
          slow_open, slow_bound);
    note("%d slowloris pairs: proxy RSS %ld KiB -> %ld KiB, %ld B per pair", slow_open, rss_quiet, rss_slow, slow_per_pair);

    phase = 2;
    long rss_stuck = 0;
    never_readers(proc_rss_kb(opt.pid), &rss_stuck);

    phase = 3;
    t = now_sec();
    run_lanes(flood_lane, FLOOD_LANES);
    note("syn-flood: %ld connects reset at once in %.1f s (%.0f/s)", flood_attempts, now_sec() - t,
         (double)flood_attempts / (now_sec() - t));
    int fresh = connect_in(-1, &opt.proxy, NULL, 5), fresh_ok = 0;
    if (fresh >= 0) {
        uint8_t out[16] = "after the flood", in[16];
        fresh_ok = send_all(fresh, out, sizeof out, now_sec() + 5) == 0 && recv_some(fresh, in, sizeof in, now_sec() + 5) == 16
                   && memcmp(in, out, 16) == 0;
        close(fresh);
    }
    check(flood_attempts > 0 && fresh_ok, "syn-flood: a new client is served right after it", "%ld connects; new client %s",
          flood_attempts, fresh < 0 ? strerror(-fresh) : fresh_ok ? "ok" : "got no echo");

    phase = 4;
    if (opt.idle_timeout > 0) {
        /* The slowloris clients sent their byte long enough ago: the idle timeout must close them. */
        double deadline = now_sec() + opt.idle_timeout + 10;
        int closed = 0;
        while (closed < slow_open && now_sec() < deadline) {
            closed = 0;
            for (int i = 0; i < opt.slowloris; i++) {
                if (slow_fds[i] < 0) continue;
                struct pollfd p = { slow_fds[i], POLLIN, 0 };
                if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLIN))) {
                    char c;
                    if (recv(slow_fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK) <= 0)
                        closed++;
                }
            }
            sleep_sec(0.2);
        }
        check(closed == slow_open, "idle timeout: the proxy closes the slowloris pairs", "%d of %d closed by the proxy",
              closed, slow_open);
    }
    stop_slowloris = 1;
    pthread_join(dripper, NULL);
    for (int i = 0; i < opt.slowloris; i++)
        if (slow_fds[i] >= 0)
            close(slow_fds[i]);
    sleep_sec(0.5);
    stop_probe = 1;
    pthread_join(prober, NULL);

    double end = now_sec() + 15;
    int fds;
    while ((fds = proc_fd_count(opt.pid)) > base_fds && now_sec() < end)
        sleep_sec(0.05);
    echo_server_stop(server);

    for (int p = 0; p < PHASES; p++)
        report_phase(p);
    int total = 0;
    for (int p = 0; p < PHASES; p++)
        total += rtt_count[p];
    check(probe_failures == 0 && total > 0, "a well-behaved client is answered all along (each round trip within 3 s)",
          "%s", probe_failure);
    note("worst well-behaved round trip: %.3f ms", worst_rtt * 1e3);
    check(fds >= 0 && fds <= base_fds, "descriptors back to the start once the hostile clients are gone",
          "%d open, %d at start", fds, base_fds);
    check(proc_rss_kb(opt.pid) > 0, "the proxy is still running", "it is gone");
    printf("hostile-figures slowloris=%d slow_per_pair_B=%ld rss_quiet=%ld rss_slow=%ld rss_stuck=%ld flood=%ld worst_rtt_ms=%.3f\n",
           slow_open, slow_per_pair, rss_quiet, rss_slow, rss_stuck, flood_attempts, worst_rtt * 1e3);
    return checks_failed() ? 1 : 0;
}
