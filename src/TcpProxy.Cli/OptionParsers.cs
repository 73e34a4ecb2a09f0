using System;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Cli;

/// <summary>
/// One parser per option of <see cref="OptionTable"/>, each of the
/// <see cref="TryParse{T}"/> shape: the option's range, unit and the
/// system's abilities on top of the generic <see cref="ValueParsers"/>.
/// </summary>
internal static class OptionParsers
{
    private const int MaxBufferSize = 64 * 1024 * 1024;
    private const double MaxSeconds = 7 * 24 * 3600;

    public static bool TryHost(string text, out string value, out string? problem)
    {
        value = text;
        return ValueParsers.TryNonEmpty(text, "host name", out problem);
    }

    /// <summary>Bytes, with the same K/M/G suffixes as --buffer-memory ("64K").</summary>
    public static bool TryBufferSize(string text, out int value, out string? problem)
    {
        bool ok = ValueParsers.TryByteCount(text, 1, MaxBufferSize, out long parsed, out problem);
        value = (int)parsed;
        return ok;
    }

    public static bool TryBufferMemory(string text, out long value, out string? problem) =>
        ValueParsers.TryByteCount(text, 0, long.MaxValue / 2, out value, out problem);

    public static bool TryMaxConnections(string text, out int value, out string? problem)
    {
        bool ok = ValueParsers.TryWholeNumber(text, 0, int.MaxValue, "connections", out long parsed, out problem);
        value = (int)parsed;
        return ok;
    }

    /// <summary>Seconds, with fractions, from <paramref name="min"/> (or 0 for "off") to a week; as a double, which --help shows as "10".</summary>
    public static TryParse<double> Seconds(double min, bool allowZero) =>
        (string text, out double value, out string? problem) =>
        {
            bool ok = ValueParsers.TrySeconds(text, min, MaxSeconds, allowZero, out TimeSpan parsed, out problem);
            value = parsed.TotalSeconds;
            return ok;
        };

    public static bool TryPath(string text, out string? value, out string? problem)
    {
        value = text;
        return ValueParsers.TryNonEmpty(text, "path", out problem);
    }

    public static bool TryBind(string text, out string? value, out string? problem)
    {
        value = text;
        return ValueParsers.TryNonEmpty(text, "address", out problem);
    }

    public static bool TryMetrics(string text, out (string Host, int Port)? value, out string? problem)
    {
        bool ok = ValueParsers.TryHostAndPort(text, out string host, out int port, out problem);
        value = ok ? (host, port) : null;
        return ok;
    }

    /// <summary>One of an enum's names; null until given, so --help shows no C# name as the default.</summary>
    public static TryParse<T?> Choice<T>(EnumNames<T> names) where T : struct, Enum =>
        (string text, out T? value, out string? problem) =>
        {
            bool ok = ValueParsers.TryChoice(text, names, out T chosen, out problem);
            value = ok ? chosen : null;
            return ok;
        };

    /// <summary>A backend name; one this operating system lacks (kqueue on Linux, epoll on macOS) is a usage error too.</summary>
    public static bool TryPoller(string text, out PollerKind? value, out string? problem)
    {
        value = null;
        if (!ValueParsers.TryChoice(text, PollerKindNames.All, out PollerKind kind, out problem))
            return false;
        if (!PollerFactory.IsAvailable(kind))
        {
            problem = "'" + text + "' is not available on " + PollerFactory.OperatingSystemName + PollerFactory.UnavailableDetail(kind);
            return false;
        }
        value = kind;
        return true;
    }

    /// <summary>A count of reactors, or auto; more than one only where the kernel spreads clients over them (Linux).</summary>
    public static bool TryReactors(string text, out int? value, out string? problem)
    {
        value = null;
        if (text == "auto")
        {
            problem = null;
            value = ProxyOptions.AutoReactors;
            return true;
        }
        if (!ValueParsers.TryWholeNumber(text, 1, ProxyOptions.MaxReactors, "reactors", out long count, out problem, orElse: "auto"))
            return false;
        if (count > 1 && !ProxyOptions.SeveralReactorsSupported)
        {
            problem = "'" + text + "' needs Linux (SO_REUSEPORT spreading clients over the reactors); this is " + PollerFactory.OperatingSystemName;
            return false;
        }
        value = (int)count;
        return true;
    }

    /// <summary>off, on or auto; on where the system has no splice(2) (macOS) is a usage error, auto there means off.</summary>
    public static bool TrySplice(string text, out SpliceMode? value, out string? problem)
    {
        value = null;
        if (!ValueParsers.TryChoice(text, SpliceModeNames.All, out SpliceMode mode, out problem))
            return false;
        if (mode == SpliceMode.On && !Sys.SpliceAvailable)
        {
            problem = "'" + text + "' is not available on " + Sys.OperatingSystemName + " (splice(2) is Linux-only)";
            return false;
        }
        value = mode;
        return true;
    }
}
