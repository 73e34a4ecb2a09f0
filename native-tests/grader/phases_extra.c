/* The --extra phases: beyond the classic course, each still asserting a rule of the contract. */
#include "grader.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int run_captured(char **argv, double timeout_s, char *out, size_t outsz, int *status);

static int refused_then_recovering(struct ctx *c) {
    int fd = connect_proxy(c), rc = 0;
    if (fd < 0) return -1;
    if (write_all(fd, "ping", 4, 5) < 0) {}   /* may already fail: that is allowed */
    if (!expect_eof(fd, 5)) rc = fail(c, "the client was not disconnected within 5 s while the destination refused");
    close(fd);
    if (rc == 0 && !proxy_alive(c)) rc = fail(c, "the proxy died when the destination refused");
    if (rc) return rc;
    if (listen(c->dest_lfd, 128) < 0) return fail(c, "listen: %s", strerror(errno));   /* the destination recovers */
    struct destsrv *d = destsrv_start(c->dest_lfd);
    if (!d) return fail(c, "cannot start the destination server");
    if ((fd = connect_proxy(c)) < 0) rc = -1;
    else { rc = echo_once(c, fd, "pong", 4, 5); close(fd); }
    destsrv_stop(d);
    return rc;
}

/* Opens n connections, one message each, all checked; returns fds (caller closes) or -1. */
static int open_and_echo_many(struct ctx *c, int *fds, int n) {
    for (int i = 0; i < n; i++) fds[i] = -1;
    for (int i = 0; i < n; i++) {
        if ((fds[i] = connect_proxy(c)) < 0) return fail(c, "connection %d of %d: %s", i + 1, n, c->reason);
        char msg[8];
        snprintf(msg, sizeof msg, "%07d", i);
        if (write_all(fds[i], msg, 8, 5) < 0) return fail(c, "write on connection %d failed", i + 1);
    }
    for (int i = 0; i < n; i++) {   /* all are in flight at once; now collect the echoes */
        char msg[8], back[8];
        snprintf(msg, sizeof msg, "%07d", i);
        if (read_exact(fds[i], back, 8, 20) < 0 || memcmp(msg, back, 8) != 0)
            return fail(c, "connection %d of %d: no or wrong echo", i + 1, n);
    }
    return 0;
}

static int thousand_echo(struct ctx *c) {
    struct destsrv *d = destsrv_start(c->dest_lfd);
    if (!d) return fail(c, "cannot start the destination server");
    static int fds[1000];
    double t0 = now();
    int rc = open_and_echo_many(c, fds, 1000);
    if (rc == 0) figure(c, "1000 connections opened and echoed in %.2f s", now() - t0);
    close_all(fds, 1000);
    destsrv_stop(d);
    return rc;
}

static int half_close_server(struct ctx *c) {
    int cfd = connect_proxy(c), sfd = -1, rc = 0;
    char buf[32];
    if (cfd < 0) return -1;
    if (write_all(cfd, "request", 7, 5) < 0) rc = fail(c, "client write failed");
    if (rc == 0 && (sfd = accept_dest(c, 10)) < 0) rc = -1;
    if (rc == 0 && (read_exact(sfd, buf, 7, 5) < 0 || memcmp(buf, "request", 7))) rc = fail(c, "the request did not arrive");
    if (rc == 0 && (write_all(sfd, "response", 8, 5) < 0 || shutdown(sfd, SHUT_WR) < 0)) rc = fail(c, "server write failed");
    if (rc == 0 && (read_exact(cfd, buf, 8, 5) < 0 || memcmp(buf, "response", 8))) rc = fail(c, "the response did not arrive");
    if (rc == 0 && !expect_eof(cfd, 5)) rc = fail(c, "the server's shutdown did not reach the client within 5 s");
    if (rc == 0 && write_all(cfd, "after-eof", 9, 5) < 0) rc = fail(c, "the client could not write after the server's shutdown");
    if (rc == 0 && (read_exact(sfd, buf, 9, 5) < 0 || memcmp(buf, "after-eof", 9)))
        rc = fail(c, "data sent after the server's shutdown did not arrive (the other direction must keep flowing)");
    if (rc == 0 && (shutdown(cfd, SHUT_WR) < 0 || !expect_eof(sfd, 5))) rc = fail(c, "the client's shutdown did not reach the server");
    if (sfd >= 0) close(sfd);
    close(cfd);
    return rc;
}

#define BIG (16u << 20)

/* 16 MiB each way at once on one connection; both ends check every byte, then EOF both ways. */
static int both_ways(struct ctx *c) {
    uint8_t *up = malloc(BIG), *down = malloc(BIG), *buf = malloc(65536);
    int cfd = -1, sfd = -1, rc = up && down && buf ? 0 : fail(c, "out of memory");
    if (rc == 0 && (cfd = connect_proxy(c)) < 0) rc = -1;
    if (rc == 0) { fill_pattern(up, BIG, 1); fill_pattern(down, BIG, 2); }
    if (rc == 0 && (write_all(cfd, up, 1, 5) < 0 || (sfd = accept_dest(c, 10)) < 0)) rc = fail(c, "the proxy did not connect");
    size_t sent[2] = { 1, 0 }, got[2] = { 0, 0 };   /* [0] client->server, [1] server->client */
    int eof[2] = { 0, 0 }, shut[2] = { 0, 0 };
    double t0 = now(), last = t0;
    while (rc == 0 && !(eof[0] && eof[1])) {
        int fd[2] = { cfd, sfd };   /* fd[k] sends direction k and receives direction 1-k */
        const uint8_t *src[2] = { up, down };
        struct pollfd p[2];
        for (int k = 0; k < 2; k++)
            p[k] = (struct pollfd){ .fd = fd[k], .events = (short)((eof[1 - k] ? 0 : POLLIN) | (sent[k] < BIG ? POLLOUT : 0)) };
        if (now() - last > 10) { rc = fail(c, "no progress for 10 s (up %zu, down %zu of %u bytes)", got[0], got[1], BIG); break; }
        if (now() - t0 > 120) { rc = fail(c, "not done within 120 s"); break; }
        poll(p, 2, 200);
        for (int k = 0; k < 2 && rc == 0; k++) {
            if (p[k].revents & POLLOUT) {
                ssize_t w = send(fd[k], src[k] + sent[k], BIG - sent[k] < 65536 ? BIG - sent[k] : 65536, MSG_NOSIGNAL);
                if (w > 0) { sent[k] += (size_t)w; last = now(); }
                else if (w < 0 && errno != EAGAIN) rc = fail(c, "write: %s", strerror(errno));
            }
            if (sent[k] == BIG && !shut[k]) { shutdown(fd[k], SHUT_WR); shut[k] = 1; }
            if (!eof[1 - k] && p[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                int dir = 1 - k;
                ssize_t r = read(fd[k], buf, 65536);
                if (r > 0) {
                    if (got[dir] + (size_t)r > BIG || memcmp(buf, src[dir] + got[dir], (size_t)r))
                        rc = fail(c, "%s data corrupted at byte %zu", dir ? "downstream" : "upstream", got[dir]);
                    got[dir] += (size_t)r; last = now();
                } else if (r == 0) {
                    if (got[dir] < BIG) rc = fail(c, "early end-of-file after %zu bytes %s", got[dir], dir ? "downstream" : "upstream");
                    eof[dir] = 1;
                } else if (errno != EAGAIN) rc = fail(c, "read: %s", strerror(errno));
            }
        }
    }
    if (rc == 0)
        figure(c, "32 MiB in %.2f s, checksums up %016llx down %016llx", now() - t0,
               (unsigned long long)fnv1a(up, BIG, 0), (unsigned long long)fnv1a(down, BIG, 0));
    if (cfd >= 0) close(cfd);
    if (sfd >= 0) close(sfd);
    free(up); free(down); free(buf);
    return rc;
}

/* p99 round trip of a ping connection, optionally while slow readers hold the proxy. */
static int ping_p99(struct ctx *c, int fd, int *slow, int nslow, double *p99, double *p50) {
    enum { N = 600 };
    static double rtt[N];
    double last_slow = now(), start = last_slow;
    for (int i = 0; i < N; i++) {
        if (now() - start > 60) return fail(c, "%d round trips took over 60 s", i);
        char msg[64];
        memset(msg, 'a' + i % 26, sizeof msg);
        double t = now();
        if (echo_once(c, fd, msg, sizeof msg, 5) < 0) return -1;
        rtt[i] = (now() - t) * 1000;
        if (nslow && now() - last_slow > 0.05) {   /* slow readers take 16 bytes every 50 ms */
            char b[16];
            for (int k = 0; k < nslow; k++) if (read(slow[k], b, sizeof b) < 0 && errno != EAGAIN) return fail(c, "slow reader cut off");
            last_slow = now();
        }
    }
    *p50 = percentile(rtt, N, 0.5);
    *p99 = percentile(rtt, N, 0.99);
    return 0;
}

static int slow_reader(struct ctx *c) {
    struct destsrv *d = destsrv_start(c->dest_lfd);
    if (!d) return fail(c, "cannot start the destination server");
    int fd = connect_proxy(c), slow[4] = { -1, -1, -1, -1 }, rc = fd < 0 ? -1 : 0;
    double base99 = 0, base50 = 0, p99 = 0, p50 = 0;
    if (rc == 0) rc = ping_p99(c, fd, NULL, 0, &base99, &base50);
    for (int k = 0; rc == 0 && k < 4; k++) {
        destsrv_next_mode(d, DEST_STREAM);
        if ((slow[k] = connect_proxy(c)) < 0 || write_all(slow[k], "s", 1, 5) < 0 || !destsrv_wait_accepted(d, k + 2, 10))
            rc = fail(c, "could not set up slow reader %d", k + 1);
    }
    if (rc == 0) rc = ping_p99(c, fd, slow, 4, &p99, &p50);
    double bound = base99 * 20 > 50 ? base99 * 20 : 50;
    if (rc == 0) {
        figure(c, "p99 round trip %.3f ms alone, %.3f ms with 4 slow readers (p50 %.3f ms; bound %.0f ms)", base99, p99, p50, bound);
        if (p99 > bound) rc = fail(c, "p99 round trip %.1f ms with slow readers exceeds %.0f ms", p99, bound);
    }
    for (int k = 0; k < 4; k++) if (slow[k] >= 0) close(slow[k]);
    if (fd >= 0) close(fd);
    destsrv_stop(d);
    return rc;
}

static int client_rst(struct ctx *c) {
    struct destsrv *d = destsrv_start(c->dest_lfd);
    if (!d) return fail(c, "cannot start the destination server");
    destsrv_next_mode(d, DEST_STREAM);
    int fd = connect_proxy(c), rc = fd < 0 ? -1 : 0;
    static uint8_t buf[256 << 10];
    if (rc == 0 && (write_all(fd, "go", 2, 5) < 0 || read_exact(fd, buf, sizeof buf, 10) < 0))
        rc = fail(c, "the stream did not flow before the reset");
    if (rc == 0) {
        struct linger lg = { 1, 0 };   /* close with RST */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
        fd = -1;
        if (!destsrv_wait_closed(d, 1, 5)) rc = fail(c, "the server could still write 5 s after the client reset (pair not closed)");
    }
    if (rc == 0 && (fd = connect_proxy(c)) >= 0) rc = echo_once(c, fd, "alive?", 6, 5);
    if (fd >= 0) close(fd);
    destsrv_stop(d);
    return rc;
}

static int bad_command_lines(struct ctx *c) {
    char port[16], busy[16];
    snprintf(port, sizeof port, "%d", pick_free_port());
    int busy_fd = listen_on("0.0.0.0", 0, 16);
    snprintf(busy, sizeof busy, "%d", bound_port(busy_fd));
    char *p = proxy_argv[0];
    char *cases[][6] = {
        { p, NULL }, { p, "127.0.0.1", NULL }, { p, "127.0.0.1", "7", "0", NULL },
        { p, "127.0.0.1", "7", "70000", NULL }, { p, "127.0.0.1", "notaport", port, NULL },
        { p, "127.0.0.1", "7", port, "--no-such-option", NULL }, { p, "127.0.0.1", "7", busy, NULL },
    };
    int rc = 0, ncases = sizeof cases / sizeof cases[0];
    char codes[128] = "";
    for (int i = 0; i < ncases && rc == 0; i++) {
        char out[8192], desc[128] = "";
        for (int k = 1; cases[i][k]; k++) { strncat(desc, " ", sizeof desc - strlen(desc) - 1); strncat(desc, cases[i][k], sizeof desc - strlen(desc) - 1); }
        int status = 0, running = run_captured(cases[i], 5, out, sizeof out, &status);
        if (running < 0) rc = fail(c, "cannot run the proxy");
        else if (running) rc = fail(c, "'%s' still running after 5 s", desc);
        else if (WIFSIGNALED(status)) rc = fail(c, "'%s' died of signal %d", desc, WTERMSIG(status));
        else if (WEXITSTATUS(status) == 0) rc = fail(c, "'%s' exited 0", desc);
        else if (!out[0]) rc = fail(c, "'%s' printed no message", desc);
        else if (strstr(out, "   at ") || strstr(out, "Unhandled") || strstr(out, "Traceback") || strstr(out, "Exception"))
            rc = fail(c, "'%s' printed a stack trace", desc);
        snprintf(codes + strlen(codes), sizeof codes - strlen(codes), "%s%d", i ? "," : "", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    if (rc == 0) figure(c, "exit statuses %s", codes);
    close(busy_fd);
    return rc;
}

static int memory_per_pair(struct ctx *c) {
    struct destsrv *d = destsrv_start(c->dest_lfd);
    if (!d) return fail(c, "cannot start the destination server");
    enum { N = 1000 };
    static int fds[N];
    long before = proxy_rss_kb(c);
    int rc = open_and_echo_many(c, fds, N);
    long after = proxy_rss_kb(c);
    if (rc == 0) {
        double per = (double)(after - before) / N;
        figure(c, "RSS %ld KB idle, %ld KB with %d pairs: %.1f KB/pair", before, after, N, per);
        if (before <= 0) rc = fail(c, "cannot read the proxy's RSS from /proc");
        else if (per > 100) rc = fail(c, "%.0f KB per idle pair (more than 100 KB)", per);
    }
    close_all(fds, N);
    destsrv_stop(d);
    return rc;
}

const struct phase extra_phases[] = {
    { "Destination refused, then recovering", refused_then_recovering, PH_DEST_UNLISTENED },
    { "1000 concurrent echo connections", thousand_echo, PH_BUSY },
    { "Half-close from the server side", half_close_server, 0 },
    { "16 MiB each way at once", both_ways, PH_BUSY },
    { "Slow readers and round-trip p99", slow_reader, PH_BUSY },
    { "Client RST mid-transfer", client_rst, 0 },
    { "Bad command lines", bad_command_lines, PH_NO_PROXY },
    { "Memory per idle connection pair", memory_per_pair, PH_BUSY },
};
const int n_extra_phases = sizeof extra_phases / sizeof extra_phases[0];
