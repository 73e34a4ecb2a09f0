/* faults: the workloads of `make faults`, run across the namespaces faults.sh built
 * (client -- proxy -- server, plus a second server namespace whose link is taken down).
 * Every byte is a pattern both ends can check. One process plays both the clients (sockets
 * made in the client namespace) and the servers (listeners made in the server namespaces):
 * a connection starts with a `struct hello` telling the server what to do.
 *
 * Workloads, all at once: bulk transfers both ways, a half-close exchange, many short
 * connections, a client that resets mid-transfer, and a server whose link goes down
 * mid-transfer: that pair must be aborted by the stall rule, and nothing else disturbed.
 *
 * usage: faults --client-ns PATH --server-ns PATH --gone-ns PATH --proxy A:P --server A:P
 *               --gone A:P --stall SECONDS --vanish CMD
 *               [--bulk N] [--bulk-mib M] [--short N]
 * Prints one "NAME: passed" / "NAME: FAILED (why)" line per check; exit 1 if any failed. */
#include "rel.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum kind { VANISH = 1, BULK, HALF, SHORT, RESET };
enum { MAX_IDS = 2048, SHORT_FIRST_ID = 100, SHORT_THREADS = 4 };

static struct {
    int client_ns, server_ns, gone_ns;
    struct sockaddr_in proxy, server, gone;
    double stall;
    const char *vanish_cmd;
    int bulk, bulk_mib, shorts;
} opt = { .bulk = 4, .bulk_mib = 8, .shorts = 300 };

/* What the server side of each connection saw, by the id in its hello. */
struct served {
    int accepted, done, ok, kind;
    struct flow f;
    double ended_at;
};
static struct served served[MAX_IDS];
static pthread_mutex_t served_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t served_cond = PTHREAD_COND_INITIALIZER;
static volatile int stop_vanish;
static volatile int64_t verified_bytes;

static uint64_t up_seed(int id) { return 1000u + 2u * (unsigned)id; }
static uint64_t down_seed(int id) { return 1001u + 2u * (unsigned)id; }

static void add_verified(int64_t n) { __atomic_add_fetch(&verified_bytes, n, __ATOMIC_RELAXED); }

/* Waits until the server side of `id` reached the state (accepted or done); 1 if it did in time. */
static int wait_served(int id, int want_done, double deadline)
{
    pthread_mutex_lock(&served_lock);
    while (!(want_done ? served[id].done : served[id].accepted) && now_sec() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&served_cond, &served_lock, &ts);
    }
    int reached = want_done ? served[id].done : served[id].accepted;
    pthread_mutex_unlock(&served_lock);
    return reached;
}

static void *serve_connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct hello h;
    long got = recv_some(fd, &h, sizeof h, now_sec() + 30);
    if (got != (long)sizeof h || h.magic != REL_MAGIC || h.id >= MAX_IDS) {
        fprintf(stderr, "faults: server got a bad hello (%ld bytes)\n", got);
        close(fd);
        return NULL;
    }
    int id = (int)h.id;
    struct flow f;
    flow_init(&f);
    f.send_seed = down_seed(id);
    f.recv_seed = up_seed(id);
    f.send_total = h.down_bytes;
    f.recv_total = h.up_bytes;
    f.shut_after_send = 1;
    double deadline = now_sec() + 150;
    switch (h.kind) {
    case BULK:
        break;
    case HALF: /* answers only after the client's EOF came through */
        f.send_after_recv = 1;
        f.recv_total = -1;
        break;
    case SHORT: /* reads the request, answers, closes first */
        f.send_after_recv = 1;
        f.wait_eof = 0;
        break;
    case RESET:
    case VANISH:
        f.send_total = INT64_MAX;
        f.recv_total = -1;
        f.shut_after_send = 0;
        f.stop = &stop_vanish;
        deadline = now_sec() + (h.kind == RESET ? 60 : 150);
        break;
    default:
        close(fd);
        return NULL;
    }
    pthread_mutex_lock(&served_lock);
    served[id].accepted = 1;
    served[id].kind = (int)h.kind;
    pthread_cond_broadcast(&served_cond);
    pthread_mutex_unlock(&served_lock);

    int ok = flow_run(fd, &f, deadline);
    double ended = now_sec();
    if (ok || h.kind == RESET)
        add_verified(f.mismatch_at < 0 ? f.received : 0);
    close(fd);
    pthread_mutex_lock(&served_lock);
    served[id].f = f;
    served[id].ok = ok;
    served[id].ended_at = ended;
    served[id].done = 1;
    pthread_cond_broadcast(&served_cond);
    pthread_mutex_unlock(&served_lock);
    return NULL;
}

static void *accept_loop(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL; /* the listener was shut down at the end */
        }
        set_nodelay(fd);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, serve_connection, (void *)(intptr_t)fd) != 0)
            die("pthread_create");
        pthread_attr_destroy(&attr);
    }
}

/* A client connection through the proxy that has sent its hello; -errno on failure. */
static int open_client(int id, enum kind kind, int64_t up, int64_t down)
{
    int fd = connect_in(opt.client_ns, &opt.proxy, NULL, 20);
    if (fd < 0)
        return fd;
    struct hello h = { REL_MAGIC, (uint32_t)kind, (uint32_t)id, 0, up, down };
    int rc = send_all(fd, &h, sizeof h, now_sec() + 20);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

static void describe_flow(char *out, size_t size, const struct flow *f)
{
    snprintf(out, size, "sent %lld, received %lld%s, error %s, mismatch at %lld",
             (long long)f->sent, (long long)f->received, f->eof ? " + EOF" : "",
             f->error ? strerror(f->error) : "none", (long long)f->mismatch_at);
}

/* ---- bulk: both ways at once, then half-closes, every byte checked at both ends ---- */
static void *bulk_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    int64_t size = (int64_t)opt.bulk_mib << 20;
    char name[64], mine[160], theirs[160] = "server never saw it";
    snprintf(name, sizeof name, "bulk %d MiB each way, pair %d", opt.bulk_mib, id);
    int fd = open_client(id, BULK, size, size);
    if (fd < 0) {
        check(0, name, "connect: %s", strerror(-fd));
        return NULL;
    }
    struct flow f;
    flow_init(&f);
    f.send_seed = up_seed(id);
    f.send_total = size;
    f.shut_after_send = 1;
    f.recv_seed = down_seed(id);
    f.recv_total = size;
    int ok = flow_run(fd, &f, now_sec() + 150);
    close(fd);
    if (ok)
        add_verified(f.received);
    int server_ok = wait_served(id, 1, now_sec() + 30) && served[id].ok;
    describe_flow(mine, sizeof mine, &f);
    if (served[id].done)
        describe_flow(theirs, sizeof theirs, &served[id].f);
    check(ok && server_ok, name, "client: %s; server: %s", mine, theirs);
    return NULL;
}

/* ---- half-close: the client sends and shuts down; the server answers only after that EOF ---- */
static void *half_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    const int64_t up = 1 << 20, down = 1 << 20;
    char mine[160], theirs[160] = "server never saw it";
    const char *name = "half-close: client EOF passed on after its data, answer flows back";
    int fd = open_client(id, HALF, up, down);
    if (fd < 0) {
        check(0, name, "connect: %s", strerror(-fd));
        return NULL;
    }
    struct flow f;
    flow_init(&f);
    f.send_seed = up_seed(id);
    f.send_total = up;
    f.shut_after_send = 1;
    f.recv_seed = down_seed(id);
    f.recv_total = down;
    int ok = flow_run(fd, &f, now_sec() + 120);
    close(fd);
    if (ok)
        add_verified(f.received);
    int server_ok = wait_served(id, 1, now_sec() + 30) && served[id].ok && served[id].f.received == up;
    describe_flow(mine, sizeof mine, &f);
    if (served[id].done)
        describe_flow(theirs, sizeof theirs, &served[id].f);
    check(ok && server_ok, name, "client: %s; server: %s", mine, theirs);
    return NULL;
}

/* ---- short connections: request, answer, server closes first ---- */
static volatile int short_failures;
static char short_first_failure[256];

static void *short_clients(void *arg)
{
    int lane = (int)(intptr_t)arg;
    for (int i = lane; i < opt.shorts; i += SHORT_THREADS) {
        int id = SHORT_FIRST_ID + i;
        int64_t up = 1 + (i * 7919) % 4000, down = 1 + (i * 104729) % 30000;
        char why[200] = "";
        int fd = open_client(id, SHORT, up, down);
        if (fd < 0) {
            snprintf(why, sizeof why, "connection %d: connect: %s", id, strerror(-fd));
        } else {
            struct flow f;
            flow_init(&f);
            f.send_seed = up_seed(id);
            f.send_total = up;
            f.recv_seed = down_seed(id);
            f.recv_total = down;
            int ok = flow_run(fd, &f, now_sec() + 60);
            close(fd);
            if (ok) {
                add_verified(f.received);
                if (!wait_served(id, 1, now_sec() + 30) || !served[id].ok)
                    snprintf(why, sizeof why, "connection %d: the server side did not complete", id);
            } else {
                char d[160];
                describe_flow(d, sizeof d, &f);
                snprintf(why, sizeof why, "connection %d: %s", id, d);
            }
        }
        if (why[0]) {
            if (__atomic_fetch_add(&short_failures, 1, __ATOMIC_RELAXED) == 0)
                snprintf(short_first_failure, sizeof short_first_failure, "%s", why);
        }
    }
    return NULL;
}

/* ---- a client that resets mid-transfer: the server side must see the pair end promptly ---- */
static void *reset_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    const char *name = "client reset mid-transfer: the server side sees the pair end within 10 s";
    int fd = open_client(id, RESET, INT64_MAX, INT64_MAX);
    if (fd < 0) {
        check(0, name, "connect: %s", strerror(-fd));
        return NULL;
    }
    struct flow f;
    flow_init(&f);
    f.send_seed = up_seed(id);
    f.send_total = 256 * 1024;
    f.recv_seed = down_seed(id);
    f.recv_total = 2 << 20;
    f.wait_eof = 0;
    int ok = flow_run(fd, &f, now_sec() + 60);
    if (ok)
        add_verified(f.received);
    reset_close(fd);
    double reset_at = now_sec();
    int ended = wait_served(id, 1, reset_at + 10);
    char mine[160];
    describe_flow(mine, sizeof mine, &f);
    check(ok && ended && served[id].f.mismatch_at < 0, name, "client before its reset: %s; server side %s",
          mine, ended ? "ended" : "still open after 10 s");
    if (ended)
        note("server side saw %s %.2f s after the client's reset", served[id].f.error ? strerror(served[id].f.error) : "EOF",
             served[id].ended_at - reset_at);
    return NULL;
}

/* ---- the vanishing server: link down mid-transfer, the stall rule must abort the pair ---- */
struct vanish_state {
    int fd;
    struct flow f;
    double ended_at;
};

static void *vanish_client(void *arg)
{
    struct vanish_state *v = arg;
    flow_run(v->fd, &v->f, now_sec() + 150);
    v->ended_at = now_sec();
    return NULL;
}

static int run_command(const char *what, const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "faults: %s (`%s`) failed with status %d\n", what, cmd, rc);
    return rc == 0;
}

static void parse_args(int argc, char **argv)
{
    const char *client_ns = NULL, *server_ns = NULL, *gone_ns = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--client-ns")) client_ns = v;
        else if (!strcmp(k, "--server-ns")) server_ns = v;
        else if (!strcmp(k, "--gone-ns")) gone_ns = v;
        else if (!strcmp(k, "--proxy") && parse_addr(v, &opt.proxy) == 0) continue;
        else if (!strcmp(k, "--server") && parse_addr(v, &opt.server) == 0) continue;
        else if (!strcmp(k, "--gone") && parse_addr(v, &opt.gone) == 0) continue;
        else if (!strcmp(k, "--stall")) opt.stall = atof(v);
        else if (!strcmp(k, "--vanish")) opt.vanish_cmd = v;
        else if (!strcmp(k, "--bulk")) opt.bulk = atoi(v);
        else if (!strcmp(k, "--bulk-mib")) opt.bulk_mib = atoi(v);
        else if (!strcmp(k, "--short")) opt.shorts = atoi(v);
        else xfail("unknown or malformed option %s %s", k, v);
    }
    if (!client_ns || !server_ns || !gone_ns || !opt.proxy.sin_port || !opt.server.sin_port || !opt.gone.sin_port
        || opt.stall <= 0 || !opt.vanish_cmd || opt.bulk < 0 || opt.bulk > 64
        || opt.bulk_mib < 1 || opt.shorts < 0 || opt.shorts > MAX_IDS - SHORT_FIRST_ID)
        xfail("usage: faults --client-ns P --server-ns P --gone-ns P --proxy A:P --server A:P --gone A:P "
              "--stall S --vanish CMD [--bulk N] [--bulk-mib M] [--short N]");
    if ((opt.client_ns = netns_open(client_ns)) < 0 || (opt.server_ns = netns_open(server_ns)) < 0
        || (opt.gone_ns = netns_open(gone_ns)) < 0)
        die("open a namespace");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    parse_args(argc, argv);
    raise_nofile_limit();
    double start = now_sec();

    int server_listener = listen_in(opt.server_ns, &opt.server, 1024);
    int gone_listener = listen_in(opt.gone_ns, &opt.gone, 16);
    pthread_t acceptors[2];
    pthread_create(&acceptors[0], NULL, accept_loop, (void *)(intptr_t)server_listener);
    pthread_create(&acceptors[1], NULL, accept_loop, (void *)(intptr_t)gone_listener);

    /* The vanishing pair first: the proxy's first connection is diverted to the namespace
     * that will lose its link (faults.sh's DNAT rule); every later one reaches the server. */
    struct vanish_state v = { .fd = -1 };
    flow_init(&v.f);
    v.f.send_seed = up_seed(0);
    v.f.send_total = INT64_MAX;
    v.f.recv_seed = down_seed(0);
    v.fd = open_client(0, VANISH, INT64_MAX, INT64_MAX);
    int diverted = v.fd >= 0 && wait_served(0, 0, now_sec() + 20);
    if (!check(diverted, "set-up: one pair reaches the server that will vanish",
               "%s", v.fd < 0 ? strerror(-v.fd) : "the vanishing server saw no connection"))
        return 1;
    pthread_t vanish_thread;
    pthread_create(&vanish_thread, NULL, vanish_client, &v);

    int nthreads = 0;
    pthread_t threads[64 + 8];
    for (int i = 0; i < opt.bulk; i++)
        pthread_create(&threads[nthreads++], NULL, bulk_client, (void *)(intptr_t)(1 + i));
    pthread_create(&threads[nthreads++], NULL, half_client, (void *)(intptr_t)(opt.bulk + 1));
    pthread_create(&threads[nthreads++], NULL, reset_client, (void *)(intptr_t)(opt.bulk + 2));
    for (int i = 0; i < SHORT_THREADS; i++)
        pthread_create(&threads[nthreads++], NULL, short_clients, (void *)(intptr_t)i);

    /* Link down once the vanishing pair moves data both ways and the others are under way. */
    double t = now_sec();
    while (now_sec() < t + 30 && (v.f.sent < (1 << 20) || v.f.received < (1 << 20) || now_sec() < t + 1.5) && !v.f.error)
        sleep_sec(0.05);
    int moving = v.f.sent >= (1 << 20) && v.f.received >= (1 << 20);
    note("vanishing pair moved %lld B up and %lld B down before its link went down", (long long)v.f.sent, (long long)v.f.received);
    double down_at = now_sec();
    int vanished = run_command("taking the server's link down", opt.vanish_cmd);

    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    check(short_failures == 0, "short connections, request then answer then close",
          "%d of %d failed; first: %s", short_failures, opt.shorts, short_first_failure);
    if (opt.shorts > 0)
        note("%d short connections", opt.shorts);

    pthread_join(vanish_thread, NULL);
    double abort_after = v.ended_at - down_at;
    int reset_seen = v.f.error == ECONNRESET || v.f.error == EPIPE;
    check(moving && vanished && reset_seen && abort_after >= opt.stall - 0.25 && abort_after <= opt.stall + 8,
          "server link down mid-transfer: the stall rule aborts the pair",
          "moving before: %s, link down: %s, client saw %s %.2f s after the link went down (stall timeout %.1f s; "
          "expected between %.2f and %.1f s)", moving ? "yes" : "no", vanished ? "yes" : "no",
          v.f.error ? strerror(v.f.error) : "no error", abort_after, opt.stall, opt.stall - 0.25, opt.stall + 8);
    note("vanished pair aborted %.2f s after its link went down (stall timeout %.1f s); client wrote %lld B in all",
         abort_after, opt.stall, (long long)v.f.sent);
    if (v.f.mismatch_at < 0)
        add_verified(v.f.received);
    close(v.fd);
    stop_vanish = 1;

    note("bytes verified end to end: %lld (%.1f MiB) in %.1f s", (long long)verified_bytes,
         (double)verified_bytes / (1 << 20), now_sec() - start);
    printf("bytes-verified %lld\n", (long long)verified_bytes);
    shutdown(server_listener, SHUT_RDWR);
    shutdown(gone_listener, SHUT_RDWR);
    return checks_failed() ? 1 : 0;
}
