using System.Collections.Generic;
using System.Globalization;
using System.Text;
using TcpProxy.Proxy;

namespace TcpProxy.Metrics;

/// <summary>The counters as one log line, for SIGUSR1: the same figures as the metrics endpoint.</summary>
public static class CounterReport
{
    internal static string Format(LoopParts context) => Format([context]);

    /// <summary>The sum over every reactor; with several, each one's accepted and active clients follow.</summary>
    internal static string Format(IReadOnlyList<LoopParts> contexts)
    {
        LoopParts context = contexts[0];
        var counters = new CounterTotals(contexts);
        var line = new StringBuilder("counters: accepted ", 256);
        Append(line, counters.Accepted).Append(", active ");
        Append(line, counters.Active).Append(", closed");
        for (int i = 0; i < CloseReasons.Count; i++)
        {
            line.Append(i == 0 ? " " : ", ").Append(CloseReasons.Name((CloseReason)i)).Append(' ');
            Append(line, counters.Closed((CloseReason)i));
        }
        line.Append("; bytes up ");
        Append(line, counters.BytesUp).Append(", down ");
        Append(line, counters.BytesDown).Append("; connect failures ");
        Append(line, counters.ConnectFailures).Append(", accept pauses ");
        Append(line, counters.AcceptPauses).Append(", buffered bytes ");
        Append(line, counters.BufferedBytes).Append(", buffers in use ");
        Append(line, counters.BuffersInUse).Append(", buffer waits ");
        Append(line, counters.BufferWaits).Append("; splice switches to splice ");
        Append(line, counters.SwitchesToSplice).Append(", to copy ");
        Append(line, counters.SwitchesToCopy).Append(", pipes in use ");
        Append(line, counters.PipesInUse).Append(", idle ");
        Append(line, counters.PipesIdle).Append("; log lines dropped ");
        Append(line, context.Log.Writer?.DroppedLines ?? 0);
        if (context.AccessLog is AccessLog accessLog && accessLog.Writer != context.Log.Writer)
            Append(line.Append(", access log lines dropped "), accessLog.Writer.DroppedLines);
        if (contexts.Count > 1)
        {
            line.Append("; per reactor accepted ");
            AppendEach(line, contexts, c => c.Counters.Accepted);
            line.Append(", active ");
            AppendEach(line, contexts, c => c.OpenConnections);
        }
        return line.ToString();
    }

    // "120/80": one figure per reactor, in order.
    private static void AppendEach(StringBuilder line, IReadOnlyList<LoopParts> contexts, System.Func<LoopParts, long> figure)
    {
        for (int i = 0; i < contexts.Count; i++)
            Append(i == 0 ? line : line.Append('/'), figure(contexts[i]));
    }

    private static StringBuilder Append(StringBuilder line, long value) => line.Append(value.ToString(CultureInfo.InvariantCulture));
}
