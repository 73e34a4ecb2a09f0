using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;
using static TcpProxy.Interop.Darwin.DarwinConstants;

namespace TcpProxy.Interop.Darwin;

internal static unsafe partial class DarwinSys
{
    /// <summary>
    /// Raises the soft RLIMIT_NOFILE towards the hard limit. macOS refuses a
    /// soft limit above kern.maxfilesperproc (EINVAL), and the hard limit is
    /// usually RLIM_INFINITY, so the target is the smaller of the two;
    /// OPEN_MAX when the sysctl cannot be read.
    /// </summary>
    public static long RaiseFileLimit()
    {
        DarwinRLimit limit;
        if (DarwinLibC.GetRLimit(RLIMIT_NOFILE, &limit) != 0)
            return -LastError();
        ulong target = Math.Min(limit.Maximum, MaxFilesPerProcess());
        if (limit.Current < target)
        {
            DarwinRLimit raised = limit;
            raised.Current = target;
            if (DarwinLibC.SetRLimit(RLIMIT_NOFILE, &raised) != 0)
            {
                int error = LastError();
                raised.Current = Math.Min(target, OPEN_MAX);
                if (raised.Current <= limit.Current || DarwinLibC.SetRLimit(RLIMIT_NOFILE, &raised) != 0)
                    return -error;
            }
            limit = raised;
        }
        return (long)Math.Min(limit.Current, int.MaxValue);
    }

    public static long FileLimit()
    {
        DarwinRLimit limit;
        if (DarwinLibC.GetRLimit(RLIMIT_NOFILE, &limit) != 0)
            return -LastError();
        return (long)Math.Min(limit.Current, int.MaxValue);
    }

    private static ulong MaxFilesPerProcess()
    {
        byte* name = stackalloc byte[32];
        int length = System.Text.Encoding.ASCII.GetBytes("kern.maxfilesperproc", new Span<byte>(name, 31));
        name[length] = 0;
        int value = 0;
        nuint size = sizeof(int);
        return DarwinLibC.SysctlByName(name, &value, &size, null, 0) == 0 && value > 0 ? (ulong)value : OPEN_MAX;
    }

    public static byte* Malloc(nuint size) => (byte*)DarwinLibC.Malloc(size);

    public static void Free(byte* memory) => DarwinLibC.Free(memory);

    public static byte* AllocateAligned(nuint size, nuint alignment)
    {
        void* memory;
        return DarwinLibC.PosixMemalign(&memory, alignment, size) == 0 ? (byte*)memory : null;
    }

    public static int DiscardPages(byte* address, nuint length) =>
        DarwinLibC.Madvise(address, length, DarwinLibC.MADV_FREE) == 0 ? 0 : -LastError();

    /// <summary>getaddrinfo for stream sockets (Darwin's struct addrinfo and flag values); adds every address in order.</summary>
    public static string? GetAddresses(string? host, string service, bool passive, List<SocketAddress> into)
    {
        DarwinAddrInfo hints = default;
        hints.SocketType = SOCK_STREAM;
        hints.Flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
        DarwinAddrInfo* list = null;
        int rc = DarwinLibC.GetAddrInfo(host, service, &hints, &list);
        if (rc != 0)
            return Marshal.PtrToStringUTF8((IntPtr)DarwinLibC.GaiStrError(rc)) ?? ("getaddrinfo error " + rc.ToString(CultureInfo.InvariantCulture));
        try
        {
            for (DarwinAddrInfo* entry = list; entry != null; entry = entry->Next)
                into.Add(SocketAddress.FromNative(entry->Address, (int)entry->AddressLength));
            return null;
        }
        finally
        {
            DarwinLibC.FreeAddrInfo(list);
        }
    }

    public static int ClockRealTime(TimeSpec* now) =>
        DarwinLibC.ClockGetTime(DarwinLibC.CLOCK_REALTIME, now) == 0 ? 0 : -LastError();
}
