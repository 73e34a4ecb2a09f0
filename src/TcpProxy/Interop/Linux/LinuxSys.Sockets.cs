using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop.Linux;

/// <summary>
/// Socket calls on Linux, through Tmds.LibC. Linux errno numbers are the
/// proxy's own (<see cref="Errno"/>), so results pass through unchanged.
/// </summary>
internal static unsafe partial class LinuxSys
{
    public static int Result(int rc) => rc >= 0 ? rc : -errno;

    public static long Result(long rc) => rc >= 0 ? rc : -errno;

    public static int StreamSocket(int family) => Result(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));

    public static int Accept(int listenFd, ref SocketAddress peer)
    {
        fixed (SocketAddress.Storage* storage = &peer.Bytes)
        {
            socklen_t length = SocketAddress.StorageSize;
            int fd = accept4(listenFd, (sockaddr*)storage, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                return -errno;
            peer.Length = (int)length;
            return fd;
        }
    }

    public static int Connect(int fd, in SocketAddress address)
    {
        fixed (SocketAddress.Storage* storage = &address.Bytes)
            return Result(connect(fd, (sockaddr*)storage, address.Length));
    }

    public static int Bind(int fd, in SocketAddress address)
    {
        fixed (SocketAddress.Storage* storage = &address.Bytes)
            return Result(bind(fd, (sockaddr*)storage, address.Length));
    }

    public static int Listen(int fd, int backlog) => Result(listen(fd, backlog));

    public static int GetSocketName(int fd, ref SocketAddress address)
    {
        fixed (SocketAddress.Storage* storage = &address.Bytes)
        {
            socklen_t length = SocketAddress.StorageSize;
            int rc = getsockname(fd, (sockaddr*)storage, &length);
            if (rc < 0)
                return -errno;
            address.Length = (int)length;
            return 0;
        }
    }

    public static int GetPendingError(int fd)
    {
        int value = 0;
        socklen_t length = sizeof(int);
        int rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length);
        return rc < 0 ? errno : value;
    }

    public static int SetNoDelay(int fd) => SetIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1);

    public static int SetOutOfBandInline(int fd) => SetIntOption(fd, SOL_SOCKET, SO_OOBINLINE, 1);

    public static int SetReuseAddress(int fd) => SetIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1);

    // <asm-generic/socket.h>; named here rather than trusted to Tmds.LibC's set of constants.
    private const int SO_REUSEPORT_LINUX = 15;

    public static int SetReusePort(int fd) => SetIntOption(fd, SOL_SOCKET, SO_REUSEPORT_LINUX, 1);

    public static int SetIPv6Only(int fd, bool only) => SetIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, only ? 1 : 0);

    public static int SetAbortOnClose(int fd)
    {
        linger value = default;
        value.l_onoff = 1;
        value.l_linger = 0;
        return Result(setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, (socklen_t)sizeof(linger)));
    }

    public static int ShutdownWrite(int fd) => Result(shutdown(fd, SHUT_WR));

    public static int Close(int fd) => Result(close(fd));

    private static int SetIntOption(int fd, int level, int name, int value) =>
        Result(setsockopt(fd, level, name, &value, (socklen_t)sizeof(int)));
}
