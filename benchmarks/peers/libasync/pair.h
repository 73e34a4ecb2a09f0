/* The libasync tcpproxy peer: a connection pair (pair.C), started by the listener (tcpproxy.C). */
#ifndef LIBASYNC_PEER_PAIR_H
#define LIBASYNC_PEER_PAIR_H
#include "async.h"

static const size_t HIGH_WATER = 8192;    // bytes a direction may hold
static const time_t STALL_SECONDS = 10;   // buffered bytes unwritable this long abort the pair

// Takes both non-blocking sockets: connects `server` to dest, then forwards until done.
void start_pair (int client, int server, const sockaddr *dest, socklen_t dest_len);

#endif
