using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop;

/// <summary>
/// Socket syscalls. Every wrapper returns its result or a negative errno read
/// right after the call: errors are values, never exceptions.
/// </summary>
public static unsafe partial class Sys
{
    private static int Result(int rc) => rc >= 0 ? rc : -errno;

    private static long Result(long rc) => rc >= 0 ? rc : -errno;

    /// <summary>A non-blocking, close-on-exec stream socket, or -errno.</summary>
    public static int StreamSocket(int family) => Result(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));

    /// <summary>accept4 with non-blocking and close-on-exec set atomically; fills <paramref name="peer"/>.</summary>
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

    /// <summary>0, -EINPROGRESS for a connect under way, or another -errno.</summary>
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

    /// <summary>The pending error of a socket (SO_ERROR): 0 once a non-blocking connect succeeded.</summary>
    public static int GetPendingError(int fd)
    {
        int value = 0;
        socklen_t length = sizeof(int);
        int rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length);
        return rc < 0 ? errno : value;
    }

    public static int SetNoDelay(int fd) => SetIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1);

    /// <summary>
    /// SO_OOBINLINE: urgent data stays in the byte stream, so a plain recv reads
    /// it in order instead of the kernel skipping it (MSG_OOB would be needed).
    /// Accepted sockets inherit it from the listener.
    /// </summary>
    public static int SetOutOfBandInline(int fd) => SetIntOption(fd, SOL_SOCKET, SO_OOBINLINE, 1);

    public static int SetReuseAddress(int fd) => SetIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1);

    public static int SetIPv6Only(int fd, bool only) => SetIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, only ? 1 : 0);

    /// <summary>
    /// Linger with a zero timeout: the next close() sends RST and drops unsent
    /// data. Used when a pair is aborted, so both peers learn it at once and the
    /// kernel does not keep retrying data nobody will read.
    /// </summary>
    public static int SetAbortOnClose(int fd)
    {
        linger value = default;
        value.l_onoff = 1;
        value.l_linger = 0;
        return Result(setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, (socklen_t)sizeof(linger)));
    }

    public static int ShutdownWrite(int fd) => Result(shutdown(fd, SHUT_WR));

    /// <summary>close(); EINTR is not retried, since Linux has released the fd already.</summary>
    public static int Close(int fd) => Result(close(fd));

    private static int SetIntOption(int fd, int level, int name, int value) =>
        Result(setsockopt(fd, level, name, &value, (socklen_t)sizeof(int)));
}
