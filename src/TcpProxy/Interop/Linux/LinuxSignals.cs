using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop.Linux;

/// <summary>The signalfd path of <see cref="SignalFd"/>, Linux only (Tmds.LibC, /proc/self/task).</summary>
internal static unsafe partial class LinuxSignals
{
    private static readonly int[] Signals = [SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2];

    // signalfd_siginfo is 128 bytes; ssi_signo, the first field, is all the loop needs.
    private const int SigInfoSize = 128;
    private const int SFD_NONBLOCK = 0x800;
    private const int SFD_CLOEXEC = 0x80000;

    public static void BlockInEveryThread()
    {
        BlockInThisThread();
        QueueFinalizerThatBlocks();
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>
    /// A non-blocking signalfd for the proxy's signals, or -errno; -EOPNOTSUPP when
    /// some thread does not block them (the signals would not reach the fd).
    /// </summary>
    public static int OpenSignalFd()
    {
        if (!EveryThreadBlocks())
            return -Errno.EOPNOTSUPP;
        sigset_t set = SignalSet();
        int fd = SignalFd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        return fd >= 0 ? fd : -Marshal.GetLastSystemError();
    }

    /// <summary>The next signal waiting on the signalfd, 0 when none is left (EAGAIN), or -errno.</summary>
    public static int ReadSignal(int fd)
    {
        byte* info = stackalloc byte[SigInfoSize];
        while (true)
        {
            long n = (long)read(fd, info, SigInfoSize);
            if (n == SigInfoSize)
                return (int)*(uint*)info;
            if (n >= 0)
                return -Errno.EINVAL;
            int error = errno;
            if (error == Errno.EINTR)
                continue;
            return error == Errno.EAGAIN ? 0 : -error;
        }
    }

    /// <summary>kill(getpid(), signal): every thread blocks it, so it lands on the signalfd. 0 or -errno.</summary>
    public static int SendToThisProcess(int signal) => kill(getpid(), signal) == 0 ? 0 : -errno;

    private static sigset_t SignalSet()
    {
        sigset_t set;
        sigemptyset(&set);
        foreach (int signal in Signals)
            sigaddset(&set, signal);
        return set;
    }

    /// <summary>The fallback's half: a handler only runs in a thread that does not block its signal.</summary>
    public static void UnblockInThisThread()
    {
        sigset_t set = SignalSet();
        pthread_sigmask(SIG_UNBLOCK, &set, null);
    }

    private static void BlockInThisThread()
    {
        sigset_t set = SignalSet();
        pthread_sigmask(SIG_BLOCK, &set, null);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void QueueFinalizerThatBlocks() => _ = new FinalizerThreadBlocker();

    private sealed class FinalizerThreadBlocker
    {
        ~FinalizerThreadBlocker() => BlockInThisThread();
    }

    /// <summary>Whether every thread of the process has all the proxy's signals in its SigBlk mask.</summary>
    private static bool EveryThreadBlocks()
    {
        ulong wanted = 0;
        foreach (int signal in Signals)
            wanted |= 1UL << (signal - 1);
        try
        {
            foreach (string task in Directory.GetDirectories("/proc/self/task"))
            {
                ulong blocked = 0;
                foreach (string line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("SigBlk:", StringComparison.Ordinal))
                        blocked = Convert.ToUInt64(line.Substring(7).Trim(), 16);
                }
                if ((blocked & wanted) != wanted)
                    return false;
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "signalfd", SetLastError = true)]
    private static partial int SignalFd(int fd, sigset_t* mask, int flags);
}
