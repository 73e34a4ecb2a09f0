using System.Runtime.CompilerServices;
using TcpProxy.Interop.Darwin;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>
/// Every syscall the proxy makes, one entry point each. Each picks the
/// operating system's layer (<see cref="Platform"/>, folded at compile time):
/// Linux through Tmds.LibC, macOS through its own [LibraryImport("libc")]s
/// under Darwin/. Results are values — the count, or a negative errno in the
/// proxy's numbering (<see cref="Errno"/>): the Darwin layer translates its
/// errno at the boundary, so nothing above compares a Darwin number.
/// </summary>
public static unsafe partial class Sys
{
    private const MethodImplOptions Inline = MethodImplOptions.AggressiveInlining;

    /// <summary>A non-blocking, close-on-exec stream socket (SO_NOSIGPIPE too on macOS), or -errno. family: <see cref="SocketAddress.AF_INET"/> or <see cref="SocketAddress.AF_INET6"/>.</summary>
    [MethodImpl(Inline)]
    public static int StreamSocket(int family) => Opened(Platform.IsDarwin ? DarwinSys.StreamSocket(family) : LinuxSys.StreamSocket(family));

    /// <summary>Accepts a non-blocking, close-on-exec client; fills <paramref name="peer"/>. The fd or -errno.</summary>
    [MethodImpl(Inline)]
    public static int Accept(int listenFd, ref SocketAddress peer) => Opened(Platform.IsDarwin ? DarwinSys.Accept(listenFd, ref peer) : LinuxSys.Accept(listenFd, ref peer));

    /// <summary>0, -EINPROGRESS for a connect under way, or another -errno.</summary>
    [MethodImpl(Inline)]
    public static int Connect(int fd, in SocketAddress address) => Platform.IsDarwin ? DarwinSys.Connect(fd, address) : LinuxSys.Connect(fd, address);

    [MethodImpl(Inline)]
    public static int Bind(int fd, in SocketAddress address) => Platform.IsDarwin ? DarwinSys.Bind(fd, address) : LinuxSys.Bind(fd, address);

    [MethodImpl(Inline)]
    public static int Listen(int fd, int backlog) => Platform.IsDarwin ? DarwinSys.Listen(fd, backlog) : LinuxSys.Listen(fd, backlog);

    [MethodImpl(Inline)]
    public static int GetSocketName(int fd, ref SocketAddress address) => Platform.IsDarwin ? DarwinSys.GetSocketName(fd, ref address) : LinuxSys.GetSocketName(fd, ref address);

    /// <summary>The pending error of a socket (SO_ERROR), as a positive errno: 0 once a non-blocking connect succeeded.</summary>
    [MethodImpl(Inline)]
    public static int GetPendingError(int fd) => Platform.IsDarwin ? DarwinSys.GetPendingError(fd) : LinuxSys.GetPendingError(fd);

    [MethodImpl(Inline)]
    public static int SetNoDelay(int fd) => Platform.IsDarwin ? DarwinSys.SetNoDelay(fd) : LinuxSys.SetNoDelay(fd);

    /// <summary>
    /// SO_OOBINLINE: urgent data stays in the byte stream, so a plain recv reads
    /// it in order instead of the kernel skipping it (MSG_OOB would be needed).
    /// Accepted sockets inherit it from the listener.
    /// </summary>
    [MethodImpl(Inline)]
    public static int SetOutOfBandInline(int fd) => Platform.IsDarwin ? DarwinSys.SetOutOfBandInline(fd) : LinuxSys.SetOutOfBandInline(fd);

    [MethodImpl(Inline)]
    public static int SetReuseAddress(int fd) => Platform.IsDarwin ? DarwinSys.SetReuseAddress(fd) : LinuxSys.SetReuseAddress(fd);

    /// <summary>
    /// SO_REUSEPORT, set before bind on every listening socket of a port that
    /// several reactors share: Linux then spreads new connections over them by
    /// a hash of the 4-tuple, each socket with its own accept queue.
    /// </summary>
    [MethodImpl(Inline)]
    public static int SetReusePort(int fd) => Platform.IsDarwin ? DarwinSys.SetReusePort(fd) : LinuxSys.SetReusePort(fd);

    [MethodImpl(Inline)]
    public static int SetIPv6Only(int fd, bool only) => Platform.IsDarwin ? DarwinSys.SetIPv6Only(fd, only) : LinuxSys.SetIPv6Only(fd, only);

    /// <summary>
    /// Linger with a zero timeout: the next close() sends RST and drops unsent
    /// data. Used when a pair is aborted, so both peers learn it at once and the
    /// kernel does not keep retrying data nobody will read.
    /// </summary>
    [MethodImpl(Inline)]
    public static int SetAbortOnClose(int fd) => Platform.IsDarwin ? DarwinSys.SetAbortOnClose(fd) : LinuxSys.SetAbortOnClose(fd);

    [MethodImpl(Inline)]
    public static int ShutdownWrite(int fd) => Platform.IsDarwin ? DarwinSys.ShutdownWrite(fd) : LinuxSys.ShutdownWrite(fd);

    /// <summary>close(); EINTR is not retried: Linux and macOS have released the fd already.</summary>
    [MethodImpl(Inline)]
    public static int Close(int fd) => ClosedUnlessBad(Platform.IsDarwin ? DarwinSys.Close(fd) : LinuxSys.Close(fd));
}
