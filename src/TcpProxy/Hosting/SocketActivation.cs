using System;
using System.Collections.Generic;
using System.Globalization;
using TcpProxy.Interop;

namespace TcpProxy.Hosting;

/// <summary>
/// Listening sockets a process was handed, as sd_listen_fds(3) describes:
/// LISTEN_FDS sockets wait at descriptors 3, 4, ...; the one LISTEN_FDNAMES
/// calls "metrics" serves --metrics, the others the proxy: one, which every
/// reactor shares, or one per reactor. They are served instead of binding, so
/// the port stays open (and clients queue) across restarts and upgrades.
/// Two senders: systemd (LISTEN_PID names this process), and the process this
/// one replaces in a binary upgrade (no LISTEN_PID — the pid is unknown
/// before the spawn — but TCPPROXY_UPGRADE_FROM names the parent). The
/// listen-port argument is still given and must be the passed socket's port:
/// a unit and a command line that disagree are an error, not a guess.
/// </summary>
internal sealed class SocketActivation
{
    public const string MetricsName = "metrics";
    public const string ProxyName = "proxy";
    public const string UpgradeFromVariable = "TCPPROXY_UPGRADE_FROM";
    private const int FirstPassedFd = 3;

    private SocketActivation(string sender, int[] proxyFds, int metricsFd)
    {
        Sender = sender;
        ProxyFds = proxyFds;
        MetricsFd = metricsFd;
    }

    /// <summary>"systemd" or "the old process" (a binary upgrade): who passed them, for messages.</summary>
    public string Sender { get; }

    /// <summary>The proxy's listening sockets: one shared by every reactor, or one per reactor.</summary>
    public int[] ProxyFds { get; }

    /// <summary>The metrics listening socket; -1 when none was passed.</summary>
    public int MetricsFd { get; }

    /// <summary>Whether a binary upgrade handed these over (the parent waits to hear we accept).</summary>
    public bool FromUpgrade => Sender == UpgradeSender;

    private const string UpgradeSender = "the old process";

    /// <summary>
    /// The sockets passed to this process; null when none were (error null),
    /// or with a one-line error when they cannot be served.
    /// </summary>
    public static SocketActivation? FromEnvironment(int listenPort, int? metricsPort, int reactors, out string? error)
    {
        error = null;
        string? sender = SenderOf();
        if (sender is null)
            return null;
        if (!int.TryParse(Environment.GetEnvironmentVariable("LISTEN_FDS"), NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
        {
            error = "LISTEN_FDS must name at least one socket passed by " + sender;
            return null;
        }
        string[] names = (Environment.GetEnvironmentVariable("LISTEN_FDNAMES") ?? "").Split(':');
        var proxyFds = new List<int>();
        int metricsFd = -1;
        for (int i = 0; i < count; i++)
        {
            int fd = FirstPassedFd + i;
            bool isMetrics = i < names.Length && names[i] == MetricsName;
            if (isMetrics && metricsFd >= 0)
            {
                error = sender + " passed more than one metrics socket; one is served";
                return null;
            }
            if ((error = Check(fd, isMetrics ? metricsPort : listenPort, isMetrics, sender)) != null)
                return null;
            if (isMetrics)
                metricsFd = fd;
            else
                proxyFds.Add(fd);
        }
        if (proxyFds.Count == 0)
        {
            error = sender + " passed only a metrics socket; the proxy's own is missing";
            return null;
        }
        if (proxyFds.Count > 1 && proxyFds.Count != reactors)
        {
            error = sender + " passed " + proxyFds.Count.ToString(CultureInfo.InvariantCulture) + " proxy sockets for "
                + reactors.ToString(CultureInfo.InvariantCulture) + " reactors: pass one (every reactor shares it) or one per reactor";
            return null;
        }
        return new SocketActivation(sender, proxyFds.ToArray(), metricsFd);
    }

    // systemd names this process; an upgrading parent names itself (we are its child).
    private static string? SenderOf()
    {
        string? pid = Environment.GetEnvironmentVariable("LISTEN_PID");
        if (pid != null)
            return pid == Environment.ProcessId.ToString(CultureInfo.InvariantCulture) ? "systemd" : null;
        string? parent = Environment.GetEnvironmentVariable(UpgradeFromVariable);
        return parent != null && parent == Sys.ParentProcessId().ToString(CultureInfo.InvariantCulture) ? UpgradeSender : null;
    }

    // A listening TCP socket on the port the command line names, made non-blocking.
    private static string? Check(int fd, int? port, bool isMetrics, string sender)
    {
        string what = isMetrics ? "the metrics socket" : "the socket";
        string descriptor = "descriptor " + fd.ToString(CultureInfo.InvariantCulture) + " passed by " + sender;
        if (port is not int expected)
            return sender + " passed a metrics socket but --metrics is not set";
        if (Sys.IsListening(fd) != 1)
            return descriptor + " is not a listening socket";
        SocketAddress bound = default;
        int rc = Sys.GetSocketName(fd, ref bound);
        if (rc < 0 || (bound.Family != SocketAddress.AF_INET && bound.Family != SocketAddress.AF_INET6))
            return descriptor + " is not a TCP socket";
        if (bound.Port != expected)
            return (isMetrics ? "the --metrics port " : "listen-port ") + expected.ToString(CultureInfo.InvariantCulture)
                + " does not match " + what + " " + sender + " passed (" + bound + ")";
        rc = Sys.SetNonBlocking(fd);
        return rc < 0 ? "cannot make " + what + " " + sender + " passed non-blocking: " + Errno.Name(-rc) : null;
    }
}
