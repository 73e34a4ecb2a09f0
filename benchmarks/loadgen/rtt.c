/* rtt: N connections ping-pong msg_size-byte messages with our echo destination for
 * `seconds`; the first round trip of each connection (connection set-up) is not counted. */
#include "echo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum rtt_state { RTT_CONNECTING, RTT_SENDING, RTT_WAITING, RTT_DONE };

struct rtt_client {
    int fd;
    enum rtt_state state;
    size_t out_off, in_got;
    double sent_at;
    uint64_t rounds;
    uint32_t interest; /* current epoll events, so we only call epoll_ctl on a change */
};

struct rtt {
    const struct options *o;
    int ep;
    char *msg, *in;
    struct rtt_client *clients;
    struct histogram *hist;
    double measure_start, measure_end;
    int done;
};

/* One syscall less per round trip: the load generator must stay cheaper than the proxy. */
static void rtt_interest(struct rtt *t, uint32_t idx, uint32_t events)
{
    struct rtt_client *c = &t->clients[idx];
    if (c->interest != events) {
        ep_mod(t->ep, c->fd, events, TAG(ROLE_CLIENT, idx));
        c->interest = events;
    }
}

static void rtt_send(struct rtt *t, uint32_t idx)
{
    struct rtt_client *c = &t->clients[idx];
    if (c->state != RTT_SENDING) {
        c->state = RTT_SENDING;
        c->out_off = c->in_got = 0;
        c->sent_at = now_sec();
    }
    while (c->out_off < (size_t)t->o->msg_size) {
        ssize_t w = write(c->fd, t->msg + c->out_off, (size_t)t->o->msg_size - c->out_off);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                rtt_interest(t, idx, EPOLLIN | EPOLLOUT);
                return;
            }
            die("rtt: client write");
        }
        c->out_off += (size_t)w;
    }
    c->state = RTT_WAITING;
    rtt_interest(t, idx, EPOLLIN);
}

static void rtt_receive(struct rtt *t, uint32_t idx)
{
    struct rtt_client *c = &t->clients[idx];
    ssize_t r = read(c->fd, t->in, (size_t)t->o->msg_size - c->in_got);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        die("rtt: client read");
    }
    if (r == 0)
        fail("rtt: connection %u closed after %llu round trips", idx, (unsigned long long)c->rounds);
    c->in_got += (size_t)r;
    if (c->in_got < (size_t)t->o->msg_size)
        return;
    double now = now_sec();
    if (c->rounds > 0 && c->sent_at >= t->measure_start && now <= t->measure_end)
        histogram_add(t->hist, now - c->sent_at);
    c->rounds++;
    if (now < t->measure_end) {
        rtt_send(t, idx);
        return;
    }
    c->state = RTT_DONE;
    t->done++;
    rtt_interest(t, idx, 0);
}

static void rtt_client_event(struct rtt *t, uint32_t idx, uint32_t events)
{
    struct rtt_client *c = &t->clients[idx];
    if (c->state == RTT_CONNECTING) {
        int err = socket_error(c->fd);
        if (err != 0)
            fail("rtt: connect: %s", strerror(err));
        set_nodelay(c->fd);
        rtt_send(t, idx);
        return;
    }
    if (c->state == RTT_SENDING && (events & EPOLLOUT))
        rtt_send(t, idx);
    else if (c->state == RTT_WAITING)
        rtt_receive(t, idx);
}

int run_rtt(const struct options *o)
{
    struct rtt t = {.o = o, .ep = make_epoll(), .hist = histogram_new()};
    t.msg = malloc((size_t)o->msg_size);
    t.in = malloc((size_t)o->msg_size);
    if (!t.msg || !t.in)
        die("malloc");
    memset(t.msg, 'r', (size_t)o->msg_size);
    t.clients = xcalloc((size_t)o->conns, sizeof *t.clients);
    struct echo *echo = echo_new(t.ep, o, false, o->conns + 64);

    double cpu_start = cpu_seconds_self(), start = now_sec(), deadline = start + o->timeout;
    /* Set-up (connects, first round trips) happens in the first moments; measuring
     * starts a little later so it only sees the steady state. */
    double warmup = o->seconds * 0.1 < 0.5 ? o->seconds * 0.1 : 0.5;
    t.measure_start = start + warmup;
    t.measure_end = t.measure_start + o->seconds;
    for (int i = 0; i < o->conns; i++) {
        t.clients[i].fd = connect_start(o->host, o->target_port);
        ep_add(t.ep, t.clients[i].fd, EPOLLOUT, TAG(ROLE_CLIENT, i));
        t.clients[i].interest = EPOLLOUT;
    }
    struct epoll_event evs[256];
    while (t.done < o->conns) {
        if (now_sec() > deadline)
            fail("rtt: timeout after %.0f s: %d/%d connections finished", o->timeout, t.done, o->conns);
        int n = epoll_wait(t.ep, evs, 256, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            switch (TAG_ROLE(tag)) {
            case ROLE_LISTENER: echo_accept(echo); break;
            case ROLE_CLIENT: rtt_client_event(&t, TAG_IDX(tag), evs[i].events); break;
            case ROLE_SERVER: echo_event(echo, TAG_IDX(tag), evs[i].events); break;
            default: fail("rtt: unknown tag");
            }
        }
    }
    uint64_t count = histogram_count(t.hist);
    if (count == 0)
        fail("rtt: no round trip completed in the measured window");
    printf("result mode=rtt conns=%d msg_size=%d round_trips=%llu rt_per_s=%.0f p50_us=%.1f p99_us=%.1f "
           "p999_us=%.1f max_us=%.1f",
           o->conns, o->msg_size, (unsigned long long)count, (double)count / o->seconds,
           histogram_percentile_us(t.hist, 50), histogram_percentile_us(t.hist, 99),
           histogram_percentile_us(t.hist, 99.9), histogram_percentile_us(t.hist, 100));
    print_loadgen_cpu(now_sec() - start, cpu_start);
    printf("\n");
    if (o->histogram_path)
        histogram_write(t.hist, o->histogram_path);
    if (o->hold_echo) {
        for (int i = 0; i < o->conns; i++)
            if (close(t.clients[i].fd) != 0)
                die("close");
        echo_serve_until_stdin(echo, deadline);
    }
    return 0;
}
