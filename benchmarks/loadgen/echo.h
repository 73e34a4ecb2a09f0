/* In-process echo destination shared by rtt, connrate and idle. */
#ifndef ECHO_H
#define ECHO_H
#include "loadgen.h"

struct echo;
/* close_after_echo: close right after echoing the first data (connrate), so the
 * destination closes first and its TIME_WAIT never blocks the proxy's next port. */
struct echo *echo_new(int ep, const struct options *o, bool close_after_echo, int capacity);
void echo_accept(struct echo *e);
void echo_event(struct echo *e, uint32_t idx, uint32_t events);
int echo_listener(const struct echo *e);
/* --hold-echo: after our own clients are done, keep serving other loadgen processes'
 * connections (they share the destination port) until stdin has a line or EOF. */
void echo_serve_until_stdin(struct echo *e, double deadline);
#endif
