using System;
using System.Globalization;
using TcpProxy.Proxy;

namespace TcpProxy.Metrics;

internal enum MetricType
{
    /// <summary>Only goes up (from start).</summary>
    Counter,
    /// <summary>A figure of now: goes up and down.</summary>
    Gauge,
}

/// <summary>
/// One metric, defined once: the /metrics family (name, type, HELP, label
/// name), its words in the SIGUSR1 line, and how each of its series is read.
/// The exposition, the SIGUSR1 line and the README's table test all read
/// this; the loop only bumps the plain fields of <see cref="ProxyCounters"/>.
/// </summary>
internal sealed class MetricFamily(string name, MetricType type, string help)
{
    public string Name { get; } = name;

    public MetricType Type { get; } = type;

    public string TypeName => Type == MetricType.Counter ? "counter" : "gauge";

    /// <summary>The HELP text: what the figure means, for /metrics and the README.</summary>
    public string Help { get; } = help;

    /// <summary>The one label that tells the series apart; null: a single unlabelled series.</summary>
    public string? Label { get; init; }

    /// <summary>
    /// Its words in the SIGUSR1 line, after the separator that opens them
    /// ("; " a new group, ", " the same one); null: not in the line.
    /// </summary>
    public string? Report { get; init; }

    public MetricSeries[] Series { get; init; } = [];

    /// <summary>
    /// Set instead of <see cref="Series"/>: one series per reactor, labelled
    /// with its index. In the SIGUSR1 line, with several reactors only, after
    /// the sums and as "a/b".
    /// </summary>
    public Func<LoopParts, long>? PerReactor { get; init; }
}

/// <summary>One series of a family: its label value, its words in the SIGUSR1 line, how its value is read.</summary>
internal sealed class MetricSeries
{
    private readonly Func<MetricSource, string>? _labelOf;

    public MetricSeries(string? labelValue, string? reportWords, Func<MetricSource, MetricValue> read)
    {
        LabelValue = labelValue;
        ReportWords = reportWords;
        Read = read;
    }

    /// <summary>A series whose label value is read too (the destination of tcpproxy_info).</summary>
    public MetricSeries(Func<MetricSource, string> labelOf, Func<MetricSource, MetricValue> read)
    {
        _labelOf = labelOf;
        Read = read;
    }

    /// <summary>The label value when it is fixed; null when unlabelled or read.</summary>
    public string? LabelValue { get; }

    /// <summary>Its words in the SIGUSR1 line before the value ("up", "to splice"); null: the value alone.</summary>
    public string? ReportWords { get; }

    public Func<MetricSource, MetricValue> Read { get; }

    /// <summary>Null: always served; else served only when it says so (the access log's drops, when it has a writer of its own).</summary>
    public Func<MetricSource, bool>? Present { get; init; }

    public string? LabelValueOf(MetricSource source) => _labelOf != null ? _labelOf(source) : LabelValue;

    public bool IsPresent(MetricSource source) => Present == null || Present(source);
}

/// <summary>A sample's value: whole (every counter) or fractional (CPU seconds), each written as Prometheus reads it.</summary>
internal readonly struct MetricValue
{
    private readonly long _whole;
    private readonly double _fraction;
    private readonly bool _isFraction;

    private MetricValue(long whole, double fraction, bool isFraction)
    {
        _whole = whole;
        _fraction = fraction;
        _isFraction = isFraction;
    }

    public static implicit operator MetricValue(long whole) => new(whole, 0, false);

    public static implicit operator MetricValue(double fraction) => new(0, fraction, true);

    public override string ToString() => _isFraction
        ? _fraction.ToString("R", CultureInfo.InvariantCulture)
        : _whole.ToString(CultureInfo.InvariantCulture);
}
