using System.Runtime.CompilerServices;
using TcpProxy.Interop.Darwin;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

public static unsafe partial class Sys
{
    /// <summary>
    /// Reads into up to two segments (a ring buffer's free space wraps) in one
    /// syscall. Returns the byte count, 0 at EOF, or -errno.
    /// </summary>
    [MethodImpl(Inline)]
    public static long Receive(int fd, byte* first, int firstLength, byte* second, int secondLength) =>
        Platform.IsDarwin
            ? DarwinSys.Receive(fd, first, firstLength, second, secondLength)
            : LinuxSys.Receive(fd, first, firstLength, second, secondLength);

    /// <summary>
    /// Writes up to two segments in one syscall; a peer that has gone away is
    /// an EPIPE, not a signal (MSG_NOSIGNAL on Linux, SO_NOSIGPIPE on macOS).
    /// <paramref name="more"/> adds MSG_MORE on Linux: more data follows at
    /// once, so the kernel may hold a partial segment back despite
    /// TCP_NODELAY. macOS has no MSG_MORE and ignores it (see DarwinSys.Send).
    /// Returns bytes written or -errno.
    /// </summary>
    [MethodImpl(Inline)]
    public static long Send(int fd, byte* first, int firstLength, byte* second, int secondLength, bool more) =>
        Platform.IsDarwin
            ? DarwinSys.Send(fd, first, firstLength, second, secondLength)
            : LinuxSys.Send(fd, first, firstLength, second, secondLength, more);

    /// <summary>
    /// A non-blocking descriptor the loop can watch and any thread can make
    /// readable: an eventfd on Linux, the read end of a self-pipe on macOS
    /// (no eventfd there; the write end is kept by the Darwin layer and closed
    /// with it). Returns the fd or -errno.
    /// </summary>
    [MethodImpl(Inline)]
    public static int OpenWakeup() => Opened(Platform.IsDarwin ? DarwinSys.WakeupCreate() : LinuxSys.EventFd());

    /// <summary>Makes a descriptor from <see cref="OpenWakeup"/> readable; safe from any thread.</summary>
    [MethodImpl(Inline)]
    public static int Wake(int fd) => Platform.IsDarwin ? DarwinSys.WakeupSignal(fd) : LinuxSys.EventFdSignal(fd);

    /// <summary>Empties a descriptor from <see cref="OpenWakeup"/>: what it counted (eventfd) or read (pipe), -EAGAIN when nothing was pending.</summary>
    [MethodImpl(Inline)]
    public static long DrainWakeup(int fd) => Platform.IsDarwin ? DarwinSys.WakeupDrain(fd) : LinuxSys.EventFdDrain(fd);

    /// <summary>
    /// One descriptor held in reserve, nothing more (the listener's spare for
    /// EMFILE): an eventfd on Linux, /dev/null on macOS, where a wake-up pipe
    /// would cost two. Returns the fd or -errno.
    /// </summary>
    [MethodImpl(Inline)]
    public static int SpareDescriptor() => Opened(Platform.IsDarwin ? DarwinSys.OpenDevNull() : LinuxSys.EventFd());
}
