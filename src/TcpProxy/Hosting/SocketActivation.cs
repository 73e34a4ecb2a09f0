using System;
using System.Globalization;
using TcpProxy.Interop;

namespace TcpProxy.Hosting;

/// <summary>
/// systemd socket activation (sd_listen_fds(3)): when LISTEN_PID names this
/// process, LISTEN_FDS listening sockets wait at descriptors 3, 4, ...; the
/// one LISTEN_FDNAMES calls "metrics" serves --metrics, the other the
/// proxy. The proxy serves them instead of binding, so the port is open (and
/// clients queue) before it starts, and across its restarts. The
/// listen-port argument is still given and must be the passed socket's port:
/// a unit and a command line that disagree are an error, not a guess.
/// </summary>
internal sealed class SocketActivation
{
    public const string MetricsName = "metrics";
    private const int FirstPassedFd = 3;

    private SocketActivation(int proxyFd, int metricsFd)
    {
        ProxyFd = proxyFd;
        MetricsFd = metricsFd;
    }

    /// <summary>The proxy's listening socket.</summary>
    public int ProxyFd { get; }

    /// <summary>The metrics listening socket; -1 when none was passed.</summary>
    public int MetricsFd { get; }

    /// <summary>
    /// The sockets systemd passed this process; null when it passed none
    /// (error null), or with a one-line error when they cannot be served.
    /// </summary>
    public static SocketActivation? FromEnvironment(int listenPort, int? metricsPort, out string? error)
    {
        error = null;
        string? pid = Environment.GetEnvironmentVariable("LISTEN_PID");
        if (pid is null || pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
            return null;
        if (!int.TryParse(Environment.GetEnvironmentVariable("LISTEN_FDS"), NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
        {
            error = "LISTEN_FDS must name at least one socket passed by systemd";
            return null;
        }
        string[] names = (Environment.GetEnvironmentVariable("LISTEN_FDNAMES") ?? "").Split(':');
        int proxyFd = -1, metricsFd = -1;
        for (int i = 0; i < count; i++)
        {
            int fd = FirstPassedFd + i;
            bool isMetrics = i < names.Length && names[i] == MetricsName;
            if (isMetrics ? metricsFd >= 0 : proxyFd >= 0)
            {
                error = "systemd passed more than one " + (isMetrics ? "metrics" : "proxy") + " socket; one is served";
                return null;
            }
            if ((error = Check(fd, isMetrics ? metricsPort : listenPort, isMetrics)) != null)
                return null;
            if (isMetrics)
                metricsFd = fd;
            else
                proxyFd = fd;
        }
        if (proxyFd < 0)
        {
            error = "systemd passed only a metrics socket; the proxy's own is missing";
            return null;
        }
        return new SocketActivation(proxyFd, metricsFd);
    }

    // A listening TCP socket on the port the command line names, made non-blocking.
    private static string? Check(int fd, int? port, bool isMetrics)
    {
        string what = isMetrics ? "the metrics socket" : "the socket";
        if (port is not int expected)
            return "systemd passed a metrics socket but --metrics is not set";
        if (Sys.IsListening(fd) != 1)
            return "descriptor " + fd.ToString(CultureInfo.InvariantCulture) + " passed by systemd is not a listening socket";
        SocketAddress bound = default;
        int rc = Sys.GetSocketName(fd, ref bound);
        if (rc < 0 || (bound.Family != SocketAddress.AF_INET && bound.Family != SocketAddress.AF_INET6))
            return "descriptor " + fd.ToString(CultureInfo.InvariantCulture) + " passed by systemd is not a TCP socket";
        if (bound.Port != expected)
            return (isMetrics ? "the --metrics port " : "listen-port ") + expected.ToString(CultureInfo.InvariantCulture)
                + " does not match " + what + " systemd passed (" + bound + ")";
        rc = Sys.SetNonBlocking(fd);
        return rc < 0 ? "cannot make " + what + " systemd passed non-blocking: " + Errno.Name(-rc) : null;
    }
}
