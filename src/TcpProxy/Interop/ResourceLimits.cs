using TcpProxy.Interop.Darwin;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

public static class ResourceLimits
{
    /// <summary>
    /// Raises the soft RLIMIT_NOFILE to the hard limit: every proxied pair costs
    /// two descriptors, and the default soft limit (often 1024, 256 on macOS)
    /// would cap the proxy at a few hundred clients. On macOS the hard limit is
    /// usually RLIM_INFINITY, which setrlimit refuses for the soft limit: there
    /// it is clamped to kern.maxfilesperproc (OPEN_MAX if that cannot be read).
    /// Returns the soft limit now in force, or -errno.
    /// </summary>
    public static long RaiseFileLimit() => Platform.IsDarwin ? DarwinSys.RaiseFileLimit() : LinuxSys.RaiseFileLimit();

    /// <summary>The soft RLIMIT_NOFILE in force, or -errno.</summary>
    public static long FileLimit() => Platform.IsDarwin ? DarwinSys.FileLimit() : LinuxSys.FileLimit();
}
