using TcpProxy.Interop.Darwin;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>The wall clock, as log lines are stamped with it.</summary>
public static unsafe partial class Sys
{
    /// <summary>
    /// clock_gettime(CLOCK_REALTIME) as milliseconds since the Unix epoch (UTC);
    /// 0 or -errno. Allocates nothing (on Linux the vDSO answers, without a syscall).
    /// </summary>
    public static int RealTimeMs(out long milliseconds)
    {
        TimeSpec now;
        int rc = Platform.IsDarwin ? DarwinSys.ClockRealTime(&now) : LinuxSys.ClockRealTime(&now);
        milliseconds = rc == 0 ? now.Seconds * 1000 + now.Nanoseconds / 1_000_000 : 0;
        return rc;
    }
}
