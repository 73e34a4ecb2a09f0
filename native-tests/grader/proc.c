/* Child processes: the proxy under test, started per phase in its own process group so
 * that everything it forks (socat does) is killed with it. */
#include "grader.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TRACKED 16
static volatile pid_t tracked[MAX_TRACKED];   /* process groups to kill if we die */

static void track(pid_t pgid, int on) {
    for (int i = 0; i < MAX_TRACKED; i++)
        if (on ? tracked[i] == 0 : tracked[i] == pgid) { tracked[i] = on ? pgid : 0; return; }
}

void kill_all_children(void) {   /* async-signal-safe */
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] > 0) kill(-tracked[i], SIGKILL);
}

int wait_pid_exit(pid_t pid, double timeout_s, int *status) {
    double end = now() + timeout_s;
    int pfd = pid_event_fd(pid);   /* an event, where the kernel has it */
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) { if (pfd >= 0) close(pfd); return 1; }
        if (r < 0 && errno != EINTR) { if (pfd >= 0) close(pfd); *status = 0; return 1; }
        double left = end - now();
        if (left <= 0) { if (pfd >= 0) close(pfd); return 0; }
        if (pfd >= 0) wait_fd(pfd, POLLIN, left);
        else sleep_s(left < 0.005 ? left : 0.005);
    }
}

static pid_t spawn(char **argv, int out_fd) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setpgid(0, 0);
        die_with_parent(SIGKILL);   /* never outlive the grader */
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(out_fd >= 0 ? out_fd : null, 1);
        dup2(out_fd >= 0 ? out_fd : null, 2);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "test-tcpproxy: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    track(pid, 1);
    return pid;
}

pid_t start_proxy(struct ctx *c) {
    char dport[16], lport[16];
    char *argv[64];
    int argc = 0;
    argv[argc++] = proxy_argv[0];
    argv[argc++] = "127.0.0.1";
    argv[argc++] = dport;
    argv[argc++] = lport;
    for (int i = 1; i < proxy_argc && argc < 63; i++) argv[argc++] = proxy_argv[i];
    argv[argc] = NULL;
    snprintf(dport, sizeof dport, "%d", c->dest_port);
    for (int attempt = 0; attempt < 5; attempt++) {   /* another program may take the port first */
        c->proxy_port = pick_free_port();
        snprintf(lport, sizeof lport, "%d", c->proxy_port);
        pid_t pid = spawn(argv, opt_verbose ? 2 : -1);
        if (pid < 0) { fail(c, "fork: %s", strerror(errno)); return 0; }
        double end = now() + 15;
        int status = 0, exited = 0;
        while (now() < end) {
            if (port_listened_by(pid, c->proxy_port)) {
                /* A bind probe sees the port bound, not yet listening: give listen() its moment. */
                if (!GRADER_LINUX) sleep_s(0.05);
                c->proxy_pid = pid;
                return pid;
            }
            if (waitpid(pid, &status, WNOHANG) == pid) { exited = 1; break; }
            sleep_s(0.002);   /* polls: the kernel offers no event for "someone listens" */
        }
        track(pid, 0);
        kill(-pid, SIGKILL);
        if (!exited) { waitpid(pid, &status, 0); fail(c, "proxy did not listen on port %d within 15 s", c->proxy_port); return 0; }
        vlog("proxy exited at start-up (status %d), retrying", status);
        if (attempt == 4) fail(c, "proxy exited at start-up with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return 0;
}

int proxy_alive(struct ctx *c) {
    int status;
    return c->proxy_pid > 0 && waitpid(c->proxy_pid, &status, WNOHANG) == 0;
}

int stop_proxy(struct ctx *c) {
    pid_t pid = c->proxy_pid;
    if (pid <= 0) return 0;
    c->proxy_pid = 0;
    int status = 0, rc = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
        char then[sizeof c->reason];   /* the crash explains whatever the phase saw: say it first */
        snprintf(then, sizeof then, "%s", c->reason);
        c->reason[0] = 0;
        rc = fail(c, "the proxy died during the phase (%s %d)%s%.300s", WIFSIGNALED(status) ? "signal" : "exit status",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), then[0] ? ": " : "", then);
    } else {
        kill(-pid, SIGTERM);
        if (!wait_pid_exit(pid, 5, &status)) {
            figure(c, "proxy ignored SIGTERM for 5 s, killed");
            kill(-pid, SIGKILL);
            wait_pid_exit(pid, 5, &status);
        } else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM) {
            rc = fail(c, "the proxy crashed on SIGTERM (signal %d)", WTERMSIG(status));
        } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 128 + SIGTERM) {
            rc = fail(c, "the proxy exited with status %d on SIGTERM", WEXITSTATUS(status));
        }
    }
    kill(-pid, SIGKILL);   /* whatever it forked */
    track(pid, 0);
    return rc;
}

long proxy_rss_kb(struct ctx *c) { return group_rss_kb(c->proxy_pid); }

/* Runs argv with a time limit, capturing stdout+stderr; for the bad-command-line phase. */
int run_captured(char **argv, double timeout_s, char *out, size_t outsz, int *status) {
    int pfd[2];
    if (pipe_cloexec(pfd) < 0) return -1;
    pid_t pid = spawn(argv, pfd[1]);
    close(pfd[1]);
    if (pid < 0) { close(pfd[0]); return -1; }
    set_nonblock(pfd[0], 1);
    size_t used = 0;
    double end = now() + timeout_s;
    for (;;) {   /* read until the child closes the pipe or time runs out */
        ssize_t n = read(pfd[0], out + used, outsz - 1 - used);
        if (n > 0) { used += (size_t)n; if (used + 1 < outsz) continue; }
        if (n == 0 || used + 1 >= outsz) break;
        if (n < 0 && errno != EAGAIN && errno != EINTR) break;
        if (now() >= end || wait_fd(pfd[0], POLLIN, end - now()) <= 0) break;
    }
    out[used] = 0;
    close(pfd[0]);
    int exited = wait_pid_exit(pid, end - now() > 0 ? end - now() : 0, status);
    kill(-pid, SIGKILL);
    if (!exited) wait_pid_exit(pid, 5, status);
    track(pid, 0);
    return exited ? 0 : 1;   /* 1: still running at the deadline */
}
