namespace TcpProxy.Interop.Darwin;

/// <summary>
/// The macOS SDK values the Darwin layer passes to the kernel, each from the
/// header named beside it (xnu bsd/..., as installed under the SDK's
/// usr/include). DarwinFactsTests checks every one against values written
/// down from those headers; the errno table is in <see cref="DarwinErrno"/>.
/// </summary>
internal static class DarwinConstants
{
    // <sys/socket.h>
    public const int SOCK_STREAM = 1;
    public const int AF_INET = 2;
    public const int AF_INET6 = 30;
    public const int SOL_SOCKET = 0xffff;
    public const int SO_REUSEADDR = 0x0004;
    // In ticks; with l_linger 0 the unit does not matter: close() resets.
    public const int SO_LINGER = 0x0080;
    public const int SO_OOBINLINE = 0x0100;
    public const int SO_REUSEPORT = 0x0200;
    public const int SO_ERROR = 0x1007;
    public const int SO_NOSIGPIPE = 0x1022;
    public const int MSG_DONTWAIT = 0x80;
    public const int SHUT_WR = 1;

    // <netinet/in.h>, <netinet6/in6.h>, <netinet/tcp.h>
    public const int IPPROTO_TCP = 6;
    public const int IPPROTO_IPV6 = 41;
    public const int IPV6_V6ONLY = 27;
    public const int TCP_NODELAY = 0x01;

    // <sys/fcntl.h>
    public const int O_WRONLY = 0x0001;
    public const int O_NONBLOCK = 0x0004;
    public const int O_APPEND = 0x0008;
    public const int O_CREAT = 0x0200;
    public const int O_NOCTTY = 0x20000;
    public const int O_CLOEXEC = 0x01000000;
    public const int F_SETFD = 2;
    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int F_GETPATH = 50;
    public const int FD_CLOEXEC = 1;

    // <sys/syslimits.h>
    public const int MAXPATHLEN = 1024;
    public const int OPEN_MAX = 10240;

    // <sys/stat.h>: the same S_IF* bits as Linux (both from 4.4BSD/POSIX).
    public const int S_IFMT = 0xF000;
    public const int S_IFIFO = 0x1000;
    public const int S_IFCHR = 0x2000;
    public const int S_IFSOCK = 0xC000;

    // <sys/resource.h>
    public const int RLIMIT_NOFILE = 8;
    public const ulong RLIM_INFINITY = (1UL << 63) - 1;

    // <netdb.h> (Libinfo)
    public const int AI_PASSIVE = 0x00000001;
    public const int AI_NUMERICSERV = 0x00001000;

    // <sys/signal.h>
    public const int SIGUSR1 = 30;
    public const int SIGUSR2 = 31;

    // <sys/event.h>
    public const short EVFILT_READ = -1;
    public const short EVFILT_WRITE = -2;
    public const ushort EV_ADD = 0x0001;
    public const ushort EV_DELETE = 0x0002;
    public const ushort EV_CLEAR = 0x0020;
    public const ushort EV_RECEIPT = 0x0040;
    public const ushort EV_OOBAND = 0x2000;
    public const ushort EV_ERROR = 0x4000;
    public const ushort EV_EOF = 0x8000;
}
