/* The echo (and flood) destination of the soak and hostile suites; see echo_server.c. */
#ifndef ECHO_SERVER_H
#define ECHO_SERVER_H

#include "rel.h"

/* A client that sends this first (in one write) is flooded and its bytes are ignored. */
#define ECHO_SERVER_FLOOD "FLOOD!!\n"

/* Listens on addr in the caller's namespace and serves from a child process; returns its PID. */
pid_t echo_server_start(const struct sockaddr_in *addr);
void echo_server_stop(pid_t pid);

#endif
