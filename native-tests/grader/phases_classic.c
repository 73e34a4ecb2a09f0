/* The ten classic phases of test-tcpproxy, in the classic order and with the classic names. */
#include "grader.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BULK_BYTES (2u << 20)

/* n connections chained through the proxy; ten 4-byte messages, each awaited. */
static int echo_chain(struct ctx *c, int n) {
    struct destsrv *d = destsrv_start(c->dest_lfd);
    int fds[20], rc = d ? open_chain(c, fds, n) : fail(c, "cannot start the destination server");
    for (int m = 0; rc == 0 && m < 10; m++) {
        uint8_t msg[4] = { 'm', (uint8_t)('0' + m), (uint8_t)n, 0x5a };
        rc = run_chain(c, fds, n, msg, sizeof msg, 10, NULL);
    }
    if (rc == 0) close_all(fds, n);
    destsrv_stop(d);
    return rc;
}
static int single_echo(struct ctx *c) { return echo_chain(c, 1); }
static int two_echo(struct ctx *c) { return echo_chain(c, 2); }
static int twenty_echo(struct ctx *c) { return echo_chain(c, 20); }

/* 2 MB through a chain of 20; with `blocked`, also a connection whose server never reads. */
static int bulk(struct ctx *c, int blocked) {
    struct destsrv *d = destsrv_start(c->dest_lfd);
    if (!d) return fail(c, "cannot start the destination server");
    uint8_t *data = malloc(BULK_BYTES);
    struct blocked_writer bw = { .fd = -1 };
    int fds[20], rc = data ? 0 : fail(c, "out of memory");
    if (rc == 0 && blocked) {   /* first the blocked one, so the server knows which it is */
        destsrv_next_mode(d, DEST_SINK);
        if ((bw.fd = connect_proxy(c)) < 0) rc = -1;
        else {
            bw.last_progress = now();
            uint8_t b = 'x';
            if (write_all(bw.fd, &b, 1, 5) < 0 || !destsrv_wait_accepted(d, 1, 10))
                rc = fail(c, "the proxy did not connect the blocked client to the destination");
            else bw.written = 1;
        }
    }
    if (rc == 0) rc = open_chain(c, fds, 20);
    if (rc == 0) {
        fill_pattern(data, BULK_BYTES, 42);
        double t0 = now();
        rc = run_chain(c, fds, 20, data, BULK_BYTES, 60, blocked ? &bw : NULL);
        double dt = now() - t0;
        if (rc == 0) figure(c, "2 MB through 20 connections in %.2f s (%.0f MB/s proxied)", dt, 40.0 * 2 / dt);
        close_all(fds, 20);
    }
    if (rc == 0 && blocked) {
        /* Keep writing until the proxy stops taking data for 3 s: it must, or it buffers without bound. */
        while (!bw.closed && bw.written < UNBOUNDED_LIMIT && now() - bw.last_progress < 3.0) {
            if (wait_fd(bw.fd, POLLOUT, 1.0) > 0) {
                static uint8_t junk[65536];
                ssize_t w = send(bw.fd, junk, sizeof junk, MSG_NOSIGNAL);
                if (w > 0) { bw.written += (size_t)w; bw.last_progress = now(); }
                else if (w < 0 && errno != EAGAIN && errno != EINTR) bw.closed = 1;
            }
        }
        figure(c, "blocked client wrote %zu KB before blocking", bw.written / 1024);
        if (bw.written >= UNBOUNDED_LIMIT)
            rc = fail(c, "the proxy took %zu MB from a client whose server never reads (unbounded buffering)", bw.written >> 20);
    }
    if (bw.fd >= 0) close(bw.fd);
    free(data);
    destsrv_stop(d);
    return rc;
}
static int bulk_data(struct ctx *c) { return bulk(c, 0); }
static int mix_blocked(struct ctx *c) { return bulk(c, 1); }

static int one_way_shutdown(struct ctx *c) {
    int cfd = connect_proxy(c), sfd = -1, rc = 0;
    char b;
    if (cfd < 0) return -1;
    if (shutdown(cfd, SHUT_WR) < 0) rc = fail(c, "shutdown: %s", strerror(errno));
    if (rc == 0 && (sfd = accept_dest(c, 10)) < 0) rc = -1;
    if (rc == 0 && !expect_eof(sfd, 5)) rc = fail(c, "the server saw no end-of-file within 5 s after the client's shutdown");
    if (rc == 0 && write_all(sfd, "Z", 1, 5) < 0) rc = fail(c, "the server could not write after the client's shutdown");
    if (rc == 0 && (read_exact(cfd, &b, 1, 5) < 0 || b != 'Z')) rc = fail(c, "the byte written after the shutdown did not arrive");
    if (rc == 0) { close(sfd); sfd = -1; }
    if (rc == 0 && !expect_eof(cfd, 5)) rc = fail(c, "the client saw no end-of-file within 5 s after the server closed");
    if (sfd >= 0) close(sfd);
    close(cfd);
    return rc;
}

/* The server closes at once; the client writes a byte a second until the proxy closes. */
static int early_close(struct ctx *c) {
    int cfd = connect_proxy(c), rc = 0, closed = 0, writes = 0;
    if (cfd < 0) return -1;
    /* A proxy that connects only once the client speaks gets the first byte early. */
    if (wait_fd(c->dest_lfd, POLLIN, 2) <= 0 && send(cfd, "e", 1, MSG_NOSIGNAL) == 1) writes++;
    int sfd = accept_dest(c, 10);
    if (sfd < 0) { close(cfd); return -1; }
    close(sfd);
    double t0 = now();
    for (; writes < 10 && !closed; writes++) {
        sleep_s(1.0);   /* part of the scenario: bytes a second apart */
        if (send(cfd, "e", 1, MSG_NOSIGNAL) < 0 && errno != EAGAIN) { closed = 1; break; }
        int r = wait_fd(cfd, POLLIN, 0.2);   /* gives a reset time to come back */
        if (r & (POLLHUP | POLLERR)) closed = 1;
        char buf[64];
        if (r & POLLIN) {
            ssize_t n = read(cfd, buf, sizeof buf);
            if (n < 0 && errno != EAGAIN) closed = 1;   /* reset: closed; plain EOF: half-closed only */
        }
    }
    if (!closed) rc = fail(c, "the proxy kept the connection open after %d writes to a closed server", writes);
    else figure(c, "closed %.1f s after the server closed", now() - t0);
    close(cfd);
    return rc;
}

/* Two connections at once: A echoes every 0.3 x timeout (multi-second pauses, 1.2 x timeout in
 * all); B stays idle for 1.1 x timeout between two echoes.  Connections with nothing buffered
 * must never time out, however long they idle or however long they live. */
static int non_timeout(struct ctx *c) {
    struct destsrv *d = destsrv_start(c->dest_lfd);
    int fd[2] = { -1, -1 }, rc = d ? 0 : fail(c, "cannot start the destination server");
    for (int k = 0; rc == 0 && k < 2; k++) if ((fd[k] = connect_proxy(c)) < 0) rc = -1;
    struct { double at; int conn; } plan[] = {
        { 0, 0 }, { 0, 1 }, { 0.3, 0 }, { 0.6, 0 }, { 0.9, 0 }, { 1.1, 1 }, { 1.2, 0 },
    };
    double t0 = now(), last[2] = { t0, t0 };
    for (size_t i = 0; rc == 0 && i < sizeof plan / sizeof plan[0]; i++) {
        double wait = t0 + plan[i].at * opt_timeout - now();
        if (wait > 0) sleep_s(wait);   /* part of the scenario */
        int k = plan[i].conn;
        char msg[4] = { 'n', 't', (char)('0' + i), '!' };
        if (echo_once(c, fd[k], msg, 4, 5) < 0 && (c->reason[0] = 0, 1))   /* replace echo_once's reason */
            rc = fail(c, "connection %c lost after %.1f s (idle for %.1f s)", 'A' + k, now() - t0, now() - last[k]);
        last[k] = now();
    }
    for (int k = 0; k < 2; k++) if (fd[k] >= 0) close(fd[k]);
    destsrv_stop(d);
    return rc;
}

/* Writes from `src` as fast as it can while `dst` never reads; waits for the proxy to close
 * both ends.  Measures from the last byte src could write. */
static int lazy(struct ctx *c, int reverse) {
    int cfd = connect_proxy(c), sfd = -1, rc = 0;
    if (cfd < 0) return -1;
    if (reverse && write_all(cfd, "r", 1, 5) < 0) rc = fail(c, "write to the proxy failed");   /* lets a lazy connector connect */
    if (rc == 0 && (sfd = accept_dest(c, 10)) < 0) rc = -1;
    int src = reverse ? sfd : cfd, dst = reverse ? cfd : sfd;
    static uint8_t junk[65536];
    size_t written = 0;
    double last = now(), limit = opt_timeout * 1.3 + 1.5;
    int src_closed = 0, dst_closed = 0;
    double closed_at = 0;
    while (rc == 0 && !src_closed && !dst_closed) {
        if (now() - last > limit) {
            rc = fail(c, "connection still open %.1f s after the %s stopped taking data", now() - last, reverse ? "client" : "server");
            break;
        }
        struct pollfd p[2] = { { .fd = src, .events = POLLOUT | POLLRDHUP }, { .fd = dst, .events = POLLRDHUP } };
        poll(p, 2, 100);
        if (p[0].revents & POLLOUT && written < UNBOUNDED_LIMIT) {
            ssize_t w = send(src, junk, sizeof junk, MSG_NOSIGNAL);
            if (w > 0) { written += (size_t)w; last = now(); }
            else if (w < 0 && errno != EAGAIN && errno != EINTR) src_closed = 1;
        }
        if (p[0].revents & (POLLHUP | POLLERR | POLLRDHUP)) src_closed = 1;
        if (p[1].revents & (POLLHUP | POLLERR | POLLRDHUP)) dst_closed = 1;
        if (written >= UNBOUNDED_LIMIT)
            rc = fail(c, "the proxy took %zu MB that the %s never read (unbounded buffering)", written >> 20, reverse ? "client" : "server");
    }
    closed_at = now();
    /* The far end sees the close only once it reads what was in flight: drain, expect EOF. */
    if (rc == 0 && !src_closed && !expect_eof(src, 5)) rc = fail(c, "only one side was closed (the %s stayed open)", reverse ? "server" : "client");
    if (rc == 0 && !dst_closed && !expect_eof(dst, 5)) rc = fail(c, "only one side was closed (the %s stayed open)", reverse ? "client" : "server");
    if (rc == 0) {
        double t = closed_at - last;
        figure(c, "closed %.2f s after the %s blocked; %s wrote %zu KB", t, reverse ? "client" : "server", reverse ? "server" : "client", written / 1024);
        if (t < opt_timeout * 0.75 - 0.5 || t > opt_timeout * 1.3 + 1)
            rc = fail(c, "closed after %.1f s, expected about %.0f s", t, opt_timeout);
    }
    if (sfd >= 0) close(sfd);
    close(cfd);
    return rc;
}
static int lazy_forward(struct ctx *c) { return lazy(c, 0); }
static int lazy_reverse(struct ctx *c) { return lazy(c, 1); }

const struct phase classic_phases[] = {
    { "Single echo connection", single_echo, PH_BUSY },
    { "Two echo connections", two_echo, PH_BUSY },
    { "20 echo connections", twenty_echo, PH_BUSY },
    { "Bulk data, 20 connections", bulk_data, PH_BUSY },
    { "Mix of blocked and normal", mix_blocked, PH_BUSY },
    { "One-way shutdown", one_way_shutdown, 0 },
    { "Early close", early_close, 0 },
    { "Non-timeout of active client", non_timeout, 0 },
    { "Timeout of lazy forward client", lazy_forward, 0 },
    { "Timeout of lazy reverse client", lazy_reverse, 0 },
};
const int n_classic_phases = sizeof classic_phases / sizeof classic_phases[0];
