/* The destination server: one thread, epoll (poll elsewhere), for the phases that need many connections.
 * Each accepted connection takes the next queued mode (echo when none is queued):
 *   ECHO   writes back what it reads, closes after EOF;
 *   SINK   never reads (a server that stopped reading);
 *   STREAM writes an endless pattern, discards what it reads, and goes on writing after
 *          EOF: only a write error (the proxy closing the pair) ends it.                 */
#include "grader.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#if GRADER_LINUX
#include <sys/epoll.h>
#endif

#define QMAX 64
#define BUFSZ 65536

struct conn { int fd, eof; unsigned want; enum dest_mode mode; size_t len, off; uint8_t buf[BUFSZ]; };

struct destsrv {
    int lfd, epfd, stop[2];   /* stop: a pipe; a byte in it ends the loop */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum dest_mode queue[QMAX];
    int qhead, qlen, accepted, closed;
    struct conn **conns;
    int nconns, capconns;
    struct pollfd *set;   /* poll(2) only: the set of the current round and whose entry each is */
    void **owner;
    int capset;
};

/* Readiness, level-triggered either way: epoll on Linux; elsewhere a poll(2) set rebuilt
 * each round from the connections' wanted events (POLLIN & co. are POLLIN & co. on Linux). */
struct ready { void *ptr; unsigned events; };   /* ptr: a conn, d for the listener, NULL to stop */

static int watch(struct destsrv *d, int fd, void *ptr, unsigned events, int add) {
#if GRADER_LINUX
    struct epoll_event e = { .events = events, .data.ptr = ptr };
    return epoll_ctl(d->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &e);
#else
    (void)d; (void)fd; (void)ptr; (void)events; (void)add;
    return 0;
#endif
}

static void unwatch(struct destsrv *d, int fd) {
#if GRADER_LINUX
    epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
#else
    (void)d; (void)fd;
#endif
}

/* Fills out[] (room for max); returns how many, or -1. */
static int wait_ready(struct destsrv *d, struct ready *out, int max, int timeout_ms) {
#if GRADER_LINUX
    struct epoll_event evs[128];
    int n = epoll_wait(d->epfd, evs, max < 128 ? max : 128, timeout_ms);
    for (int i = 0; i < n; i++) { out[i].ptr = evs[i].data.ptr; out[i].events = evs[i].events; }
    return n;
#else
    if (d->capset < d->nconns + 2) {
        int grown = (d->nconns + 2) * 2;
        struct pollfd *s2 = realloc(d->set, sizeof *d->set * (size_t)grown);
        if (s2) d->set = s2;
        void **o2 = realloc(d->owner, sizeof *d->owner * (size_t)grown);
        if (o2) d->owner = o2;
        if (!s2 || !o2) return -1;
        d->capset = grown;
    }
    struct pollfd *set = d->set;
    void **owner = d->owner;
    int n = 0;
    set[n] = (struct pollfd){ .fd = d->stop[0], .events = POLLIN }; owner[n++] = NULL;
    set[n] = (struct pollfd){ .fd = d->lfd, .events = POLLIN }; owner[n++] = d;
    for (int i = 0; i < d->nconns; i++) {
        struct conn *k = d->conns[i];
        if (k->fd < 0) continue;
        set[n] = (struct pollfd){ .fd = k->fd, .events = (short)k->want }; owner[n++] = k;
    }
    int r = poll(set, (nfds_t)n, timeout_ms);
    if (r <= 0) return r;
    int got = 0;
    for (int i = 0; i < n && got < max; i++)
        if (set[i].revents) { out[got].ptr = owner[i]; out[got].events = (unsigned)set[i].revents; got++; }
    return got;
#endif
}

static void drop(struct destsrv *d, struct conn *k) {
    unwatch(d, k->fd);
    close(k->fd);
    k->fd = -1;
    pthread_mutex_lock(&d->mu);
    d->closed++;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void rearm(struct destsrv *d, struct conn *k) {
    unsigned ev = 0;
    if (k->mode == DEST_ECHO) ev = k->len > k->off ? POLLOUT : POLLIN;
    if (k->mode == DEST_STREAM) ev = POLLOUT | (k->eof ? 0 : POLLIN);
    k->want = ev;
    watch(d, k->fd, k, ev, 0);
}

static void on_accept(struct destsrv *d) {
    for (;;) {
        int fd = accept_nonblock(d->lfd);
        if (fd < 0) return;
        struct conn *k = malloc(sizeof *k);
        if (!k) { close(fd); return; }
        k->fd = fd; k->eof = 0; k->want = 0; k->len = k->off = 0;
        pthread_mutex_lock(&d->mu);
        k->mode = DEST_ECHO;
        if (d->qlen) { k->mode = d->queue[d->qhead]; d->qhead = (d->qhead + 1) % QMAX; d->qlen--; }
        pthread_mutex_unlock(&d->mu);
        if (k->mode == DEST_STREAM) { fill_pattern(k->buf, BUFSZ, 7); k->len = BUFSZ; }
        if (d->nconns == d->capconns) {
            int cap = d->capconns ? d->capconns * 2 : 256;
            struct conn **grown = realloc(d->conns, sizeof *d->conns * (size_t)cap);
            if (!grown) { close(fd); free(k); return; }
            d->conns = grown;
            d->capconns = cap;
        }
        if (watch(d, fd, k, 0, 1) < 0) { close(fd); free(k); continue; }   /* the phase will time out */
        d->conns[d->nconns++] = k;
        rearm(d, k);
        pthread_mutex_lock(&d->mu);
        d->accepted++;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
    }
}

static void on_event(struct destsrv *d, struct conn *k, unsigned ev) {
    if (k->fd < 0) return;
    if (k->mode == DEST_SINK) {   /* never reads; only notices the proxy resetting it */
        if (ev & (POLLERR | POLLHUP)) drop(d, k);
        return;
    }
    if (k->mode == DEST_STREAM) {
        char junk[4096];
        if (ev & POLLIN && !k->eof) {
            ssize_t n;
            while ((n = read(k->fd, junk, sizeof junk)) > 0) {}
            if (n == 0) { k->eof = 1; rearm(d, k); }
            else if (n < 0 && errno != EAGAIN) { drop(d, k); return; }
        }
        if (ev & (POLLOUT | POLLERR | POLLHUP)) {
            ssize_t n = send(k->fd, k->buf, BUFSZ, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN) drop(d, k);
        }
        return;
    }
    if (ev & (POLLIN | POLLHUP | POLLERR) && k->len == k->off) {
        ssize_t n = read(k->fd, k->buf, BUFSZ);
        if (n == 0 || (n < 0 && errno != EAGAIN)) { drop(d, k); return; }   /* EOF: nothing buffered, done */
        if (n > 0) { k->len = (size_t)n; k->off = 0; }
    }
    if (k->len > k->off) {
        ssize_t n = send(k->fd, k->buf + k->off, k->len - k->off, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) { drop(d, k); return; }
        if (n > 0) k->off += (size_t)n;
        if (k->off == k->len) k->off = k->len = 0;
    }
    rearm(d, k);
}

static void *loop(void *arg) {
    struct destsrv *d = arg;
    struct ready evs[128];
    for (;;) {
        int n = wait_ready(d, evs, 128, 1000);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; i++) {
            if (evs[i].ptr == NULL) return NULL;   /* stop requested */
            if (evs[i].ptr == d) on_accept(d);
            else on_event(d, evs[i].ptr, evs[i].events);
        }
    }
    return NULL;
}

struct destsrv *destsrv_start(int lfd) {
    struct destsrv *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->lfd = lfd;
    d->epfd = -1;
    set_nonblock(lfd, 1);
    if (pipe_cloexec(d->stop) < 0) { free(d); return NULL; }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
#if GRADER_LINUX
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (d->epfd < 0 || watch(d, lfd, d, POLLIN, 1) < 0 || watch(d, d->stop[0], NULL, POLLIN, 1) < 0) {
        if (d->epfd >= 0) close(d->epfd);
        close(d->stop[0]); close(d->stop[1]);
        free(d);
        return NULL;
    }
#endif
    if (pthread_create(&d->thread, NULL, loop, d) != 0) {
        if (d->epfd >= 0) close(d->epfd);
        close(d->stop[0]); close(d->stop[1]);
        free(d);
        return NULL;
    }
    return d;
}

void destsrv_next_mode(struct destsrv *d, enum dest_mode m) {
    pthread_mutex_lock(&d->mu);
    if (d->qlen < QMAX) { d->queue[(d->qhead + d->qlen) % QMAX] = m; d->qlen++; }
    pthread_mutex_unlock(&d->mu);
}

static int wait_count(struct destsrv *d, int *field, int count, double timeout_s) {
    double end = now() + timeout_s;
    pthread_mutex_lock(&d->mu);
    while (*field < count && now() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;   /* re-check the deadline at least every 50 ms */
        if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&d->cv, &d->mu, &ts);
    }
    int ok = *field >= count;
    pthread_mutex_unlock(&d->mu);
    return ok;
}

int destsrv_wait_accepted(struct destsrv *d, int count, double t) { return wait_count(d, &d->accepted, count, t); }
int destsrv_wait_closed(struct destsrv *d, int count, double t) { return wait_count(d, &d->closed, count, t); }

int destsrv_accepted(struct destsrv *d) {
    pthread_mutex_lock(&d->mu);
    int n = d->accepted;
    pthread_mutex_unlock(&d->mu);
    return n;
}

void destsrv_stop(struct destsrv *d) {
    if (!d) return;
    char one = 1;
    if (write(d->stop[1], &one, 1) < 0) {}
    pthread_join(d->thread, NULL);
    for (int i = 0; i < d->nconns; i++) { if (d->conns[i]->fd >= 0) close(d->conns[i]->fd); free(d->conns[i]); }
    free(d->conns);
    free(d->set);
    free(d->owner);
    if (d->epfd >= 0) close(d->epfd);
    close(d->stop[0]);
    close(d->stop[1]);
    free(d);
}
