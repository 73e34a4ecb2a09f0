/* The destination server: one thread, epoll, for the phases that need many connections.
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
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define QMAX 64
#define BUFSZ 65536

struct conn { int fd, eof; enum dest_mode mode; size_t len, off; uint8_t buf[BUFSZ]; };

struct destsrv {
    int lfd, epfd, stopfd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum dest_mode queue[QMAX];
    int qhead, qlen, accepted, closed;
    struct conn **conns;
    int nconns, capconns;
};

static void drop(struct destsrv *d, struct conn *k) {
    epoll_ctl(d->epfd, EPOLL_CTL_DEL, k->fd, NULL);
    close(k->fd);
    k->fd = -1;
    pthread_mutex_lock(&d->mu);
    d->closed++;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void rearm(struct destsrv *d, struct conn *k) {
    unsigned ev = 0;
    if (k->mode == DEST_ECHO) ev = k->len > k->off ? EPOLLOUT : EPOLLIN;
    if (k->mode == DEST_STREAM) ev = EPOLLOUT | (k->eof ? 0 : EPOLLIN);
    struct epoll_event e = { .events = ev, .data.ptr = k };
    epoll_ctl(d->epfd, EPOLL_CTL_MOD, k->fd, &e);
}

static void on_accept(struct destsrv *d) {
    for (;;) {
        int fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        struct conn *k = malloc(sizeof *k);
        if (!k) { close(fd); return; }
        k->fd = fd; k->eof = 0; k->len = k->off = 0;
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
        struct epoll_event e = { .events = 0, .data.ptr = k };
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &e) < 0) { close(fd); free(k); continue; }   /* the phase will time out */
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
        if (ev & (EPOLLERR | EPOLLHUP)) drop(d, k);
        return;
    }
    if (k->mode == DEST_STREAM) {
        char junk[4096];
        if (ev & EPOLLIN && !k->eof) {
            ssize_t n;
            while ((n = read(k->fd, junk, sizeof junk)) > 0) {}
            if (n == 0) { k->eof = 1; rearm(d, k); }
            else if (n < 0 && errno != EAGAIN) { drop(d, k); return; }
        }
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            ssize_t n = send(k->fd, k->buf, BUFSZ, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN) drop(d, k);
        }
        return;
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR) && k->len == k->off) {
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
    struct epoll_event evs[128];
    for (;;) {
        int n = epoll_wait(d->epfd, evs, 128, 1000);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) return NULL;   /* stop requested */
            if (evs[i].data.ptr == d) on_accept(d);
            else on_event(d, evs[i].data.ptr, evs[i].events);
        }
    }
    return NULL;
}

struct destsrv *destsrv_start(int lfd) {
    struct destsrv *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->lfd = lfd;
    set_nonblock(lfd, 1);
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->stopfd = eventfd(0, EFD_CLOEXEC);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    struct epoll_event el = { .events = EPOLLIN, .data.ptr = d }, es = { .events = EPOLLIN, .data.ptr = NULL };
    if (d->epfd < 0 || d->stopfd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, lfd, &el) < 0 ||
        epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->stopfd, &es) < 0 || pthread_create(&d->thread, NULL, loop, d) != 0) {
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
    uint64_t one = 1;
    if (write(d->stopfd, &one, sizeof one) < 0) {}
    pthread_join(d->thread, NULL);
    for (int i = 0; i < d->nconns; i++) { if (d->conns[i]->fd >= 0) close(d->conns[i]->fd); free(d->conns[i]); }
    free(d->conns);
    close(d->epfd);
    close(d->stopfd);
    free(d);
}
