/* The per-OS halves of compat.h. */
#include "grader.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if GRADER_LINUX
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif
#include <signal.h>

#if GRADER_LINUX
int socket_cloexec(int domain) { return socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0); }
int accept_nonblock(int lfd) { return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }
int pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
void die_with_parent(int sig) { prctl(PR_SET_PDEATHSIG, sig); }

int pid_event_fd(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* 1 if pid holds the socket with this inode (a readlink of each of its descriptors). */
static int holds_socket(pid_t pid, unsigned long inode) {
    char dir[64], path[96], target[64], want[48];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%s/%.20s", dir, e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
            target[n] = 0;
            found = strcmp(target, want) == 0;
        }
    }
    closedir(d);
    return found;
}

int port_listened_by(pid_t pid, int port) {
    const char *files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
    char line[512];
    for (int f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "r");
        if (!fp) continue;
        int found = 0;
        while (!found && fgets(line, sizeof line, fp)) {
            unsigned lport, state;
            unsigned long inode;
            if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu",
                       &lport, &state, &inode) == 3)
                found = (int)lport == port && state == 0x0A && holds_socket(pid, inode);   /* TCP_LISTEN */
        }
        fclose(fp);
        if (found) return 1;
    }
    return 0;
}

static long rss_of(const char *pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%.20s/status", pid);
    FILE *fp = fopen(path, "r");
    long kb = 0;
    if (!fp) return 0;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
    fclose(fp);
    return kb;
}

long group_rss_kb(pid_t pgid) {
    DIR *d = opendir("/proc");
    long total = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%.20s/stat", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = 0;
        char *p = strrchr(buf, ')');   /* the command name may contain spaces */
        int pgrp;
        if (p && sscanf(p + 1, " %*c %*d %d", &pgrp) == 1 && pgrp == pgid) total += rss_of(e->d_name);
    }
    closedir(d);
    return total;
}
#else
static int cloexec(int fd) {
    if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) { close(fd); return -1; }
    return fd;
}

int socket_cloexec(int domain) { return cloexec(socket(domain, SOCK_STREAM, 0)); }

int accept_nonblock(int lfd) {
    int fd = cloexec(accept(lfd, NULL, NULL));
    if (fd >= 0 && set_nonblock(fd, 1) < 0) { close(fd); return -1; }
    return fd;
}

int pipe_cloexec(int fds[2]) {
    if (pipe(fds) < 0) return -1;
    if (cloexec(fds[0]) < 0) { close(fds[1]); return -1; }
    if (cloexec(fds[1]) < 0) { close(fds[0]); return -1; }
    return 0;
}

void die_with_parent(int sig) { (void)sig; }   /* the grader kills its process groups itself */

int pid_event_fd(pid_t pid) { (void)pid; return -1; }

int port_listened_by(pid_t pid, int port) {
    (void)pid;   /* no /proc: whoever has it bound is taken to be the proxy */
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    int taken = bind(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

long group_rss_kb(pid_t pgid) {
    FILE *ps = popen("ps -A -o pgid= -o rss=", "r");   /* POSIX ps: Linux procps and macOS alike */
    if (!ps) return -1;
    long total = 0, group, kb;
    int rows = 0;
    while (fscanf(ps, " %ld %ld", &group, &kb) == 2) {
        rows++;
        if (group == (long)pgid) total += kb;
    }
    return pclose(ps) == 0 && rows > 0 ? total : -1;
}
#endif
