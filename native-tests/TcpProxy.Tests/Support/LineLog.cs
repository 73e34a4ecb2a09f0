using System;
using System.Collections.Generic;
using System.Threading;

namespace TcpProxy.Tests.Support;

/// <summary>Thread-safe capture of a child's output lines; signals once a line contains the marker (if any).</summary>
public sealed class LineLog : IDisposable
{
    readonly object gate = new();
    readonly List<string> lines = new();
    readonly string? marker;

    public LineLog(string? marker = null) => this.marker = marker;

    public ManualResetEventSlim MarkerSeen { get; } = new(false);

    public void Add(string? line)
    {
        if (line is null) return; // end of stream
        lock (gate)
        {
            lines.Add(line);
            Monitor.PulseAll(gate);
        }
        if (marker is not null && line.Contains(marker, StringComparison.Ordinal)) MarkerSeen.Set();
    }

    public IReadOnlyList<string> Lines
    {
        get { lock (gate) return lines.ToArray(); }
    }

    public string Text => string.Join('\n', Lines);

    /// <summary>Waits until some line (earlier ones included) matches; returns it, or null after the limit.</summary>
    public string? WaitFor(Func<string, bool> match, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        lock (gate)
        {
            int checkedCount = 0;
            while (true)
            {
                for (; checkedCount < lines.Count; checkedCount++)
                    if (match(lines[checkedCount])) return lines[checkedCount];
                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero) return null;
                Monitor.Wait(gate, remaining);
            }
        }
    }

    public void Dispose() => MarkerSeen.Dispose();
}
