/* What the grader needs beyond POSIX, the Linux way and a POSIX stand-in.  macOS builds
 * the stand-ins; make test also builds them on Linux (-DGRADER_PORTABLE, the
 * test-tcpproxy-portable binary) and grades with that, so the code a Mac compiles runs here. */
#ifndef GRADER_COMPAT_H
#define GRADER_COMPAT_H
#include <sys/socket.h>
#include <sys/types.h>

#if defined(__linux__) && !defined(GRADER_PORTABLE)
#define GRADER_LINUX 1
#else
#define GRADER_LINUX 0
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0   /* macOS SDKs before it: main() ignores SIGPIPE anyway */
#endif

int socket_cloexec(int domain);        /* a close-on-exec stream socket (SOCK_CLOEXEC, or fcntl after) */
int accept_nonblock(int lfd);          /* accept4(NONBLOCK|CLOEXEC), or accept + fcntl */
int pipe_cloexec(int fds[2]);          /* pipe2(O_CLOEXEC), or pipe + fcntl */
void die_with_parent(int sig);         /* Linux: PR_SET_PDEATHSIG; elsewhere nothing to ask for */
int pid_event_fd(pid_t pid);           /* Linux: a pidfd, readable when pid exits; elsewhere -1 (poll instead) */
/* 1 once pid itself listens on the TCP port: on Linux a LISTEN entry of /proc/net/tcp{,6}
 * whose socket is one of pid's descriptors (no probe connection; another program that took the
 * port, another test run on the machine say, is not mistaken for the proxy, which then fails
 * to bind and is started again on another port); elsewhere a bind probe on 127.0.0.1
 * (EADDRINUSE: taken), bound taken as listening. */
int port_listened_by(pid_t pid, int port);
/* The resident size in KB of every process in the group; -1 if it cannot be read. */
long group_rss_kb(pid_t pgid);

#endif
