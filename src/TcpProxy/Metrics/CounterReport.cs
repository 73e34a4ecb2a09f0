using System.Globalization;
using System.Text;
using TcpProxy.Proxy;

namespace TcpProxy.Metrics;

/// <summary>The counters as one log line, for SIGUSR1: the same figures as the metrics endpoint.</summary>
public static class CounterReport
{
    public static string Format(ProxyContext context)
    {
        ProxyCounters counters = context.Counters;
        var line = new StringBuilder("counters: accepted ", 256);
        Append(line, counters.Accepted).Append(", active ");
        Append(line, context.OpenConnections).Append(", closed");
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
        Append(line, context.BufferPool.BlocksInUse).Append(", buffer waits ");
        Append(line, context.BufferWaits).Append("; splice switches to splice ");
        Append(line, counters.SwitchesToSplice).Append(", to copy ");
        Append(line, counters.SwitchesToCopy).Append(", pipes in use ");
        Append(line, context.Pipes?.InUse ?? 0).Append(", idle ");
        Append(line, context.Pipes?.Idle ?? 0).Append("; log lines dropped ");
        Append(line, context.Log.Writer?.DroppedLines ?? 0);
        if (context.AccessLog is AccessLog accessLog && accessLog.Writer != context.Log.Writer)
            Append(line.Append(", access log lines dropped "), accessLog.Writer.DroppedLines);
        return line.ToString();
    }

    private static StringBuilder Append(StringBuilder line, long value) => line.Append(value.ToString(CultureInfo.InvariantCulture));
}
