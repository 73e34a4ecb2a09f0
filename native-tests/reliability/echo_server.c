/* The destination of the soak and hostile suites: one epoll loop in a child process, so that
 * the driver, the server and the proxy each hold about one descriptor per pair.
 * Echoes every connection (with back-pressure: a full 64 KiB buffer stops reading) and passes
 * EOF on after the data; a connection that starts with ECHO_SERVER_FLOOD is flooded with
 * pattern bytes instead, for clients that never read. */
#include "echo_server.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { BUF = 65536 };

struct peer {
    int fd, flood, started, eof, shut;
    size_t have, off;
    uint64_t flooded;
    uint8_t buf[BUF];
};

static void watch(int ep, int op, struct peer *p)
{
    uint32_t events = 0;
    if (!p->eof && !p->flood && p->have < BUF)
        events |= EPOLLIN;
    if (p->flood)
        events |= EPOLLIN | EPOLLOUT; /* reads are discarded; EOF or error ends it */
    else if (p->have > p->off || (p->eof && !p->shut))
        events |= EPOLLOUT;
    struct epoll_event e = { .events = events, .data.ptr = p };
    epoll_ctl(ep, op, p->fd, &e);
}

static void drop(int ep, struct peer *p)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
    close(p->fd);
    free(p);
}

/* Returns 0 when the peer is finished and was dropped. */
static int serve(int ep, struct peer *p, uint32_t events)
{
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (p->flood) {
            uint8_t scratch[4096];
            ssize_t r = recv(p->fd, scratch, sizeof scratch, 0);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                drop(ep, p);
                return 0;
            }
        } else if (!p->eof && p->have < BUF) {
            ssize_t r = recv(p->fd, p->buf + p->have, BUF - p->have, 0);
            if (r > 0) {
                if (!p->started && r >= (ssize_t)sizeof ECHO_SERVER_FLOOD - 1
                    && memcmp(p->buf, ECHO_SERVER_FLOOD, sizeof ECHO_SERVER_FLOOD - 1) == 0) {
                    p->flood = 1;
                    p->have = p->off = 0;
                }
                p->started = 1;
                if (!p->flood)
                    p->have += (size_t)r;
            } else if (r == 0) {
                p->eof = 1;
            } else if (errno != EAGAIN && errno != EINTR) {
                drop(ep, p);
                return 0;
            }
        }
    }
    if (p->flood) {
        uint8_t chunk[16384];
        pattern_fill(77, p->flooded, chunk, sizeof chunk);
        ssize_t w = send(p->fd, chunk, sizeof chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0)
            p->flooded += (uint64_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            drop(ep, p);
            return 0;
        }
    } else if (p->have > p->off) {
        ssize_t w = send(p->fd, p->buf + p->off, p->have - p->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p->off += (size_t)w;
            if (p->off == p->have)
                p->off = p->have = 0;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            drop(ep, p);
            return 0;
        }
    }
    if (!p->flood && p->eof && p->have == 0 && !p->shut) {
        shutdown(p->fd, SHUT_WR);
        p->shut = 1;
    }
    if (p->shut) {
        drop(ep, p);
        return 0;
    }
    return 1;
}

static void run(int lfd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[512];
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        _exit(1);
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        for (int i = 0; i < n; i++) {
            struct peer *p = evs[i].data.ptr;
            if (!p) {
                /* A bounded batch, so that a flood of connects cannot starve the echoes. */
                int fd;
                for (int k = 0; k < 64 && (fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0; k++) {
                    struct peer *q = calloc(1, sizeof *q);
                    if (!q) {
                        close(fd);
                        continue;
                    }
                    q->fd = fd;
                    set_nodelay(fd);
                    watch(ep, EPOLL_CTL_ADD, q);
                }
                continue;
            }
            if (serve(ep, p, evs[i].events))
                watch(ep, EPOLL_CTL_MOD, p);
        }
    }
}

pid_t echo_server_start(const struct sockaddr_in *addr)
{
    int lfd = listen_in(-1, addr, 4096);
    set_nonblocking(lfd);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        run(lfd);
        _exit(0);
    }
    close(lfd);
    return pid;
}

void echo_server_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}
