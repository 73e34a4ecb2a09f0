/* tcpproxy written against libasync (the SFS toolkit's event library): the classic
 * assignment, kept as a benchmark peer.  Usage: tcpproxy host port listen-port
 *
 * Each pair is a handful of callbacks registered with fdcb(): per direction a reader
 * (suio input, at most HIGH_WATER bytes held), a writer (suio output) and a stall timer
 * (timecb).  EOF or a read error: flush, shutdown(SHUT_WR), keep forwarding the other way;
 * both directions finished: close; a write error or a stall: close at once with a reset.
 * libasync sizes its descriptor table once, at start-up, from the soft RLIMIT_NOFILE; see
 * raise_fd_limit and clamp_fd_limit for how this peer keeps every descriptor inside it. */
#include "async.h"
#include "sfs_select.h"
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/resource.h>

static const size_t HIGH_WATER = 8192;    // bytes a direction may hold
static const time_t STALL_SECONDS = 10;   // buffered bytes unwritable this long abort the pair
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

class proxy_pair {
  int fd[2];                 // 0: client, 1: server; direction d reads fd[d], writes fd[1-d]
  suio buf[2];               // direction d's bytes in flight
  bool eof[2], shut[2], reading[2], writing[2];
  timecb_t *stall[2];
  timespec progress[2];      // last time direction d wrote a byte, or began holding bytes
  cbv::ptr read_cb[2], write_cb[2];
  bool connected;

  ~proxy_pair () {}

  void watch_read (int d, bool on)
  {
    if (reading[d] == on)
      return;
    reading[d] = on;
    if (on)
      fdcb (fd[d], selread, read_cb[d]);
    else
      fdcb (fd[d], selread, NULL);
  }

  void watch_write (int d, bool on)
  {
    if (writing[d] == on)
      return;
    writing[d] = on;
    if (on)
      fdcb (fd[1 - d], selwrite, write_cb[d]);
    else
      fdcb (fd[1 - d], selwrite, NULL);
  }

  // Interest follows state: read while there is room, write while there are bytes.
  void update (int d)
  {
    watch_read (d, !eof[d] && buf[d].resid () < HIGH_WATER && (connected || d == 0));
    watch_write (d, connected && buf[d].resid () > 0);
    if (buf[d].resid () > 0 && !stall[d]) {
      progress[d] = sfs_get_tsnow ();
      stall[d] = timecb (deadline (d), wrap (this, &proxy_pair::stall_check, d));
    }
  }

  timespec deadline (int d)
  {
    timespec t = progress[d];
    t.tv_sec += STALL_SECONDS;
    return t;
  }

  void stall_check (int d)
  {
    stall[d] = NULL;   // libasync frees a timer once it fired
    if (buf[d].resid () == 0)
      return;
    timespec now = sfs_get_tsnow (), due = deadline (d);
    if (now.tv_sec > due.tv_sec || (now.tv_sec == due.tv_sec && now.tv_nsec >= due.tv_nsec)) {
      close_pair (true);
      return;
    }
    stall[d] = timecb (due, wrap (this, &proxy_pair::stall_check, d));
  }

  void readable (int d)
  {
    int n = buf[d].input (fd[d], HIGH_WATER - buf[d].resid ());
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0)
      eof[d] = true;   // EOF, or a read error: forward what is held, then the EOF
    if (connected)
      flush (d);       // write at once rather than wait a loop turn for writability
    else
      update (d);
  }

  void writable (int d)
  {
    flush (d);
  }

  // Writes what direction d holds; on EOF drained, half-closes; closes when both are done.
  // false: the pair is gone (closed and freed).
  bool flush (int d)
  {
    size_t before = buf[d].resid ();
    if (before > 0 && buf[d].output (fd[1 - d]) < 0) {
      close_pair (true);   // write error (EPIPE, ECONNRESET): abort the pair
      return false;
    }
    if (buf[d].resid () < before)
      progress[d] = sfs_get_tsnow ();   // any written byte restarts the stall clock
    if (eof[d] && buf[d].resid () == 0 && !shut[d]) {
      shut[d] = true;
      shutdown (fd[1 - d], SHUT_WR);
    }
    if (shut[0] && shut[1]) {
      close_pair (false);
      return false;
    }
    update (d);
    return true;
  }

  void connect_done ()
  {
    int err = 0;
    socklen_t len = sizeof err;
    fdcb (fd[1], selwrite, NULL);
    if (getsockopt (fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
      close_pair (true);   // destination unreachable: reset the client
      return;
    }
    connected = true;
    if (flush (0))   // bytes the client sent while we connected
      update (1);
  }

  void close_pair (bool reset)
  {
    for (int d = 0; d < 2; d++) {
      if (stall[d])
        timecb_remove (stall[d]);
      stall[d] = NULL;
      // Clear both interests before close: libasync's epoll state is per descriptor
      // number, and the next socket to get this number must start unregistered.
      fdcb (fd[d], selread, NULL);
      fdcb (fd[d], selwrite, NULL);
    }
    for (int d = 0; d < 2; d++) {
      if (reset) {
        struct linger lg = { 1, 0 };
        setsockopt (fd[d], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      }
      close (fd[d]);
    }
    delete this;
  }

public:
  proxy_pair (int client, int server) : connected (false)
  {
    fd[0] = client;
    fd[1] = server;
    for (int d = 0; d < 2; d++) {
      eof[d] = shut[d] = reading[d] = writing[d] = false;
      stall[d] = NULL;
      read_cb[d] = wrap (this, &proxy_pair::readable, d);
      write_cb[d] = wrap (this, &proxy_pair::writable, d);
    }
  }

  void start ()
  {
    int r = connect (fd[1], &dest_addr.sa, dest_len);
    if (r < 0 && errno != EINPROGRESS) {
      close_pair (true);
      return;
    }
    fdcb (fd[1], selwrite, wrap (this, &proxy_pair::connect_done));
    update (0);
  }
};

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
    (New proxy_pair (c, s))->start ();
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
