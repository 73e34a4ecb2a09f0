/* connrate: `conns` workers loop connect -> send 1 byte -> read the echoed byte and
 * EOF -> close, for `seconds`. The destination closes first, so no TIME_WAIT lands on
 * a port the proxy or we need again. Failures are counted, not fatal. */
#include "echo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ATTEMPT_TIMEOUT 5.0

enum cr_state { CR_IDLE, CR_CONNECTING, CR_WAITING };

struct worker {
    int fd;
    enum cr_state state;
    bool got_byte;
    double started;
};

struct connrate {
    const struct options *o;
    int ep;
    struct worker *workers;
    double end;
    uint64_t ok, failures;
    int active;
};

static void worker_start(struct connrate *c, uint32_t idx)
{
    struct worker *w = &c->workers[idx];
    if (now_sec() >= c->end) {
        w->state = CR_IDLE;
        return;
    }
    *w = (struct worker){.fd = connect_start(c->o->host, c->o->target_port), .state = CR_CONNECTING,
                         .started = now_sec()};
    c->active++;
    /* Registered once, edge-triggered, for both directions: no epoll_ctl per step. */
    ep_add(c->ep, w->fd, EPOLLOUT | EPOLLIN | EPOLLET, TAG(ROLE_CLIENT, idx));
}

static void worker_finish(struct connrate *c, uint32_t idx, bool ok)
{
    struct worker *w = &c->workers[idx];
    if (close(w->fd) != 0)
        die("close");
    w->state = CR_IDLE;
    c->active--;
    if (ok)
        c->ok++;
    else
        c->failures++;
    worker_start(c, idx);
}

static void worker_event(struct connrate *c, uint32_t idx, uint32_t events)
{
    struct worker *w = &c->workers[idx];
    if (w->state == CR_IDLE)
        return;
    if (w->state == CR_CONNECTING) {
        if ((events & (EPOLLERR | EPOLLHUP)) && socket_error(w->fd) != 0) {
            worker_finish(c, idx, false);
            return;
        }
        if (!(events & EPOLLOUT))
            return; /* still connecting */
        ssize_t n = write(w->fd, "x", 1);
        if (n != 1) {
            if (n < 0 && errno != EAGAIN && errno != EPIPE && errno != ECONNRESET)
                die("connrate: write");
            worker_finish(c, idx, false);
            return;
        }
        w->state = CR_WAITING;
    }
    /* Edge-triggered: read until EAGAIN, EOF or an error (byte and EOF may come together). */
    for (;;) {
        char buf[16];
        ssize_t r = read(w->fd, buf, sizeof buf);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno != ECONNRESET)
                die("connrate: read");
            worker_finish(c, idx, false);
            return;
        }
        if (r == 0) {
            worker_finish(c, idx, w->got_byte);
            return;
        }
        if (r != 1 || w->got_byte) {
            worker_finish(c, idx, false);
            return;
        }
        w->got_byte = true;
    }
}

static void expire_slow_attempts(struct connrate *c)
{
    double now = now_sec();
    for (int i = 0; i < c->o->conns; i++)
        if (c->workers[i].state != CR_IDLE && now - c->workers[i].started > ATTEMPT_TIMEOUT)
            worker_finish(c, (uint32_t)i, false);
}

int run_connrate(const struct options *o)
{
    struct connrate c = {.o = o, .ep = make_epoll()};
    c.workers = xcalloc((size_t)o->conns, sizeof *c.workers);
    /* Closed-by-us destination sockets leave at once; the slack covers late strays. */
    struct echo *echo = echo_new(c.ep, o, true, 2 * o->conns + 1024);
    double cpu_start = cpu_seconds_self(), start = now_sec(), deadline = start + o->seconds + o->timeout;
    c.end = start + o->seconds;
    for (int i = 0; i < o->conns; i++)
        worker_start(&c, (uint32_t)i);
    struct epoll_event evs[256];
    double last_expiry = start;
    while (c.active > 0) {
        double now = now_sec();
        if (now > deadline)
            fail("connrate: timeout: %d attempts still open", c.active);
        if (now - last_expiry > 0.1) {
            expire_slow_attempts(&c);
            last_expiry = now;
        }
        int n = epoll_wait(c.ep, evs, 256, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            switch (TAG_ROLE(tag)) {
            case ROLE_LISTENER: echo_accept(echo); break;
            case ROLE_CLIENT: worker_event(&c, TAG_IDX(tag), evs[i].events); break;
            case ROLE_SERVER: echo_event(echo, TAG_IDX(tag), evs[i].events); break;
            default: fail("connrate: unknown tag");
            }
        }
    }
    double wall = now_sec() - start;
    printf("result mode=connrate workers=%d seconds=%.3f conns_ok=%llu failures=%llu conns_per_s=%.0f", o->conns,
           wall, (unsigned long long)c.ok, (unsigned long long)c.failures, (double)c.ok / wall);
    print_loadgen_cpu(wall, cpu_start);
    printf("\n");
    if (o->hold_echo)
        echo_serve_until_stdin(echo, deadline);
    return 0;
}
