using System;
using System.Collections.Generic;
using System.Globalization;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Proxy;

namespace TcpProxy.Hosting;

/// <summary>
/// The one line a starting proxy logs: where it listens, where it forwards
/// (the addresses in use), and every setting that decides how: poller,
/// reactors, buffers and their memory, splice, timeouts, re-resolution, limits.
/// </summary>
internal static class StartupLine
{
    public static string Format(ProxyOptions options, SocketAddress listening, PairSettings settings, DestinationSet addresses, string pollerName, long fileLimit, SocketAddress? metrics, SocketActivation? passed)
    {
        var line = new List<string> { pollerName };
        if (passed != null)
            line.Add("sockets passed by " + passed.Sender + (passed.FromUpgrade ? " (binary upgrade)" : ""));
        line.Add(options.Reactors > 1
            ? options.Reactors.ToString(CultureInfo.InvariantCulture) + " reactors ("
                + (passed is { ProxyFds.Length: 1 } ? "sharing one socket" : "SO_REUSEPORT") + ")"
            : "1 reactor");
        line.Add(options.BufferSize.ToString(CultureInfo.InvariantCulture) + " B buffers");
        line.Add(options.BufferMemory > 0
            ? "buffer memory " + options.BufferMemory.ToString(CultureInfo.InvariantCulture) + " B"
            : "buffer memory unbounded");
        line.Add("splice " + settings.Splice.Name());
        line.Add("stall timeout " + Seconds(options.StallTimeout));
        line.Add("connect timeout " + Seconds(options.ConnectTimeout));
        if (options.IdleTimeout > TimeSpan.Zero)
            line.Add("idle timeout " + Seconds(options.IdleTimeout));
        line.Add("drain timeout " + Seconds(options.DrainTimeout));
        // A name is looked up again (the addresses in use may change); an address never is.
        if (DestinationResolver.Wanted(options.DestinationHost, options.ResolveInterval))
            line.Add("resolved every " + Seconds(options.ResolveInterval));
        else if (!System.Net.IPAddress.TryParse(options.DestinationHost, out _))
            line.Add("resolved once");
        if (options.SendProxy != ProxyProtocolVersion.None)
            line.Add("PROXY protocol " + options.SendProxy.Name());
        if (options.MaxConnections > 0)
            line.Add("at most " + options.MaxConnections.ToString(CultureInfo.InvariantCulture) + " connections");
        line.Add("fd limit " + fileLimit.ToString(CultureInfo.InvariantCulture));
        if (options.LogLevel >= LogLevel.Verbose)
            line.Add("verbose log");
        if (options.AccessLogPath != null)
            line.Add("access log " + (options.AccessLogPath == "-" ? "on stderr" : options.AccessLogPath)
                + (options.AccessLogFormat != AccessLogFormat.Text ? " (" + options.AccessLogFormat.Name().ToUpperInvariant() + ")" : ""));
        if (metrics is SocketAddress address)
            line.Add("metrics at http://" + address + "/metrics");
        return "listening on " + listening + ", forwarding to " + settings.DestinationName
            + " (" + addresses + "); " + string.Join(", ", line);
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
