using System;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace TcpProxy.Tests.Support;

/// <summary>Shared steps of the lazy-peer timeout tests: block a writer, then time the proxy's abort.</summary>
public static class StallTimeoutWindow
{
    static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Fills <paramref name="writer"/> until blocked, then waits on <paramref name="watcher"/> (a socket that
    /// receives nothing else) for the proxy's close. Returns seconds from the writer's last accepted byte.
    /// </summary>
    public static double MeasureAbort(Socket writer, Socket watcher, ITestOutputHelper output, string what)
    {
        var filled = SocketIo.FillUntilBlocked(writer, Quiet);
        var closed = SocketIo.WaitForClose(watcher, TimeSpan.FromSeconds(20));
        double seconds = filled.SinceLastSend.TotalSeconds;
        output.WriteLine($"{what}: writer blocked after {filled.BytesSent} bytes; close observed as {closed.Kind} " +
                         $"{seconds:0.00} s after the writer blocked");
        Assert.NotEqual(CloseKind.TimedOut, closed.Kind);
        return seconds;
    }

    public static void AssertWithinWindow(double seconds, double low, double high) =>
        Assert.True(seconds >= low && seconds <= high,
            $"aborted {seconds:0.00} s after the writer blocked; expected between {low} and {high} s");
}
