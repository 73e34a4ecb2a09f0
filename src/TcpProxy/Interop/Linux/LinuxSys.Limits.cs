using System;
using System.Runtime.InteropServices;

namespace TcpProxy.Interop.Linux;

internal static unsafe partial class LinuxSys
{
    public static long RaiseFileLimit()
    {
        LinuxLibC.RLimit limit;
        if (LinuxLibC.GetRLimit(LinuxLibC.RLIMIT_NOFILE, &limit) != 0)
            return -Marshal.GetLastPInvokeError();
        if (limit.Current < limit.Maximum)
        {
            limit.Current = limit.Maximum;
            if (LinuxLibC.SetRLimit(LinuxLibC.RLIMIT_NOFILE, &limit) != 0)
                return -Marshal.GetLastPInvokeError();
        }
        return (long)Math.Min(limit.Current, int.MaxValue);
    }

    public static long FileLimit()
    {
        LinuxLibC.RLimit limit;
        if (LinuxLibC.GetRLimit(LinuxLibC.RLIMIT_NOFILE, &limit) != 0)
            return -Marshal.GetLastPInvokeError();
        return (long)Math.Min(limit.Current, int.MaxValue);
    }

    /// <summary>sysconf(_SC_CLK_TCK): the unit of /proc's CPU times.</summary>
    public static long ClockTicksPerSecond() => (long)Tmds.Linux.LibC.sysconf(SC_CLK_TCK);

    private const int SC_CLK_TCK = 2;

    public static byte* Malloc(nuint size) => (byte*)LinuxLibC.Malloc(size);

    public static void Free(byte* memory) => LinuxLibC.Free(memory);

    public static void ReleaseFreePages() => LinuxLibC.MallocTrim(0);

    public static byte* AllocateAligned(nuint size, nuint alignment)
    {
        void* memory;
        return LinuxLibC.PosixMemalign(&memory, alignment, size) == 0 ? (byte*)memory : null;
    }

    public static int DiscardPages(byte* address, nuint length) =>
        LinuxLibC.Madvise(address, length, LinuxLibC.MADV_DONTNEED) == 0 ? 0 : -Marshal.GetLastPInvokeError();

    public static int ClockRealTime(TimeSpec* now) =>
        LinuxLibC.ClockGetTime(LinuxLibC.CLOCK_REALTIME, now) == 0 ? 0 : -Marshal.GetLastPInvokeError();
}
