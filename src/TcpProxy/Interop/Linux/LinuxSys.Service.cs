using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop.Linux;

/// <summary>The sd_notify datagram and the checks of an inherited listening socket, on Linux.</summary>
internal static unsafe partial class LinuxSys
{
    public static int UnixDatagramSocket() => Result(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));

    public static long SendTo(int fd, in SocketAddress to, byte* data, int length)
    {
        fixed (SocketAddress.Storage* storage = &to.Bytes)
            return Result((long)sendto(fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT, (sockaddr*)storage, to.Length));
    }

    public static int SetNonBlocking(int fd)
    {
        int flags = fcntl(fd, F_GETFL, 0);
        if (flags < 0)
            return -errno;
        return (flags & O_NONBLOCK) != 0 ? 0 : Result(fcntl(fd, F_SETFL, flags | O_NONBLOCK));
    }

    public static int IsListening(int fd)
    {
        int value = 0;
        socklen_t length = sizeof(int);
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) < 0 ? -errno : value != 0 ? 1 : 0;
    }
}
