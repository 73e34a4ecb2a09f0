using System;
using System.Diagnostics;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>--idle-timeout closes a pair that moved nothing either way for that long, and only such a pair.</summary>
public sealed class IdleTimeoutTests : EndToEndTest
{
    public IdleTimeoutTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void IdlePair_IsClosedWithReasonIdle()
    {
        var server = StartServer();
        var proxy = StartProxy(server, "--idle-timeout", "0.5", "--verbose");
        var (client, serverSide) = ConnectPair(proxy, server);
        SocketIo.SendAll(client, new byte[] { 1 });
        SocketIo.ReceiveExactly(serverSide, 1);
        var quietSince = Stopwatch.StartNew();

        SocketIo.AssertEof(client, TimeSpan.FromSeconds(10), "client of an idle pair");
        TimeSpan closedAfter = quietSince.Elapsed;
        SocketIo.AssertEof(serverSide, TimeSpan.FromSeconds(2), "server of an idle pair");

        Assert.True(closedAfter >= TimeSpan.FromMilliseconds(450), $"closed after only {closedAfter.TotalMilliseconds:0} ms of silence");
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("; idle (idle for", StringComparison.Ordinal), TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void PairMovingBytesEitherWay_OutlivesTheIdleTimeout()
    {
        var server = StartServer();
        var proxy = StartProxy(server, "--idle-timeout", "0.6");
        var (client, serverSide) = ConnectPair(proxy, server);

        // 2.4 s of traffic, never 0.6 s apart, alternating directions: each one alone keeps the pair.
        var clock = Stopwatch.StartNew();
        for (int round = 0; round < 12 && clock.Elapsed < TimeSpan.FromSeconds(20); round++)
        {
            System.Threading.Thread.Sleep(200); // the traffic pattern under test, not a synchronisation
            bool up = round % 2 == 0;
            SocketIo.SendAll(up ? client : serverSide, new byte[] { (byte)round });
            Assert.Equal((byte)round, SocketIo.ReceiveExactly(up ? serverSide : client, 1)[0]);
        }
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(1.2), "the exchange ended too early to span two idle timeouts");
        AssertProxyAlive(proxy);
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(10), "client once the traffic stopped");
    }
}
