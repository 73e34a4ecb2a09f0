using System.Runtime.InteropServices;
using static TcpProxy.Interop.Darwin.DarwinConstants;

namespace TcpProxy.Interop.Darwin;

/// <summary>
/// Socket calls on macOS. Each result leaves as the count or a negative errno
/// in the proxy's numbering (<see cref="DarwinErrno"/>).
/// </summary>
internal static unsafe partial class DarwinSys
{
    private static bool IsArm64 => RuntimeInformation.ProcessArchitecture == Architecture.Arm64;

    /// <summary>errno of the call just made, translated.</summary>
    private static int LastError() => DarwinErrno.ToProxy(Marshal.GetLastPInvokeError());

    private static int Result(int rc) => rc >= 0 ? rc : -LastError();

    private static long Result(nint rc) => rc >= 0 ? rc : -LastError();

    private static int Fcntl(int fd, int command, nint argument) =>
        IsArm64 ? DarwinLibC.FcntlArm64(fd, command, 0, 0, 0, 0, 0, 0, argument) : DarwinLibC.FcntlX64(fd, command, argument);

    private static int Open(byte* path, int flags, int mode) =>
        IsArm64 ? DarwinLibC.OpenArm64(path, flags, 0, 0, 0, 0, 0, 0, mode) : DarwinLibC.OpenX64(path, flags, mode);

    /// <summary>
    /// What Linux gets atomically from SOCK_NONBLOCK | SOCK_CLOEXEC (and
    /// accept4), macOS gets from fcntl afterwards: it has neither flag. The
    /// proxy never forks, so the moment without FD_CLOEXEC leaks nothing.
    /// </summary>
    private static int MakeNonBlockingCloseOnExec(int fd)
    {
        int rc = Result(Fcntl(fd, F_SETFL, O_NONBLOCK));
        return rc < 0 ? rc : Result(Fcntl(fd, F_SETFD, FD_CLOEXEC));
    }

    /// <summary>
    /// A socket of ours: non-blocking, close-on-exec, and SO_NOSIGPIPE, since
    /// send() here takes no MSG_NOSIGNAL (older kernels lack it): a write to a
    /// peer that has gone away is then EPIPE, never a signal. Closes fd and
    /// returns -errno on failure.
    /// </summary>
    private static int PrepareSocket(int fd)
    {
        int rc = MakeNonBlockingCloseOnExec(fd);
        if (rc == 0)
            rc = SetIntOption(fd, SOL_SOCKET, SO_NOSIGPIPE, 1);
        if (rc < 0)
        {
            DarwinLibC.Close(fd);
            return rc;
        }
        return fd;
    }

    public static int StreamSocket(int family)
    {
        int fd = Result(DarwinLibC.Socket(SocketAddress.FamilyToDarwin(family), SOCK_STREAM, 0));
        return fd < 0 ? fd : PrepareSocket(fd);
    }

    // accept() has no flags argument on macOS (no accept4): the client is made non-blocking after.
    public static int Accept(int listenFd, ref SocketAddress peer)
    {
        fixed (SocketAddress.Storage* storage = &peer.Bytes)
        {
            uint length = SocketAddress.StorageSize;
            int fd = Result(DarwinLibC.Accept(listenFd, (byte*)storage, &length));
            if (fd < 0)
                return fd;
            peer.Length = (int)length;
            return PrepareSocket(fd);
        }
    }

    public static int Connect(int fd, in SocketAddress address)
    {
        fixed (SocketAddress.Storage* storage = &address.Bytes)
            return Result(DarwinLibC.Connect(fd, (byte*)storage, (uint)address.Length));
    }

    public static int Bind(int fd, in SocketAddress address)
    {
        fixed (SocketAddress.Storage* storage = &address.Bytes)
            return Result(DarwinLibC.Bind(fd, (byte*)storage, (uint)address.Length));
    }

    public static int Listen(int fd, int backlog) => Result(DarwinLibC.Listen(fd, backlog));

    public static int GetSocketName(int fd, ref SocketAddress address)
    {
        fixed (SocketAddress.Storage* storage = &address.Bytes)
        {
            uint length = SocketAddress.StorageSize;
            int rc = Result(DarwinLibC.GetSockName(fd, (byte*)storage, &length));
            if (rc < 0)
                return rc;
            address.Length = (int)length;
            return 0;
        }
    }

    public static int GetPendingError(int fd)
    {
        int value = 0;
        uint length = sizeof(int);
        int rc = DarwinLibC.GetSockOpt(fd, SOL_SOCKET, SO_ERROR, &value, &length);
        return rc < 0 ? LastError() : DarwinErrno.ToProxy(value);
    }

    // TCP_NODELAY has the same number on both systems; IPPROTO_TCP too.
    public static int SetNoDelay(int fd) => SetIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1);

    public static int SetOutOfBandInline(int fd) => SetIntOption(fd, SOL_SOCKET, SO_OOBINLINE, 1);

    public static int SetReuseAddress(int fd) => SetIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1);

    public static int SetReusePort(int fd) => SetIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1);

    public static int SetIPv6Only(int fd, bool only) => SetIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, only ? 1 : 0);

    public static int SetAbortOnClose(int fd)
    {
        DarwinLinger value = default;
        value.OnOff = 1;
        value.Seconds = 0;
        return Result(DarwinLibC.SetSockOpt(fd, SOL_SOCKET, SO_LINGER, &value, (uint)sizeof(DarwinLinger)));
    }

    // SHUT_WR is 1 on both systems.
    public static int ShutdownWrite(int fd) => Result(DarwinLibC.Shutdown(fd, SHUT_WR));

    public static int Close(int fd)
    {
        // A wake-up descriptor is the read end of a pipe: its write end goes with it.
        int writer = WakeupForget(fd);
        if (writer >= 0)
            DarwinLibC.Close(writer);
        return Result(DarwinLibC.Close(fd));
    }

    private static int SetIntOption(int fd, int level, int name, int value) =>
        Result(DarwinLibC.SetSockOpt(fd, level, name, &value, sizeof(int)));
}
