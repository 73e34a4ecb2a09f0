/* bulk: N connections each stream `bytes` one way into our sink, then half-close.
 * The sink closes on EOF, so a client finishes when the proxy relays that close back.
 * Every sink must receive exactly `bytes`; connections that carry nothing are strays
 * (a readiness probe the proxy forwarded late) and are ignored. */
#include "loadgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct client {
    int fd;
    uint64_t sent;
    bool write_done, finished;
};

struct sink {
    int fd;
    uint64_t received;
    bool closed;
};

struct bulk {
    const struct options *o;
    int ep;
    char *buf;
    struct client *clients;
    struct sink *sinks;
    int sinks_used, sinks_cap;
    int clients_finished, sinks_closed;
    double last_eof;
};

static void client_event(struct bulk *b, uint32_t idx, uint32_t events)
{
    struct client *c = &b->clients[idx];
    if (c->finished)
        return;
    int err = (events & EPOLLERR) ? socket_error(c->fd) : 0;
    if (err != 0)
        fail("bulk: client %u: %s", idx, strerror(err));
    while (!c->write_done) {
        uint64_t left = b->o->bytes - c->sent;
        size_t n = left < b->o->chunk ? (size_t)left : b->o->chunk;
        ssize_t w = write(c->fd, b->buf, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            die("bulk: client write");
        }
        c->sent += (uint64_t)w;
        if (c->sent == b->o->bytes) {
            c->write_done = true;
            if (shutdown(c->fd, SHUT_WR) != 0)
                die("bulk: client shutdown");
        }
    }
    for (;;) {
        ssize_t r = read(c->fd, b->buf, b->o->chunk);
        if (r > 0)
            fail("bulk: client %u received %zd unexpected bytes", idx, r);
        if (r == 0) {
            if (!c->write_done)
                fail("bulk: client %u: EOF after %llu of %llu bytes", idx,
                     (unsigned long long)c->sent, (unsigned long long)b->o->bytes);
            c->finished = true;
            b->clients_finished++;
            if (close(c->fd) != 0)
                die("close");
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        die("bulk: client read");
    }
}

static void sink_event(struct bulk *b, uint32_t idx)
{
    struct sink *s = &b->sinks[idx];
    for (;;) {
        ssize_t r = read(s->fd, b->buf, b->o->chunk);
        if (r > 0) {
            s->received += (uint64_t)r;
            continue;
        }
        if (r == 0) {
            s->closed = true;
            if (s->received > 0) {
                b->sinks_closed++;
                b->last_eof = now_sec();
            }
            if (close(s->fd) != 0)
                die("close");
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        die("bulk: sink read");
    }
}

static void accept_sinks(struct bulk *b, int listener)
{
    int fd;
    while ((fd = accept_one(listener)) >= 0) {
        if (b->sinks_used == b->sinks_cap)
            fail("bulk: more than %d connections reached the destination", b->sinks_cap);
        int idx = b->sinks_used++;
        b->sinks[idx] = (struct sink){.fd = fd};
        ep_add(b->ep, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, TAG(ROLE_SERVER, idx));
    }
}

int run_bulk(const struct options *o)
{
    if (o->bytes == 0)
        fail("bulk: --bytes must be > 0");
    struct bulk b = {.o = o, .ep = make_epoll(), .sinks_cap = 2 * o->conns + 64};
    b.buf = malloc(o->chunk);
    if (!b.buf)
        die("malloc");
    for (size_t i = 0; i < o->chunk; i++)
        b.buf[i] = (char)('a' + i % 26);
    b.clients = xcalloc((size_t)o->conns, sizeof *b.clients);
    b.sinks = xcalloc((size_t)b.sinks_cap, sizeof *b.sinks);
    int listener = listen_on(o->host, o->dest_port);
    ep_add(b.ep, listener, EPOLLIN, TAG(ROLE_LISTENER, 0));

    double cpu_start = cpu_seconds_self(), start = now_sec(), deadline = start + o->timeout;
    for (int i = 0; i < o->conns; i++) {
        b.clients[i].fd = connect_start(o->host, o->target_port);
        ep_add(b.ep, b.clients[i].fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, TAG(ROLE_CLIENT, i));
    }
    struct epoll_event evs[256];
    while (b.clients_finished < o->conns || b.sinks_closed < o->conns) {
        if (now_sec() > deadline)
            fail("bulk: timeout after %.0f s: %d/%d clients finished, %d/%d sinks closed", o->timeout,
                 b.clients_finished, o->conns, b.sinks_closed, o->conns);
        int n = epoll_wait(b.ep, evs, 256, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            switch (TAG_ROLE(tag)) {
            case ROLE_LISTENER: accept_sinks(&b, listener); break;
            case ROLE_CLIENT: client_event(&b, TAG_IDX(tag), evs[i].events); break;
            case ROLE_SERVER: sink_event(&b, TAG_IDX(tag)); break;
            default: fail("bulk: unknown tag");
            }
        }
    }
    double wall = b.last_eof - start;
    uint64_t total = 0;
    int strays = 0;
    for (int i = 0; i < b.sinks_used; i++) {
        if (b.sinks[i].received == 0) {
            strays++;
            continue;
        }
        if (b.sinks[i].received != o->bytes)
            fail("bulk: a destination connection received %llu bytes, expected %llu",
                 (unsigned long long)b.sinks[i].received, (unsigned long long)o->bytes);
        total += b.sinks[i].received;
    }
    if (total != o->bytes * (uint64_t)o->conns)
        fail("bulk: received %llu bytes in total, expected %llu", (unsigned long long)total,
             (unsigned long long)(o->bytes * (uint64_t)o->conns));
    printf("result mode=bulk conns=%d bytes_total=%llu seconds=%.4f mb_per_s=%.1f strays=%d", o->conns,
           (unsigned long long)total, wall, (double)total / wall / 1e6, strays);
    print_loadgen_cpu(now_sec() - start, cpu_start);
    printf("\n");
    return 0;
}
