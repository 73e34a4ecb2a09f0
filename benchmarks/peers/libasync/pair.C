/* One client and its destination connection: the callbacks of the libasync tcpproxy peer.
 * Per direction d (0: client to server, 1: back), a reader on fd[d], a writer on fd[1-d],
 * a suio holding at most HIGH_WATER bytes and a stall timer; the rules are in
 * tcpproxy.C's opening comment. */
#include "pair.h"

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
    if (buf[d].resid () >= HIGH_WATER) {   // a read of 0 bytes would look like EOF
      update (d);
      return;
    }
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
      // Clear every interest before close: libasync's epoll state is per descriptor
      // number, and the next socket to get this number must start unregistered.
      watch_read (d, false);
      watch_write (d, false);
    }
    if (!connected)
      fdcb (fd[1], selwrite, NULL);   // the connect watcher
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

  void start (const sockaddr *dest, socklen_t dest_len)
  {
    int r = connect (fd[1], dest, dest_len);
    if (r < 0 && errno != EINPROGRESS) {
      close_pair (true);
      return;
    }
    fdcb (fd[1], selwrite, wrap (this, &proxy_pair::connect_done));
    update (0);
  }
};

void
start_pair (int client, int server, const sockaddr *dest, socklen_t dest_len)
{
  (New proxy_pair (client, server))->start (dest, dest_len);
}
