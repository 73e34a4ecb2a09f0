using System.Runtime.CompilerServices;
using System.Threading;

namespace TcpProxy.Interop;

/// <summary>
/// How many descriptors the proxy holds from the calls below, kept as they
/// open and close. process_open_fds is this plus what the process held before
/// (<see cref="ProcessStats.Calibrate"/>): counting /proc/self/fd on every
/// scrape costs the loop time in proportion to the open connections.
/// Interlocked because several reactors open and close; it costs a few
/// nanoseconds per connection, never per event.
/// </summary>
public static partial class Sys
{
    private static long s_openDescriptors;

    /// <summary>Descriptors handed out by Sys and not yet closed through it.</summary>
    public static long OpenDescriptors => Volatile.Read(ref s_openDescriptors);

    [MethodImpl(Inline)]
    private static int Opened(int fd)
    {
        if (fd >= 0)
            Interlocked.Increment(ref s_openDescriptors);
        return fd;
    }

    [MethodImpl(Inline)]
    private static int ClosedUnlessBad(int rc)
    {
        // Any other result (EINTR, EIO) has released the descriptor all the same.
        if (rc != -Errno.EBADF)
            Interlocked.Decrement(ref s_openDescriptors);
        return rc;
    }
}
