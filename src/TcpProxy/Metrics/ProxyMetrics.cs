using System;
using System.Collections.Generic;
using System.Globalization;
using TcpProxy.Proxy;
using static TcpProxy.Metrics.MetricType;

namespace TcpProxy.Metrics;

/// <summary>
/// Every metric the proxy has, each defined once (<see cref="MetricFamily"/>),
/// in the order /metrics serves them; and their Prometheus rendering. The
/// SIGUSR1 line (<see cref="CounterReport"/>) and the README's metrics table
/// (a unit test) follow the same list. A new counter: a field in
/// <see cref="ProxyCounters"/>, its bump, one entry here, a README row.
/// </summary>
public static class ProxyMetrics
{
    private static readonly MetricFamily[] ProxyFamilies =
    [
        new("tcpproxy_info", Gauge, "The destination every client is forwarded to.")
            { Label = "destination", Series = [new(s => s.First.DestinationName, s => 1L)] },
        new("tcpproxy_connections_accepted_total", Counter, "Client connections accepted.")
            { Report = "accepted", Series = [Summed(c => c.Counters.Accepted)] },
        new("tcpproxy_connections_active", Gauge, "Client connections open now, those still connecting to the destination included.")
            { Report = ", active", Series = [Summed(c => c.OpenConnections)] },
        new("tcpproxy_connections_closed_total", Counter, "Client connections closed, by reason.")
            { Label = "reason", Report = ", closed", Series = ClosedByReason() },
        new("tcpproxy_bytes_total", Counter, "Bytes written to the sink: up is client to destination, down destination to client.")
        {
            Label = "direction", Report = "; bytes",
            Series = [Summed("up", "up", c => c.Counters.BytesUp), Summed("down", "down", c => c.Counters.BytesDown)],
        },
        new("tcpproxy_connect_failures_total", Counter, "Destination addresses that refused, failed or timed out, fallback attempts included.")
            { Report = "; connect failures", Series = [Summed(c => c.Counters.ConnectFailures)] },
        new("tcpproxy_destination_addresses", Gauge, "Addresses the destination's name resolves to now: those new clients try.")
            { Series = [new(null, null, s => s.First.Destinations.Current.Addresses.Length)] },
        new("tcpproxy_resolutions_total", Counter, "Lookups of the destination's name since start-up (--resolve-interval, or early after failing clients), failed ones included.")
            { Series = [new(null, null, s => s.First.Destinations.Resolutions)] },
        new("tcpproxy_resolution_failures_total", Counter, "Lookups of the destination's name that failed or found no address: the last good addresses stayed in use.")
            { Series = [new(null, null, s => s.First.Destinations.Failures)] },
        new("tcpproxy_accept_pauses_total", Counter, "Times accepting paused: the connection limit was reached, or descriptors ran out.")
            { Report = ", accept pauses", Series = [Summed(c => c.Counters.AcceptPauses)] },
        new("tcpproxy_buffered_bytes", Gauge, "Bytes read and not yet written, in every ring buffer and pipe.")
            { Report = ", buffered bytes", Series = [Summed(c => c.Counters.BufferedBytes)] },
        new("tcpproxy_buffers_in_use", Gauge, "Ring buffers lent to directions now: one per direction with data in flight.")
            { Report = ", buffers in use", Series = [Summed(c => c.BufferPool.BlocksInUse)] },
        new("tcpproxy_buffer_memory_bytes", Gauge, "Bytes of ring-buffer memory taken from the system (in use and pooled).")
            { Series = [Summed(c => c.BufferPool.BlocksCarved * c.BufferPool.BlockSize)] },
        new("tcpproxy_buffer_waits_total", Counter, "Times a direction stopped reading because no ring buffer was free (--buffer-memory, or out of memory).")
            { Report = ", buffer waits", Series = [Summed(c => c.BufferWaits)] },
        new("tcpproxy_reactor_connections_accepted_total", Counter, "Client connections accepted, by reactor (event loop).")
            { Label = "reactor", Report = "; per reactor accepted", PerReactor = c => c.Counters.Accepted },
        new("tcpproxy_reactor_connections_active", Gauge, "Client connections open now, by reactor (event loop).")
            { Label = "reactor", Report = ", active", PerReactor = c => c.OpenConnections },
        new("tcpproxy_splice_switches_total", Counter, "Directions that switched, under --splice auto: to splice (a bulk stream), back to copy (it went quiet).")
        {
            Label = "to", Report = "; splice switches",
            Series = [Summed("splice", "to splice", c => c.Counters.SwitchesToSplice), Summed("copy", "to copy", c => c.Counters.SwitchesToCopy)],
        },
        new("tcpproxy_pipes", Gauge, "Kernel pipes of splice mode: lent to directions with bytes in flight, and idle in the pool.")
        {
            Label = "state", Report = ", pipes",
            Series = [Summed("in_use", "in use", c => c.Pipes?.InUse ?? 0), Summed("idle", "idle", c => c.Pipes?.Idle ?? 0)],
        },
        new("tcpproxy_log_lines_dropped_total", Counter, "Log lines lost because the destination was full or failed: stderr, and the access log when it is a file.")
        {
            Label = "log", Report = "; log lines dropped",
            Series =
            [
                new("stderr", null, s => s.First.Log.Writer?.DroppedLines ?? 0),
                new("access", "access log lines dropped", s => s.SeparateAccessLog!.DroppedLines) { Present = s => s.SeparateAccessLog != null },
            ],
        },
    ];

    // The standard process series (as the Prometheus client libraries name them), from /proc.
    private static readonly MetricFamily[] ProcessFamilies =
    [
        new("process_resident_memory_bytes", Gauge, "Resident memory size in bytes.") { Series = [new(null, null, s => s.Process.ResidentBytes)] },
        new("process_open_fds", Gauge, "Number of open file descriptors.") { Series = [new(null, null, s => s.Process.OpenFds)] },
        new("process_max_fds", Gauge, "Maximum number of open file descriptors.") { Series = [new(null, null, s => s.Process.MaxFds)] },
        new("process_cpu_seconds_total", Counter, "Total user and system CPU time spent in seconds.") { Series = [new(null, null, s => s.Process.CpuSeconds)] },
        new("process_start_time_seconds", Gauge, "Start time of the process since unix epoch in seconds.") { Series = [new(null, null, s => s.Process.StartTimeSeconds)] },
    ];

    /// <summary>Every metric, in the order of the exposition.</summary>
    internal static readonly MetricFamily[] Families = [.. ProxyFamilies, .. ProcessFamilies];

    internal static string Render(LoopParts loop) => Render([loop]);

    /// <summary>Every series summed over the reactors, then each reactor's accepted and active clients (label reactor="0"...).</summary>
    internal static string Render(IReadOnlyList<LoopParts> loops)
    {
        var source = new MetricSource(loops);
        var writer = new PrometheusWriter();
        foreach (MetricFamily family in Families)
        {
            writer.Family(family.Name, family.TypeName, family.Help);
            if (family.PerReactor is Func<LoopParts, long> perReactor)
            {
                for (int i = 0; i < loops.Count; i++)
                    writer.Sample(family.Name, family.Label, i.ToString(CultureInfo.InvariantCulture), perReactor(loops[i]));
                continue;
            }
            foreach (MetricSeries series in family.Series)
            {
                if (series.IsPresent(source))
                    writer.Sample(family.Name, family.Label, series.LabelValueOf(source), series.Read(source));
            }
        }
        return writer.ToString();
    }

    // A figure every loop counts for itself, added up.
    private static MetricSeries Summed(Func<LoopParts, long> read) => Summed(null, null, read);

    private static MetricSeries Summed(string? labelValue, string? reportWords, Func<LoopParts, long> read) =>
        new(labelValue, reportWords, s => s.Sum(read));

    // One series per close reason, labelled and reported with the reason's own word.
    private static MetricSeries[] ClosedByReason()
    {
        var series = new MetricSeries[CloseReasons.Count];
        for (int i = 0; i < series.Length; i++)
        {
            var reason = (CloseReason)i;
            series[i] = Summed(CloseReasons.Name(reason), CloseReasons.Name(reason), c => c.Counters.Closed(reason));
        }
        return series;
    }
}
