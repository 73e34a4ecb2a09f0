using System;
using System.Diagnostics;
using System.Net.Sockets;
using System.Threading;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>Classic phase "early close": the server closes at once, the client keeps writing slowly.</summary>
public sealed class EarlyCloseTests : EndToEndTest
{
    public EarlyCloseTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void EarlyClose_ProxyClosesClientAfterServerCloses()
    {
        var server = StartServer();
        var proxy = StartProxy(server);
        var (client, serverSide) = ConnectPair(proxy, server);
        serverSide.Close();
        var clock = Stopwatch.StartNew();

        // The server's EOF reaches the client as EOF.
        var eof = SocketIo.WaitForClose(client, TimeSpan.FromSeconds(3));
        Assert.Equal(CloseKind.Eof, eof.Kind);

        // Writing on: the proxy's write to the closed server fails, so it must close the client,
        // which the client sees as a failed send (EPIPE/ECONNRESET). Pacing: one byte a second.
        TimeSpan? closedAt = null;
        for (int i = 0; i < 6 && closedAt is null; i++)
        {
            client.Send(new byte[] { (byte)i }, 0, 1, SocketFlags.None, out SocketError error);
            if (error != SocketError.Success) closedAt = clock.Elapsed;
            else Thread.Sleep(1000);
        }
        Output.WriteLine($"client EOF after {eof.Elapsed.TotalMilliseconds:0} ms; send failed after " +
                         (closedAt is { } t ? $"{t.TotalSeconds:0.0} s" : "never"));
        Assert.True(closedAt is not null, "the proxy kept the client open for 6 s of writes after the server closed");
        AssertProxyAlive(proxy);
    }
}
