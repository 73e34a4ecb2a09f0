using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using TcpProxy.Proxy;

namespace TcpProxy.Metrics;

/// <summary>
/// The counters as one log line, for SIGUSR1: the same figures as the
/// metrics endpoint, from the same definitions (<see cref="ProxyMetrics"/>),
/// those with words of their own (<see cref="MetricFamily.Report"/>).
/// </summary>
public static class CounterReport
{
    internal static string Format(LoopParts loop) => Format([loop]);

    /// <summary>The sum over every reactor; with several, each one's accepted and active clients follow.</summary>
    internal static string Format(IReadOnlyList<LoopParts> loops)
    {
        var source = new MetricSource(loops);
        var line = new StringBuilder("counters: ", 256);
        foreach (MetricFamily family in ProxyMetrics.Families)
        {
            if (family.Report is string words && family.PerReactor == null)
                AppendSums(line.Append(words), family, source);
        }
        if (loops.Count == 1)
            return line.ToString();
        foreach (MetricFamily family in ProxyMetrics.Families)
        {
            if (family.Report is string words && family.PerReactor is Func<LoopParts, long> perReactor)
                AppendEach(line.Append(words).Append(' '), loops, perReactor);
        }
        return line.ToString();
    }

    // " eof 3, stall 0": each series' words, then its value.
    private static void AppendSums(StringBuilder line, MetricFamily family, MetricSource source)
    {
        bool first = true;
        foreach (MetricSeries series in family.Series)
        {
            if (!series.IsPresent(source))
                continue;
            line.Append(first ? " " : ", ");
            if (series.ReportWords != null)
                line.Append(series.ReportWords).Append(' ');
            line.Append(series.Read(source).ToString());
            first = false;
        }
    }

    // "120/80": one figure per reactor, in order.
    private static void AppendEach(StringBuilder line, IReadOnlyList<LoopParts> loops, Func<LoopParts, long> figure)
    {
        for (int i = 0; i < loops.Count; i++)
            (i == 0 ? line : line.Append('/')).Append(figure(loops[i]).ToString(CultureInfo.InvariantCulture));
    }
}
