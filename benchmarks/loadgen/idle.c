/* idle: open `conns` connection pairs through the proxy (each proven end to end by one
 * echoed byte), print `idle-ready ...`, and hold them until stdin has a line or EOF,
 * so the caller can measure the proxy's memory meanwhile. */
#include "echo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CONNECT_TIMEOUT 10.0

enum idle_state { IDLE_UNUSED, IDLE_CONNECTING, IDLE_WAITING, IDLE_ESTABLISHED, IDLE_FAILED, IDLE_DROPPED };

struct idle_client {
    int fd;
    enum idle_state state;
    double started;
};

struct idle {
    const struct options *o;
    int ep;
    struct idle_client *clients;
    int next, in_flight, established, failed, dropped;
};

static void idle_launch(struct idle *t)
{
    while (t->in_flight < t->o->window && t->next < t->o->conns) {
        int i = t->next++;
        t->clients[i] = (struct idle_client){.fd = connect_start(t->o->host, t->o->target_port),
                                             .state = IDLE_CONNECTING, .started = now_sec()};
        ep_add(t->ep, t->clients[i].fd, EPOLLOUT, TAG(ROLE_CLIENT, i));
        t->in_flight++;
    }
}

static void idle_settle(struct idle *t, uint32_t idx, enum idle_state state)
{
    struct idle_client *c = &t->clients[idx];
    c->state = state;
    t->in_flight--;
    if (state == IDLE_ESTABLISHED) {
        t->established++;
        ep_mod(t->ep, c->fd, EPOLLIN | EPOLLRDHUP, TAG(ROLE_CLIENT, idx));
        return;
    }
    t->failed++;
    if (close(c->fd) != 0)
        die("close");
}

static void idle_event(struct idle *t, uint32_t idx)
{
    struct idle_client *c = &t->clients[idx];
    if (c->state == IDLE_CONNECTING) {
        if (socket_error(c->fd) != 0 || write(c->fd, "i", 1) != 1) {
            idle_settle(t, idx, IDLE_FAILED);
            return;
        }
        c->state = IDLE_WAITING;
        ep_mod(t->ep, c->fd, EPOLLIN, TAG(ROLE_CLIENT, idx));
        return;
    }
    char buf[16];
    ssize_t r = read(c->fd, buf, sizeof buf);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (c->state == IDLE_WAITING) {
        idle_settle(t, idx, r == 1 ? IDLE_ESTABLISHED : IDLE_FAILED);
        return;
    }
    if (c->state == IDLE_ESTABLISHED) {
        /* Anything on a held connection means the proxy dropped or corrupted it. */
        c->state = IDLE_DROPPED;
        t->dropped++;
        if (close(c->fd) != 0)
            die("close");
    }
}

static void expire_slow_connects(struct idle *t)
{
    double now = now_sec();
    for (int i = 0; i < t->next; i++) {
        enum idle_state s = t->clients[i].state;
        if ((s == IDLE_CONNECTING || s == IDLE_WAITING) && now - t->clients[i].started > CONNECT_TIMEOUT)
            idle_settle(t, (uint32_t)i, IDLE_FAILED);
    }
}

/* stdin may be a file or /dev/null, which epoll refuses: then there is nothing to wait for. */
static bool watch_stdin(int ep)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG(ROLE_STDIN, 0)};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) == 0)
        return true;
    if (errno == EPERM)
        return false;
    die("epoll_ctl stdin");
}

int run_idle(const struct options *o)
{
    struct idle t = {.o = o, .ep = make_epoll()};
    t.clients = xcalloc((size_t)o->conns, sizeof *t.clients);
    struct echo *echo = echo_new(t.ep, o, false, o->conns + 64);
    double cpu_start = cpu_seconds_self(), start = now_sec(), deadline = start + o->timeout, ready_at = 0;
    bool holding = false, released = false;
    idle_launch(&t);
    struct epoll_event evs[256];
    while (!released) {
        double now = now_sec();
        if (now > deadline)
            fail("idle: timeout: %d established, %d failed, %d in flight, holding=%d", t.established,
                 t.failed, t.in_flight, holding);
        if (!holding) {
            expire_slow_connects(&t);
            idle_launch(&t);
            if (t.established + t.failed == o->conns) {
                ready_at = now_sec();
                printf("idle-ready established=%d failed=%d seconds=%.3f\n", t.established, t.failed,
                       ready_at - start);
                fflush(stdout);
                holding = true;
                if (!watch_stdin(t.ep))
                    break;
            }
        }
        int n = epoll_wait(t.ep, evs, 256, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            switch (TAG_ROLE(tag)) {
            case ROLE_LISTENER: echo_accept(echo); break;
            case ROLE_CLIENT: idle_event(&t, TAG_IDX(tag)); break;
            case ROLE_SERVER: echo_event(echo, TAG_IDX(tag), evs[i].events); break;
            case ROLE_STDIN: released = true; break;
            default: fail("idle: unknown tag");
            }
        }
    }
    printf("result mode=idle conns=%d established=%d failed=%d dropped=%d seconds=%.3f", o->conns, t.established,
           t.failed, t.dropped, ready_at - start);
    print_loadgen_cpu(now_sec() - start, cpu_start);
    printf("\n");
    return t.established == o->conns && t.dropped == 0 ? 0 : 1;
}
