using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>
/// The proxy's signals (SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2) read from a
/// signalfd, as an fd of the loop, with no handler and no thread at all.
/// .NET's PosixSignalRegistration runs SIGHUP and SIGUSR1 handlers on the
/// thread pool (and starts a thread per SIGINT/SIGTERM), which this design
/// rules out. A signalfd only sees signals that every thread blocks, so
/// <see cref="BlockInEveryThread"/> runs first in Main: it blocks them in the
/// main thread (threads created later inherit the mask) and in the runtime's
/// finalizer thread, which exists before Main, by running a finalizer.
/// <see cref="OpenSignalFd"/> then checks /proc/self/task and refuses when any
/// thread would still take the signals (the framework-dependent build's extra
/// runtime threads, an in-process test host): the caller falls back to
/// PosixSignalRegistration there. macOS has no signalfd: there every entry
/// point declines and the handlers are the way (Interop/Linux/LinuxSignals.cs
/// holds the Linux half, so no Tmds.LibC type is touched on a Mac).
/// </summary>
public static class SignalFd
{
    /// <summary>
    /// Undoes <see cref="BlockInEveryThread"/> for this thread when the signalfd cannot be
    /// used (no /proc to check the threads, say): the fallback's handlers must be reachable,
    /// or SIGTERM would stay pending for ever.
    /// </summary>
    public static void UnblockInThisThread()
    {
        if (Platform.IsLinux)
            LinuxSignals.UnblockInThisThread();
    }

    /// <summary>Blocks the proxy's signals in this thread and the finalizer thread (Linux only; else a no-op).</summary>
    public static void BlockInEveryThread()
    {
        if (Platform.IsLinux)
            LinuxSignals.BlockInEveryThread();
    }

    /// <summary>
    /// A non-blocking signalfd for the proxy's signals, or -errno; -EOPNOTSUPP when
    /// some thread does not block them (the signals would not reach the fd), or off Linux.
    /// </summary>
    public static int OpenSignalFd() => Platform.IsLinux ? LinuxSignals.OpenSignalFd() : -Errno.EOPNOTSUPP;

    /// <summary>The next signal waiting on the signalfd, 0 when none is left (EAGAIN), or -errno.</summary>
    public static int ReadSignal(int fd) => Platform.IsLinux ? LinuxSignals.ReadSignal(fd) : -Errno.EOPNOTSUPP;

    /// <summary>kill(getpid(), signal): every thread blocks it, so it lands on the signalfd. 0 or -errno.</summary>
    public static int SendToThisProcess(int signal) => Platform.IsLinux ? LinuxSignals.SendToThisProcess(signal) : -Errno.EOPNOTSUPP;
}
