/* Client side of the echo chains: what connection i returns is sent into connection i+1
 * (the destination echoes), so data crosses the proxy 2*n times before it comes back. */
#include "grader.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINK_CAP 65536

struct link { uint8_t buf[LINK_CAP]; size_t start, end; };

int open_chain(struct ctx *c, int *fds, int n) {
    for (int i = 0; i < n; i++)
        if ((fds[i] = connect_proxy(c)) < 0) { close_all(fds, i); return -1; }
    return 0;
}

void close_all(int *fds, int n) {
    for (int i = 0; i < n; i++) if (fds[i] >= 0) { close(fds[i]); fds[i] = -1; }
}

static void feed_blocked(struct blocked_writer *bw) {
    static uint8_t junk[65536];
    while (bw->written < UNBOUNDED_LIMIT) {
        ssize_t w = send(bw->fd, junk, sizeof junk, MSG_NOSIGNAL);
        if (w > 0) { bw->written += (size_t)w; bw->last_progress = now(); continue; }
        if (w < 0 && errno != EAGAIN && errno != EINTR) bw->closed = 1;
        return;
    }
}

int run_chain(struct ctx *c, int *fds, int n, const uint8_t *data, size_t len, double timeout_s,
              struct blocked_writer *bw) {
    struct link *links = calloc((size_t)n, sizeof *links);
    struct pollfd *p = calloc((size_t)n + 1, sizeof *p);
    if (!links || !p) { free(links); free(p); return fail(c, "out of memory"); }
    size_t in_off = 0, out_off = 0;
    double start = now(), last_progress = start;
    int rc = 0;
    while (out_off < len && rc == 0) {
        for (int i = 0; i < n; i++) {
            int has_input = i == 0 ? in_off < len : links[i - 1].end > links[i - 1].start;
            int has_room = i == n - 1 || links[i].end < LINK_CAP;
            p[i] = (struct pollfd){ .fd = fds[i], .events = (short)((has_room ? POLLIN : 0) | (has_input ? POLLOUT : 0)) };
        }
        int np = n;
        if (bw && !bw->closed && bw->written < UNBOUNDED_LIMIT) p[np++] = (struct pollfd){ .fd = bw->fd, .events = POLLOUT };
        double t = now();
        if (t - last_progress > 10) { rc = fail(c, "no progress for 10 s: %zu of %zu bytes came back", out_off, len); break; }
        if (t - start > timeout_s) { rc = fail(c, "only %zu of %zu bytes came back within %.0f s", out_off, len, timeout_s); break; }
        if (poll(p, (nfds_t)np, 200) < 0 && errno != EINTR) { rc = fail(c, "poll: %s", strerror(errno)); break; }
        if (np > n && p[n].revents) feed_blocked(bw);
        for (int i = 0; i < n && rc == 0; i++) {
            if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                uint8_t tmp[LINK_CAP];
                uint8_t *dst = i == n - 1 ? tmp : links[i].buf + links[i].end;
                size_t room = i == n - 1 ? sizeof tmp : LINK_CAP - links[i].end;
                ssize_t r = room ? read(fds[i], dst, room) : 0;
                if (room && r == 0) { rc = fail(c, "connection %d of %d was closed by the proxy mid-stream", i + 1, n); break; }
                if (r < 0 && errno != EAGAIN && errno != EINTR) { rc = fail(c, "connection %d of %d: read: %s", i + 1, n, strerror(errno)); break; }
                if (r > 0) {
                    last_progress = now();
                    if (i < n - 1) links[i].end += (size_t)r;
                    else if ((size_t)r > len - out_off || memcmp(tmp, data + out_off, (size_t)r) != 0) {
                        rc = fail(c, "wrong data came back at byte %zu", out_off);
                        break;
                    } else out_off += (size_t)r;
                }
            }
            if (p[i].revents & POLLOUT) {
                const uint8_t *src = i == 0 ? data + in_off : links[i - 1].buf + links[i - 1].start;
                size_t avail = i == 0 ? len - in_off : links[i - 1].end - links[i - 1].start;
                ssize_t w = send(fds[i], src, avail, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN && errno != EINTR) { rc = fail(c, "connection %d of %d: write: %s", i + 1, n, strerror(errno)); break; }
                if (w > 0) {
                    last_progress = now();
                    if (i == 0) in_off += (size_t)w;
                    else if ((links[i - 1].start += (size_t)w) == links[i - 1].end) links[i - 1].start = links[i - 1].end = 0;
                }
            }
        }
        for (int i = 0; i < n - 1; i++)   /* keep room at the end of each link */
            if (links[i].start > 0 && links[i].end == LINK_CAP) {
                memmove(links[i].buf, links[i].buf + links[i].start, links[i].end - links[i].start);
                links[i].end -= links[i].start;
                links[i].start = 0;
            }
    }
    free(links);
    free(p);
    return rc;
}

int echo_once(struct ctx *c, int fd, const void *msg, size_t n, double timeout_s) {
    uint8_t back[256];
    if (n > sizeof back) return fail(c, "echo message too long");
    if (write_all(fd, msg, n, timeout_s) < 0) return fail(c, "write through the proxy failed: %s", strerror(errno));
    if (read_exact(fd, back, n, timeout_s) < 0) return fail(c, "no echo within %.0f s (connection closed or stalled)", timeout_s);
    if (memcmp(back, msg, n) != 0) return fail(c, "the echo differs from what was sent");
    return 0;
}
