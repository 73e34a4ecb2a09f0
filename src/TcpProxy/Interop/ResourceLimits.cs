using System;

namespace TcpProxy.Interop;

public static unsafe class ResourceLimits
{
    /// <summary>
    /// Raises the soft RLIMIT_NOFILE to the hard limit: every proxied pair costs
    /// two descriptors, and the default soft limit (often 1024) would cap the
    /// proxy at ~500 clients. Returns the soft limit now in force, or -errno.
    /// </summary>
    public static long RaiseFileLimit()
    {
        NativeMethods.RLimit limit;
        if (NativeMethods.GetRLimit(NativeMethods.RLIMIT_NOFILE, &limit) != 0)
            return -System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (limit.Current < limit.Maximum)
        {
            limit.Current = limit.Maximum;
            if (NativeMethods.SetRLimit(NativeMethods.RLIMIT_NOFILE, &limit) != 0)
                return -System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        }
        return (long)Math.Min(limit.Current, int.MaxValue);
    }

    /// <summary>The soft RLIMIT_NOFILE in force, or -errno.</summary>
    public static long FileLimit()
    {
        NativeMethods.RLimit limit;
        if (NativeMethods.GetRLimit(NativeMethods.RLIMIT_NOFILE, &limit) != 0)
            return -System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        return (long)Math.Min(limit.Current, int.MaxValue);
    }
}
