/* soak: one proxy process through rounds of connection churn, for minutes (make soak).
 * Each round: CHURN short connections (a message and its echo, then close), PINGPONG
 * connections doing round trips, BULK echo transfers with every byte checked both ways, and
 * IDLE pairs opened at once, held, and dropped (half with FIN, half with RST). After each
 * round, once the proxy's descriptors are back (bounded wait), it samples RSS, open fds and,
 * when the proxy serves metrics, active pairs.
 * Pass: no failed connection, descriptors back to the start value after every round, and RSS
 * after the last round within 10 % (+2 MiB) of RSS after the first.
 * Runs inside the namespace soak.sh made; the destination is echo_server.c in a child.
 *
 * usage: soak --proxy A:P --server A:P --pid PROXY_PID --seconds S --out DIR [--metrics A:P]
 *             [--churn N] [--pingpong N] [--bulk N] [--bulk-mib M] [--idle N]
 * Writes DIR/samples.tsv; prints the table and one line per check. */
#include "echo_server.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_ROUNDS = 4096, LANES = 16, PINGPONG_TRIPS = 50, MSG = 64 };

static struct {
    struct sockaddr_in proxy, server, metrics;
    pid_t pid;
    double seconds;
    const char *out;
    int has_metrics, churn, pingpong, bulk, bulk_mib, idle;
} opt = { .churn = 2000, .pingpong = 100, .bulk = 20, .bulk_mib = 2, .idle = 3000 };

struct sample {
    double t;
    long rss_kb, peak_rss_kb;
    int fds, peak_fds;
    double active, peak_active;
    long failures;
};

static volatile long failures, connections;
static char first_failure[256];

static void failed(const char *fmt, const char *detail, long id)
{
    long n = __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
    if (n == 0)
        snprintf(first_failure, sizeof first_failure, fmt, detail, id);
}

/* Client sources spread over 127.0.0.x so that no address pair runs out of ports. */
static struct sockaddr_in source_for(long i)
{
    struct sockaddr_in from = { .sin_family = AF_INET };
    from.sin_addr.s_addr = htonl(0x7F000001u + (uint32_t)(i % 200));
    return from;
}

static int exchange(int fd, long id, int bytes, double deadline)
{
    uint8_t out[MSG], in[MSG];
    pattern_fill((uint64_t)id, 0, out, (size_t)bytes);
    if (send_all(fd, out, (size_t)bytes, deadline) < 0)
        return 0;
    long got = recv_some(fd, in, (size_t)bytes, deadline);
    return got == bytes && memcmp(in, out, (size_t)bytes) == 0;
}

static void *churn_lane(void *arg)
{
    long lane = (long)arg;
    for (long i = lane; i < opt.churn; i += LANES) {
        struct sockaddr_in from = source_for(i);
        int fd = connect_in(-1, &opt.proxy, &from, 10);
        __atomic_add_fetch(&connections, 1, __ATOMIC_RELAXED);
        if (fd < 0) {
            failed("churn: connect: %s (#%ld)", strerror(-fd), i);
            continue;
        }
        if (!exchange(fd, i, 32, now_sec() + 10))
            failed("churn: %s echo (#%ld)", "no or wrong", i);
        close(fd);
    }
    return NULL;
}

static void *pingpong_conn(void *arg)
{
    long i = (long)arg;
    struct sockaddr_in from = source_for(i + 7);
    int fd = connect_in(-1, &opt.proxy, &from, 10);
    __atomic_add_fetch(&connections, 1, __ATOMIC_RELAXED);
    if (fd < 0) {
        failed("ping-pong: connect: %s (#%ld)", strerror(-fd), i);
        return NULL;
    }
    for (int k = 0; k < PINGPONG_TRIPS; k++) {
        if (!exchange(fd, i * 1000 + k, MSG, now_sec() + 10)) {
            failed("ping-pong: %s echo (#%ld)", "no or wrong", i);
            break;
        }
    }
    close(fd);
    return NULL;
}

static void *bulk_conn(void *arg)
{
    long i = (long)arg;
    struct sockaddr_in from = source_for(i + 13);
    int fd = connect_in(-1, &opt.proxy, &from, 10);
    __atomic_add_fetch(&connections, 1, __ATOMIC_RELAXED);
    if (fd < 0) {
        failed("bulk: connect: %s (#%ld)", strerror(-fd), i);
        return NULL;
    }
    struct flow f;
    flow_init(&f);
    f.send_seed = f.recv_seed = 5000 + (uint64_t)i;  /* the echo comes back as it went */
    f.send_total = f.recv_total = (int64_t)opt.bulk_mib << 20;
    f.shut_after_send = 1;
    if (!flow_run(fd, &f, now_sec() + 60))
        failed("bulk: %s (#%ld)", f.mismatch_at >= 0 ? "wrong byte" : f.error ? strerror(f.error) : "short", i);
    close(fd);
    return NULL;
}

struct idle_lane { long lane; int *fds; };

static void *idle_lane_open(void *arg)
{
    struct idle_lane *l = arg;
    for (long i = l->lane; i < opt.idle; i += LANES) {
        struct sockaddr_in from = source_for(i + 17);
        int fd = connect_in(-1, &opt.proxy, &from, 10);
        __atomic_add_fetch(&connections, 1, __ATOMIC_RELAXED);
        l->fds[i] = fd;
        if (fd < 0)
            failed("idle: connect: %s (#%ld)", strerror(-fd), i);
        else if (!exchange(fd, i, 1, now_sec() + 10)) /* the pair is up end to end */
            failed("idle: %s echo (#%ld)", "no or wrong", i);
    }
    return NULL;
}

static void run_threads(void *(*body)(void *), long count, void **args)
{
    pthread_t *t = xcalloc((size_t)count, sizeof *t);
    for (long i = 0; i < count; i++)
        if (pthread_create(&t[i], NULL, body, args ? args[i] : (void *)i) != 0)
            die("pthread_create");
    for (long i = 0; i < count; i++)
        pthread_join(t[i], NULL);
    free(t);
}

static double active_pairs(void)
{
    return opt.has_metrics ? metrics_value(&opt.metrics, "tcpproxy_connections_active") : -1;
}

/* Waits (bounded) until the metrics show no active pair; returns the last value. A scrape's body
 * is rendered at most once a second, so the one right after the round may still show its peak. */
static double settle_active(double limit)
{
    double end = now_sec() + limit;
    double n;
    while ((n = active_pairs()) > 0 && now_sec() < end)
        sleep_sec(0.05);
    return n;
}

/* Waits (bounded) until the proxy holds at most `want` descriptors; returns the last count. */
static int settle_fds(int want, double limit)
{
    double end = now_sec() + limit;
    int n;
    while ((n = proc_fd_count(opt.pid)) > want && now_sec() < end)
        sleep_sec(0.05);
    return n;
}

static void run_round(struct sample *s, int base_fds, double t0)
{
    run_threads(churn_lane, LANES, NULL);
    run_threads(pingpong_conn, opt.pingpong, NULL);
    run_threads(bulk_conn, opt.bulk, NULL);

    int *fds = xcalloc((size_t)opt.idle, sizeof *fds);
    struct idle_lane lanes[LANES];
    void *args[LANES];
    for (int i = 0; i < LANES; i++) {
        lanes[i] = (struct idle_lane){ i, fds };
        args[i] = &lanes[i];
    }
    run_threads(idle_lane_open, LANES, args);
    s->peak_fds = proc_fd_count(opt.pid);
    s->peak_rss_kb = proc_rss_kb(opt.pid);
    s->peak_active = active_pairs();
    for (int i = 0; i < opt.idle; i++) {
        if (fds[i] < 0)
            continue;
        if (i % 2)
            reset_close(fds[i]);
        else
            close(fds[i]);
    }
    free(fds);

    s->fds = settle_fds(base_fds, 20);
    s->rss_kb = proc_rss_kb(opt.pid);
    s->active = settle_active(5);
    s->t = now_sec() - t0;
    s->failures = failures;
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--proxy") && parse_addr(v, &opt.proxy) == 0) continue;
        else if (!strcmp(k, "--server") && parse_addr(v, &opt.server) == 0) continue;
        else if (!strcmp(k, "--metrics") && parse_addr(v, &opt.metrics) == 0) opt.has_metrics = 1;
        else if (!strcmp(k, "--pid")) opt.pid = atoi(v);
        else if (!strcmp(k, "--seconds")) opt.seconds = atof(v);
        else if (!strcmp(k, "--out")) opt.out = v;
        else if (!strcmp(k, "--churn")) opt.churn = atoi(v);
        else if (!strcmp(k, "--pingpong")) opt.pingpong = atoi(v);
        else if (!strcmp(k, "--bulk")) opt.bulk = atoi(v);
        else if (!strcmp(k, "--bulk-mib")) opt.bulk_mib = atoi(v);
        else if (!strcmp(k, "--idle")) opt.idle = atoi(v);
        else xfail("unknown or malformed option %s %s", k, v);
    }
    if (!opt.proxy.sin_port || !opt.server.sin_port || opt.pid <= 0 || opt.seconds <= 0 || !opt.out
        || opt.churn < 0 || opt.pingpong < 0 || opt.pingpong > 1000 || opt.bulk < 0 || opt.bulk > 200
        || opt.bulk_mib < 1 || opt.idle < 0 || opt.idle > 9000)
        xfail("usage: soak --proxy A:P --server A:P --pid PROXY_PID --seconds S --out DIR [--metrics A:P] "
              "[--churn N] [--pingpong N] [--bulk N] [--bulk-mib M] [--idle N]");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    parse_args(argc, argv);
    raise_nofile_limit();
    pid_t server = echo_server_start(&opt.server);

    int base_fds = proc_fd_count(opt.pid);
    long base_rss = proc_rss_kb(opt.pid);
    note("proxy pid %d at start: %d descriptors, RSS %ld KiB; rounds of %d churn, %d ping-pong x %d, "
         "%d bulk x %d MiB echoed, %d idle pairs, for %.0f s", (int)opt.pid, base_fds, base_rss, opt.churn,
         opt.pingpong, PINGPONG_TRIPS, opt.bulk, opt.bulk_mib, opt.idle, opt.seconds);

    static struct sample samples[MAX_ROUNDS];
    int rounds = 0, fds_leaked_round = -1, active_left_round = -1;
    double t0 = now_sec();
    printf("round\ttime_s\trss_kib\tfds\tactive\tpeak_rss_kib\tpeak_fds\tpeak_active\tfailures\n");
    while (rounds < MAX_ROUNDS && (rounds < 2 || now_sec() - t0 < opt.seconds)) {
        struct sample *s = &samples[rounds];
        run_round(s, base_fds, t0);
        printf("%d\t%.1f\t%ld\t%d\t%.0f\t%ld\t%d\t%.0f\t%ld\n", rounds + 1, s->t, s->rss_kb, s->fds, s->active,
               s->peak_rss_kb, s->peak_fds, s->peak_active, s->failures);
        if (s->fds > base_fds && fds_leaked_round < 0)
            fds_leaked_round = rounds + 1;
        if (opt.has_metrics && s->active != 0 && active_left_round < 0)
            active_left_round = rounds + 1;
        rounds++;
        if (proc_rss_kb(opt.pid) < 0)
            break; /* the proxy died: the checks below say so */
    }
    echo_server_stop(server);

    char path[512];
    snprintf(path, sizeof path, "%s/samples.tsv", opt.out);
    FILE *fp = fopen(path, "w");
    if (!fp)
        die(path);
    fprintf(fp, "# round\ttime_s\trss_kib\tfds\tactive\tpeak_rss_kib\tpeak_fds\tpeak_active\tfailures\n");
    fprintf(fp, "0\t0\t%ld\t%d\t0\t%ld\t%d\t0\t0\n", base_rss, base_fds, base_rss, base_fds);
    for (int i = 0; i < rounds; i++)
        fprintf(fp, "%d\t%.1f\t%ld\t%d\t%.0f\t%ld\t%d\t%.0f\t%ld\n", i + 1, samples[i].t, samples[i].rss_kb, samples[i].fds,
                samples[i].active, samples[i].peak_rss_kb, samples[i].peak_fds, samples[i].peak_active, samples[i].failures);
    fclose(fp);

    struct sample *first = &samples[0], *last = &samples[rounds - 1];
    int alive = last->rss_kb > 0;
    check(alive, "the proxy lived through every round", "it is gone after round %d", rounds);
    check(failures == 0, "no failed connection", "%ld of %ld failed; first: %s", failures, connections, first_failure);
    check(fds_leaked_round < 0, "descriptors back to the start value after every round",
          "round %d ended with %d descriptors, %d at start", fds_leaked_round,
          fds_leaked_round > 0 ? samples[fds_leaked_round - 1].fds : 0, base_fds);
    long bound = first->rss_kb + first->rss_kb / 10 + 2048;
    check(alive && last->rss_kb <= bound, "RSS after the last round within 10 % (+2 MiB) of the first",
          "%ld KiB after round 1, %ld KiB after round %d (bound %ld KiB)", first->rss_kb, last->rss_kb, rounds, bound);
    if (opt.has_metrics)
        check(active_left_round < 0, "metrics: no active pair after any round",
              "tcpproxy_connections_active %.0f after round %d", samples[active_left_round > 0 ? active_left_round - 1 : 0].active,
              active_left_round);
    note("%d rounds, %ld connections in %.0f s; RSS %ld KiB at start, %ld after round 1, %ld after round %d "
         "(peak %ld with %d idle pairs); fds %d at start, %d at the end", rounds, connections, now_sec() - t0, base_rss,
         first->rss_kb, last->rss_kb, rounds, last->peak_rss_kb, opt.idle, base_fds, last->fds);
    printf("soak-figures rounds=%d connections=%ld rss_start=%ld rss_first=%ld rss_last=%ld rss_peak=%ld fds_start=%d fds_last=%d\n",
           rounds, connections, base_rss, first->rss_kb, last->rss_kb, last->peak_rss_kb, base_fds, last->fds);
    return checks_failed() ? 1 : 0;
}
