/* tcpproxy written against libasync (the SFS toolkit's event library): the classic
 * assignment, kept as a benchmark peer.  Usage: tcpproxy host port listen-port
 *
 * Each pair (pair.C) is a handful of callbacks registered with fdcb(): per direction a
 * reader (suio input, at most HIGH_WATER bytes held), a writer (suio output) and a stall
 * timer (timecb).  EOF or a read error: flush, shutdown(SHUT_WR), keep forwarding the other
 * way; both directions finished: close; a write error or a stall: close at once with a reset.
 * This file: descriptor limits, the listener, main.  libasync sizes its descriptor table
 * once, at start-up, from the soft RLIMIT_NOFILE; see raise_fd_limit and clamp_fd_limit for
 * how this peer keeps every descriptor inside it. */
#include "pair.h"
#include "sfs_select.h"
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/resource.h>

static const rlim_t FD_TABLE_MAX = 0x18000;   // libasync's own ceiling (FDLIM_MAX)

// libasync's sysconf.h may define sockaddr_storage as plain sockaddr: a union of its own.
static union { sockaddr sa; sockaddr_in in4; sockaddr_in6 in6; } dest_addr;
static socklen_t dest_len;
static int listen_fd = -1;

static void accept_clients ();
static void resume_accepting ();

/* Runs before libasync's own initialiser (priority 101 precedes default-priority static
 * constructors): the table libasync sizes from the soft limit then covers the hard limit. */
__attribute__ ((constructor (101))) static void
raise_fd_limit ()
{
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) < 0)
    return;
  rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FD_TABLE_MAX ? FD_TABLE_MAX : rl.rlim_max;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = want;
    setrlimit (RLIMIT_NOFILE, &rl);   // best effort: the clamp below holds either way
  }
}

/* libasync raises the soft limit past its table after sizing it (as root, to FDLIM_MAX), and
 * asserts on a descriptor beyond the table.  Pinning the soft limit to the table size turns
 * "out of table" into EMFILE from accept/socket: refused clients instead of a crash. */
static int
clamp_fd_limit ()
{
  struct rlimit rl;
  int table = sfs_core::selector_t::maxfd;
  if (getrlimit (RLIMIT_NOFILE, &rl) < 0)
    return -1;
  rl.rlim_cur = table;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
    rl.rlim_cur = rl.rlim_max;
  return setrlimit (RLIMIT_NOFILE, &rl) < 0 ? -1 : table;
}


static void
tune (int fd)
{
  int one = 1;
  make_async (fd);
  close_on_exec (fd);
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt (fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof one);
}

// Out of descriptors: stop watching the listener for a moment; clients wait in the backlog.
static void
pause_accepting ()
{
  fdcb (listen_fd, selread, NULL);
  delaycb (0, 100 * 1000 * 1000, wrap (&resume_accepting));
}

static void
resume_accepting ()
{
  fdcb (listen_fd, selread, wrap (&accept_clients));
}

static void
accept_clients ()
{
  for (int i = 0; i < 64; i++) {   // bounded: other callbacks get their turn
    int c = accept (listen_fd, NULL, NULL);
    if (c < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        pause_accepting ();
      return;   // EAGAIN: drained; ECONNABORTED and the like: next wake-up
    }
    int s = socket (dest_addr.sa.sa_family, SOCK_STREAM, 0);
    if (s < 0) {
      struct linger lg = { 1, 0 };
      setsockopt (c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      close (c);
      pause_accepting ();
      return;
    }
    tune (c);
    tune (s);
    start_pair (c, s, &dest_addr.sa, dest_len);
  }
}

static int
parse_port (const char *s)
{
  char *e;
  errno = 0;
  long v = strtol (s, &e, 10);
  if (!*s || *e || errno || v < 1 || v > 65535)
    return -1;
  return (int) v;
}

static int
listen_on (int port)
{
  int one = 1, zero = 0;
  sockaddr_in6 a6;
  bzero (&a6, sizeof a6);
  a6.sin6_family = AF_INET6;
  a6.sin6_port = htons (port);
  a6.sin6_addr = in6addr_any;
  int fd = socket (AF_INET6, SOCK_STREAM, 0);
  if (fd >= 0) {
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind (fd, (sockaddr *) &a6, sizeof a6) == 0 && listen (fd, 4096) == 0)
      return fd;
    close (fd);
  }
  fd = inetsocket (SOCK_STREAM, port);   // no IPv6 here: IPv4 any (libasync sets SO_REUSEADDR)
  if (fd >= 0 && listen (fd, 4096) < 0) {
    close (fd);
    fd = -1;
  }
  return fd;
}

int
main (int argc, char **argv)
{
  setprogname (argv[0]);
  if (argc != 4) {
    fprintf (stderr, "usage: tcpproxy host port listen-port\n");
    return 2;
  }
  int port = parse_port (argv[2]), lport = parse_port (argv[3]);
  if (port < 0 || lport < 0) {
    fprintf (stderr, "tcpproxy: bad port '%s' (1 to 65535)\n", port < 0 ? argv[2] : argv[3]);
    return 2;
  }
  addrinfo hints, *res;
  bzero (&hints, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  if (int e = getaddrinfo (argv[1], argv[2], &hints, &res)) {
    fprintf (stderr, "tcpproxy: %s: %s\n", argv[1], gai_strerror (e));
    return 1;
  }
  if (res->ai_addrlen > sizeof dest_addr) {
    fprintf (stderr, "tcpproxy: %s: unsupported address family\n", argv[1]);
    return 1;
  }
  memcpy (&dest_addr, res->ai_addr, res->ai_addrlen);
  dest_len = res->ai_addrlen;
  freeaddrinfo (res);

  // libasync ignores SIGPIPE itself (async_init); a write to a closed peer is EPIPE here.
  // Its select(2) loop scans the whole table every turn: default to epoll unless
  // SFS_OPTIONS says otherwise ('e' is libasync's own letter for epoll).
  if (!getenv ("SFS_OPTIONS") && sfs_core::set_select_policy (sfs_core::SELECT_EPOLL) < 0)
    fprintf (stderr, "tcpproxy: epoll unavailable, using select\n");
  int table = clamp_fd_limit ();
  if ((listen_fd = listen_on (lport)) < 0) {
    fprintf (stderr, "tcpproxy: cannot listen on port %d: %s\n", lport, strerror (errno));
    return 1;
  }
  make_async (listen_fd);
  close_on_exec (listen_fd);
  fprintf (stderr, "tcpproxy (libasync): listening on port %d, forwarding to %s:%s; "
           "%zu B per direction, stall timeout %ld s, fd table %d\n",
           lport, argv[1], argv[2], HIGH_WATER, (long) STALL_SECONDS, table);
  resume_accepting ();
  amain ();
}
