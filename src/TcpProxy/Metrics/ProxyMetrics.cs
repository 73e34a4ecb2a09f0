using System.Collections.Generic;
using TcpProxy.Interop;
using TcpProxy.Proxy;

namespace TcpProxy.Metrics;

/// <summary>Every series the metrics endpoint serves, from the loop's counters and /proc.</summary>
public static class ProxyMetrics
{
    internal static string Render(LoopParts context) => Render([context]);

    /// <summary>Every series summed over the reactors, then each reactor's accepted and active clients (label reactor="0"...).</summary>
    internal static string Render(IReadOnlyList<LoopParts> contexts)
    {
        LoopParts context = contexts[0];
        var counters = new CounterTotals(contexts);
        var writer = new PrometheusWriter();
        writer.Family("tcpproxy_info", "gauge", "The destination every client is forwarded to.")
            .Sample("tcpproxy_info", "destination", context.DestinationName, 1);
        writer.Family("tcpproxy_connections_accepted_total", "counter", "Client connections accepted.")
            .Sample("tcpproxy_connections_accepted_total", counters.Accepted);
        writer.Family("tcpproxy_connections_active", "gauge", "Client connections open now, those still connecting to the destination included.")
            .Sample("tcpproxy_connections_active", counters.Active);
        writer.Family("tcpproxy_connections_closed_total", "counter", "Client connections closed, by reason.");
        for (int i = 0; i < CloseReasons.Count; i++)
            writer.Sample("tcpproxy_connections_closed_total", "reason", CloseReasons.Name((CloseReason)i), counters.Closed((CloseReason)i));
        writer.Family("tcpproxy_bytes_total", "counter", "Bytes written to the sink: up is client to destination, down destination to client.")
            .Sample("tcpproxy_bytes_total", "direction", "up", counters.BytesUp)
            .Sample("tcpproxy_bytes_total", "direction", "down", counters.BytesDown);
        writer.Family("tcpproxy_connect_failures_total", "counter", "Destination addresses that refused, failed or timed out, fallback attempts included.")
            .Sample("tcpproxy_connect_failures_total", counters.ConnectFailures);
        writer.Family("tcpproxy_accept_pauses_total", "counter", "Times accepting paused: the connection limit was reached, or descriptors ran out.")
            .Sample("tcpproxy_accept_pauses_total", counters.AcceptPauses);
        writer.Family("tcpproxy_buffered_bytes", "gauge", "Bytes read and not yet written, in every ring buffer and pipe.")
            .Sample("tcpproxy_buffered_bytes", counters.BufferedBytes);
        writer.Family("tcpproxy_buffers_in_use", "gauge", "Ring buffers lent to directions now: one per direction with data in flight.")
            .Sample("tcpproxy_buffers_in_use", counters.BuffersInUse);
        writer.Family("tcpproxy_buffer_memory_bytes", "gauge", "Bytes of ring-buffer memory taken from the system (in use and pooled).")
            .Sample("tcpproxy_buffer_memory_bytes", counters.BufferMemoryBytes);
        writer.Family("tcpproxy_buffer_waits_total", "counter", "Times a direction stopped reading because no ring buffer was free (--buffer-memory, or out of memory).")
            .Sample("tcpproxy_buffer_waits_total", counters.BufferWaits);
        writer.Family("tcpproxy_reactor_connections_accepted_total", "counter", "Client connections accepted, by reactor (event loop).");
        for (int i = 0; i < contexts.Count; i++)
            writer.Sample("tcpproxy_reactor_connections_accepted_total", "reactor", ReactorName(i), contexts[i].Counters.Accepted);
        writer.Family("tcpproxy_reactor_connections_active", "gauge", "Client connections open now, by reactor (event loop).");
        for (int i = 0; i < contexts.Count; i++)
            writer.Sample("tcpproxy_reactor_connections_active", "reactor", ReactorName(i), contexts[i].OpenConnections);
        writer.Family("tcpproxy_splice_switches_total", "counter", "Directions that switched, under --splice auto: to splice (a bulk stream), back to copy (it went quiet).")
            .Sample("tcpproxy_splice_switches_total", "to", "splice", counters.SwitchesToSplice)
            .Sample("tcpproxy_splice_switches_total", "to", "copy", counters.SwitchesToCopy);
        writer.Family("tcpproxy_pipes", "gauge", "Kernel pipes of splice mode: lent to directions with bytes in flight, and idle in the pool.")
            .Sample("tcpproxy_pipes", "state", "in_use", counters.PipesInUse)
            .Sample("tcpproxy_pipes", "state", "idle", counters.PipesIdle);

        writer.Family("tcpproxy_log_lines_dropped_total", "counter", "Log lines lost because the destination was full or failed: stderr, and the access log when it is a file.")
            .Sample("tcpproxy_log_lines_dropped_total", "log", "stderr", context.Log.Writer?.DroppedLines ?? 0);
        if (context.AccessLog is AccessLog accessLog && accessLog.Writer != context.Log.Writer)
            writer.Sample("tcpproxy_log_lines_dropped_total", "log", "access", accessLog.Writer.DroppedLines);

        ProcessStats process = ProcessStats.Read();
        writer.Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
            .Sample("process_resident_memory_bytes", process.ResidentBytes);
        writer.Family("process_open_fds", "gauge", "Number of open file descriptors.")
            .Sample("process_open_fds", process.OpenFds);
        writer.Family("process_max_fds", "gauge", "Maximum number of open file descriptors.")
            .Sample("process_max_fds", process.MaxFds);
        writer.Family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
            .Sample("process_cpu_seconds_total", process.CpuSeconds);
        writer.Family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
            .Sample("process_start_time_seconds", process.StartTimeSeconds);
        return writer.ToString();
    }

    private static string ReactorName(int index) => index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
