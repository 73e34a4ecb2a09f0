using System;
using System.Runtime.CompilerServices;
using TcpProxy.Interop.Darwin;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>
/// What running under a service manager needs: a datagram socket to tell
/// systemd how the proxy is (sd_notify's protocol), and the checks a socket
/// it passed us gets before it is served. systemd is Linux's: on macOS each
/// call declines with EOPNOTSUPP.
/// </summary>
public static unsafe partial class Sys
{
    /// <summary>A non-blocking AF_UNIX datagram socket, or -errno.</summary>
    [MethodImpl(Inline)]
    public static int UnixDatagramSocket() => Platform.IsDarwin ? -Errno.EOPNOTSUPP : Opened(LinuxSys.UnixDatagramSocket());

    /// <summary>One datagram to <paramref name="to"/> without waiting: the count sent, or -errno (EAGAIN when the receiver's queue is full).</summary>
    public static long SendTo(int fd, in SocketAddress to, ReadOnlySpan<byte> datagram)
    {
        if (Platform.IsDarwin)
            return -Errno.EOPNOTSUPP;
        fixed (byte* data = datagram)
            return LinuxSys.SendTo(fd, to, data, datagram.Length);
    }

    /// <summary>Makes an inherited descriptor non-blocking (systemd passes blocking sockets unless told otherwise); 0 or -errno.</summary>
    [MethodImpl(Inline)]
    public static int SetNonBlocking(int fd) => Platform.IsDarwin ? -Errno.EOPNOTSUPP : LinuxSys.SetNonBlocking(fd);

    /// <summary>Whether fd is a socket that listens (SO_ACCEPTCONN): 1, 0, or -errno (ENOTSOCK for anything else).</summary>
    [MethodImpl(Inline)]
    public static int IsListening(int fd) => Platform.IsDarwin ? -Errno.EOPNOTSUPP : LinuxSys.IsListening(fd);
}
