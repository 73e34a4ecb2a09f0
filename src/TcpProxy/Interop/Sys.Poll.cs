using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TcpProxy.Interop.Darwin;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>struct pollfd: the same layout and the same POLL* bits on Linux and macOS (POSIX).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PollFd
{
    public int Fd;
    public short Events;
    public short ReturnedEvents;
}

public static unsafe partial class Sys
{
    /// <summary>Whether epoll exists here (Linux).</summary>
    public static bool HasEpoll => Platform.IsLinux;

    /// <summary>
    /// Whether kqueue exists here with the struct kevent declared in this
    /// folder: macOS, or Linux when $LIBKQUEUE names libkqueue (a testing
    /// aid). (FreeBSD has kqueue too, but a 64-byte struct kevent.)
    /// </summary>
    public static bool HasKqueue => Platform.IsDarwin || (Platform.IsLinux && LibKqueue.IsLoaded);

    /// <summary>"Linux", "macOS" or the runtime's description of the OS; for messages.</summary>
    public static string OperatingSystemName => Platform.Name;

    public const short PollIn = 0x001;
    public const short PollPri = 0x002;
    public const short PollOut = 0x004;
    public const short PollErr = 0x008;
    public const short PollHup = 0x010;
    public const short PollNval = 0x020;

    /// <summary>poll(2): the number of fds with events, 0 on timeout, or -errno (-EINTR included, for the caller to loop).</summary>
    [MethodImpl(Inline)]
    public static int Poll(PollFd* fds, int count, int timeoutMs) =>
        Platform.IsDarwin ? DarwinSys.Poll(fds, count, timeoutMs) : LinuxSys.Poll(fds, count, timeoutMs);
}
