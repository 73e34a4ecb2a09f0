/* loadgen: drives TCP load through a proxy to its own in-process destination.
 * One process, one thread, epoll. Prints one `result ...` line of key=value pairs. */
#include "loadgen.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *to, int code)
{
    fputs("usage: loadgen MODE --dest-port D (--proxy-port P | --direct) [options]\n"
          "  MODE: bulk | rtt | connrate | idle\n"
          "  --dest-port D     our sink/echo destination listens on HOST:D (the proxy forwards here)\n"
          "  --proxy-port P    clients connect to HOST:P (the proxy's listen port)\n"
          "  --direct          clients connect straight to the destination: no proxy\n"
          "  --host A          IPv4 address for both (default 127.0.0.1)\n"
          "  --conns N         connections (workers for connrate; pairs for idle) (default 1)\n"
          "  --bytes B         bulk: bytes per connection, suffix K/M/G (default 256M)\n"
          "  --msg-size M      rtt: bytes per message (default 64)\n"
          "  --seconds T       rtt, connrate: duration (default 3)\n"
          "  --chunk C         bytes per read/write of loadgen itself (default 256K)\n"
          "  --window W        idle: connects in flight at once (default 100)\n"
          "  --timeout T       abort (exit 1) when the run exceeds T seconds (default 120)\n"
          "  --histogram FILE  rtt: also write the raw latency histogram (`bucket count`, 100 ns)\n"
          "  --hold-echo       rtt, connrate: after the result line, keep the destination serving\n"
          "                    until stdin has a line or EOF (for several loadgen processes)\n"
          "The destination listener uses SO_REUSEPORT: several loadgen processes may share --dest-port.\n"
          "idle prints `idle-ready established=N` and holds until stdin has a line or EOF.\n",
          to);
    exit(code);
}

static uint64_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        fail("bad size: %s", s);
    switch (*end) {
    case 'k': case 'K': v *= 1024; end++; break;
    case 'm': case 'M': v *= 1024 * 1024; end++; break;
    case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end != '\0')
        fail("bad size: %s", s);
    return (uint64_t)v;
}

static double parse_positive(const char *s, const char *what)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || v <= 0)
        fail("%s must be a positive number: %s", what, s);
    return v;
}

int main(int argc, char **argv)
{
    struct options o = {.host = "127.0.0.1", .conns = 1, .bytes = 256u << 20, .msg_size = 64,
                        .seconds = 3, .timeout = 120, .chunk = 256 << 10, .window = 100};
    bool direct = false;
    static const struct option longopts[] = {
        {"dest-port", required_argument, 0, 'd'}, {"proxy-port", required_argument, 0, 'p'},
        {"direct", no_argument, 0, 'D'},          {"host", required_argument, 0, 'H'},
        {"conns", required_argument, 0, 'n'},     {"bytes", required_argument, 0, 'b'},
        {"msg-size", required_argument, 0, 'm'},  {"seconds", required_argument, 0, 's'},
        {"chunk", required_argument, 0, 'c'},     {"window", required_argument, 0, 'w'},
        {"timeout", required_argument, 0, 't'},   {"help", no_argument, 0, 'h'},
        {"histogram", required_argument, 0, 'G'}, {"hold-echo", no_argument, 0, 'E'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o.dest_port = (int)parse_positive(optarg, "--dest-port"); break;
        case 'p': o.target_port = (int)parse_positive(optarg, "--proxy-port"); break;
        case 'D': direct = true; break;
        case 'H': o.host = optarg; break;
        case 'n': o.conns = (int)parse_positive(optarg, "--conns"); break;
        case 'b': o.bytes = parse_size(optarg); break;
        case 'm': o.msg_size = (int)parse_size(optarg); break;
        case 's': o.seconds = parse_positive(optarg, "--seconds"); break;
        case 'c': o.chunk = (size_t)parse_size(optarg); break;
        case 'w': o.window = (int)parse_positive(optarg, "--window"); break;
        case 't': o.timeout = parse_positive(optarg, "--timeout"); break;
        case 'G': o.histogram_path = optarg; break;
        case 'E': o.hold_echo = true; break;
        case 'h': usage(stdout, 0); break;
        default: usage(stderr, 2);
        }
    }
    if (optind != argc - 1)
        usage(stderr, 2);
    o.mode = argv[optind];
    if (direct)
        o.target_port = o.dest_port;
    if (o.dest_port <= 0 || o.dest_port > 65535 || o.target_port <= 0 || o.target_port > 65535)
        fail("need --dest-port and --proxy-port (or --direct), each 1..65535");
    if (o.msg_size < 1 || o.msg_size > 65536 || o.chunk < 1 || o.chunk > (64u << 20))
        fail("--msg-size must be 1..64K, --chunk 1..64M");

    /* A peer closing on us must be an error we count, not a signal that kills us. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal");
    raise_nofile_limit();
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (strcmp(o.mode, "bulk") == 0)
        return run_bulk(&o);
    if (strcmp(o.mode, "rtt") == 0)
        return run_rtt(&o);
    if (strcmp(o.mode, "connrate") == 0)
        return run_connrate(&o);
    if (strcmp(o.mode, "idle") == 0)
        return run_idle(&o);
    fprintf(stderr, "loadgen: unknown mode %s\n", o.mode);
    usage(stderr, 2);
}
