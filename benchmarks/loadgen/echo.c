/* Echo destination: what it reads it writes back. A short write parks the rest and
 * stops reading that connection until it drains, so memory per connection stays bounded. */
#include "echo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ECHO_BUF (64 * 1024)

struct echo_conn {
    int fd; /* -1 when the slot is free */
    char *pending;
    size_t pending_len, pending_off;
};

struct echo {
    int ep, listener;
    bool close_after_echo;
    int capacity;
    struct echo_conn *conns;
    int *free_slots;
    int free_count;
    char buf[ECHO_BUF];
};

struct echo *echo_new(int ep, const struct options *o, bool close_after_echo, int capacity)
{
    struct echo *e = xcalloc(1, sizeof *e);
    e->ep = ep;
    e->close_after_echo = close_after_echo;
    e->capacity = capacity;
    e->conns = xcalloc((size_t)capacity, sizeof *e->conns);
    e->free_slots = xcalloc((size_t)capacity, sizeof *e->free_slots);
    for (int i = 0; i < capacity; i++) {
        e->conns[i].fd = -1;
        e->free_slots[e->free_count++] = capacity - 1 - i;
    }
    e->listener = listen_on(o->host, o->dest_port);
    ep_add(ep, e->listener, EPOLLIN, TAG(ROLE_LISTENER, 0));
    return e;
}

int echo_listener(const struct echo *e) { return e->listener; }

static void echo_close(struct echo *e, uint32_t idx)
{
    struct echo_conn *c = &e->conns[idx];
    if (close(c->fd) != 0)
        die("close");
    free(c->pending);
    *c = (struct echo_conn){.fd = -1};
    e->free_slots[e->free_count++] = (int)idx;
}

void echo_accept(struct echo *e)
{
    int fd;
    while ((fd = accept_one(e->listener)) >= 0) {
        if (e->free_count == 0)
            fail("echo: more than %d connections open at the destination", e->capacity);
        int idx = e->free_slots[--e->free_count];
        e->conns[idx].fd = fd;
        if (!e->close_after_echo) /* one reply then close needs no Nagle tuning: a syscall saved */
            set_nodelay(fd);
        ep_add(e->ep, fd, EPOLLIN, TAG(ROLE_SERVER, idx));
    }
}

/* Returns false when the connection had to be closed. */
static bool echo_flush(struct echo *e, uint32_t idx)
{
    struct echo_conn *c = &e->conns[idx];
    while (c->pending_off < c->pending_len) {
        ssize_t w = write(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (errno == EPIPE || errno == ECONNRESET) {
                echo_close(e, idx);
                return false;
            }
            die("echo: write");
        }
        c->pending_off += (size_t)w;
    }
    free(c->pending);
    c->pending = NULL;
    c->pending_len = c->pending_off = 0;
    ep_mod(e->ep, c->fd, EPOLLIN, TAG(ROLE_SERVER, idx));
    return true;
}

void echo_event(struct echo *e, uint32_t idx, uint32_t events)
{
    struct echo_conn *c = &e->conns[idx];
    if (c->fd < 0)
        return;
    if (c->pending) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            echo_flush(e, idx);
        return;
    }
    ssize_t r = read(c->fd, e->buf, sizeof e->buf);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == ECONNRESET) {
            echo_close(e, idx);
            return;
        }
        die("echo: read");
    }
    if (r == 0) {
        echo_close(e, idx);
        return;
    }
    ssize_t w = write(c->fd, e->buf, (size_t)r);
    if (w < 0) {
        if (errno == EPIPE || errno == ECONNRESET) {
            echo_close(e, idx);
            return;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            die("echo: write");
        w = 0;
    }
    if (w < r) {
        c->pending_len = (size_t)(r - w);
        c->pending = malloc(c->pending_len);
        if (!c->pending)
            die("malloc");
        memcpy(c->pending, e->buf + w, c->pending_len);
        ep_mod(e->ep, c->fd, EPOLLOUT, TAG(ROLE_SERVER, idx));
        return;
    }
    if (e->close_after_echo)
        echo_close(e, idx);
}

void echo_serve_until_stdin(struct echo *e, double deadline)
{
    if (fflush(stdout) != 0)
        die("fflush");
    struct epoll_event in = {.events = EPOLLIN, .data.u64 = TAG(ROLE_STDIN, 0)};
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, 0, &in) != 0) {
        if (errno == EPERM)
            return; /* stdin is a file or /dev/null: nobody to wait for */
        die("epoll_ctl stdin");
    }
    struct epoll_event evs[256];
    for (;;) {
        if (now_sec() > deadline)
            fail("--hold-echo: stdin still open at the timeout");
        int n = epoll_wait(e->ep, evs, 256, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            switch (TAG_ROLE(tag)) {
            case ROLE_LISTENER: echo_accept(e); break;
            case ROLE_SERVER: echo_event(e, TAG_IDX(tag), evs[i].events); break;
            case ROLE_STDIN: return;
            default: break; /* our own clients are closed or finished */
            }
        }
    }
}
