/* test-tcpproxy: grades any proxy started as `PROXY dest-host dest-port listen-port [args]`.
 * Each phase runs in its own process with its own destination server and a fresh proxy.
 * Phases that mostly wait run side by side; CPU-heavy ones run one at a time. */
#include "grader.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int opt_verbose;
double opt_timeout = 10;
char **proxy_argv;
int proxy_argc;

#define MAX_PHASES 32
struct slot { const struct phase *ph; pid_t pid; int pipe_rd; int done, passed; char reason[600], figures[600]; };
static struct slot slots[MAX_PHASES];
static int nslots;

static void usage(void) {
    fprintf(stderr,
        "usage: test-tcpproxy [--only N,M] [--extra] [--verbose] [--timeout SECONDS] PROXY [extra proxy args]\n"
        "  Runs PROXY 127.0.0.1 DEST-PORT LISTEN-PORT [extra proxy args] once per phase.\n"
        "  --only N,M   run only these phases (1-10 classic, 11-%d extra)\n"
        "  --extra      also run the extra phases\n"
        "  --timeout S  the stall timeout the proxy is expected to have (default 10)\n",
        n_classic_phases + n_extra_phases);
    exit(2);
}

static void on_phase_signal(int sig) {   /* in a phase process: take the proxy down with us */
    (void)sig;
    kill_all_children();
    _exit(3);
}

static void run_phase_process(struct slot *s, int wr) {
    die_with_parent(SIGTERM);
    signal(SIGTERM, on_phase_signal);
    signal(SIGINT, on_phase_signal);
    signal(SIGALRM, on_phase_signal);
    alarm(300);   /* no phase may run away */
    struct ctx c;
    memset(&c, 0, sizeof c);
    int rc = 0;
    c.dest_lfd = listen_on("127.0.0.1", 0, s->ph->flags & PH_DEST_UNLISTENED ? 0 : 4096);
    if (c.dest_lfd < 0) rc = fail(&c, "cannot create the destination listener: %s", strerror(errno));
    c.dest_port = bound_port(c.dest_lfd);
    if (rc == 0 && !(s->ph->flags & PH_NO_PROXY) && !start_proxy(&c)) rc = -1;
    if (rc == 0) {
        vlog("%s: proxy pid %d on port %d, destination port %d", s->ph->name, (int)c.proxy_pid, c.proxy_port, c.dest_port);
        rc = s->ph->run(&c);
    }
    if (stop_proxy(&c) < 0) rc = -1;
    char out[1200];
    int n = snprintf(out, sizeof out, "%c%s\n%s", rc == 0 ? 'P' : 'F', c.reason, c.figures);
    if (write(wr, out, (size_t)n) < 0) _exit(4);
    _exit(0);
}

static void start_slot(struct slot *s) {
    int p[2];
    if (pipe(p) < 0) { perror("pipe"); exit(1); }
    fflush(NULL);
    s->pid = fork();
    if (s->pid < 0) { perror("fork"); exit(1); }
    if (s->pid == 0) { close(p[0]); run_phase_process(s, p[1]); }
    close(p[1]);
    s->pipe_rd = p[0];
}

static void finish_slot(struct slot *s, int status) {
    char buf[1300];
    ssize_t n = read(s->pipe_rd, buf, sizeof buf - 1);   /* the child wrote it all before exiting */
    close(s->pipe_rd);
    s->done = 1;
    if (n <= 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
            snprintf(s->reason, sizeof s->reason, "the phase did not finish within 300 s, or was interrupted");
        else
            snprintf(s->reason, sizeof s->reason, "the grader's phase process died (status %d)", status);
        return;
    }
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    if (nl) { *nl = 0; snprintf(s->figures, sizeof s->figures, "%.500s", nl + 1); }
    s->passed = buf[0] == 'P';
    snprintf(s->reason, sizeof s->reason, "%.500s", buf + 1);
}

static void on_main_signal(int sig) {
    for (int i = 0; i < nslots; i++) if (slots[i].pid > 0 && !slots[i].done) kill(slots[i].pid, SIGTERM);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void select_phases(const char *only, int extra) {
    int total = n_classic_phases + n_extra_phases;
    int chosen[MAX_PHASES] = { 0 };
    if (only) {
        char *copy = strdup(only), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char *e;
            long v = strtol(t, &e, 10);
            if (*e || v < 1 || v > total) { fprintf(stderr, "test-tcpproxy: no phase %s\n", t); usage(); }
            chosen[v - 1] = 1;
        }
        free(copy);
    } else {
        for (int i = 0; i < total; i++) chosen[i] = i < n_classic_phases || extra;
    }
    for (int i = 0; i < total; i++)
        if (chosen[i]) slots[nslots++].ph = i < n_classic_phases ? &classic_phases[i] : &extra_phases[i - n_classic_phases];
}

int main(int argc, char **argv) {
    const char *only = NULL;
    int extra = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--extra")) extra = 1;
        else if (!strcmp(argv[i], "--verbose")) opt_verbose = 1;
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            char *e;
            opt_timeout = strtod(argv[++i], &e);
            if (*e || !(opt_timeout > 0)) usage();
        } else usage();
    }
    if (i >= argc) usage();
    proxy_argv = argv + i;
    proxy_argc = argc - i;
    if (strchr(proxy_argv[0], '/') && access(proxy_argv[0], X_OK) < 0) { fprintf(stderr, "test-tcpproxy: %s: %s\n", proxy_argv[0], strerror(errno)); return 2; }
    select_phases(only, extra);
    struct rlimit rl;   /* the extra phases hold a few thousand sockets */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_main_signal);
    signal(SIGTERM, on_main_signal);
    setvbuf(stdout, NULL, _IOLBF, 0);

    int busy_running = 0, next_busy = 0, printed = 0, passed = 0, failed = 0, running = 0;
    for (int k = 0; k < nslots; k++)
        if (!(slots[k].ph->flags & PH_BUSY)) { start_slot(&slots[k]); running++; }
    while (printed < nslots) {
        while (!busy_running && next_busy < nslots) {   /* one busy phase at a time */
            if ((slots[next_busy].ph->flags & PH_BUSY) && !slots[next_busy].pid) {
                start_slot(&slots[next_busy]); busy_running = 1; running++;
            }
            next_busy++;
        }
        if (running == 0) break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) { if (errno == EINTR) continue; break; }
        for (int k = 0; k < nslots; k++)
            if (slots[k].pid == pid && !slots[k].done) {
                finish_slot(&slots[k], status);
                running--;
                if (slots[k].ph->flags & PH_BUSY) busy_running = 0;
            }
        for (; printed < nslots && slots[printed].done; printed++) {   /* results in phase order */
            struct slot *s = &slots[printed];
            if (s->figures[0]) { fflush(stdout); fprintf(stderr, "    # %s\n", s->figures); }
            if (s->passed) { printf("%s: passed\n", s->ph->name); passed++; }
            else { printf("%s: FAILED (%s)\n", s->ph->name, s->reason); failed++; }
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed == nslots ? 0 : 1;
}
