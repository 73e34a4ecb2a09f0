using System;
using System.Diagnostics;
using System.IO;
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
        // A tenth of the timeout apart: a test thread preempted for over a second on a loaded
        // host is the only way to miss it, where 0.6 s against 0.15 s left 0.45 s.
        var idleTimeout = TimeSpan.FromMilliseconds(1500);
        var interval = TimeSpan.FromMilliseconds(150);
        var server = StartServer();
        var proxy = StartProxy(server, "--idle-timeout", "1.5");
        // The pair's idle clock starts once the proxy accepted: not before this moment.
        var clock = Stopwatch.StartNew();
        var (client, serverSide) = ConnectPair(proxy, server);

        // 3.3 s of traffic, alternating directions: each one alone keeps the pair. Each
        // send is timed from the previous send, not from that byte's arrival: the proxy
        // read it no earlier than it was sent, so its idle deadline is at least the timeout after
        // that send whatever the proxy's or this thread's scheduling did meanwhile.
        TimeSpan previousSend = TimeSpan.Zero;
        for (int round = 0; round < 22; round++)
        {
            TimeSpan wait = previousSend + interval - clock.Elapsed;
            if (wait > TimeSpan.Zero)
                System.Threading.Thread.Sleep(wait); // the traffic pattern under test, not a synchronisation
            bool up = round % 2 == 0;
            TimeSpan sendStarted = clock.Elapsed;
            SocketIo.SendAll(up ? client : serverSide, new byte[] { (byte)round });
            // In the proxy's socket once send returned (loopback): it must be forwarded if this is within the timeout.
            TimeSpan gap = clock.Elapsed - previousSend;
            previousSend = sendStarted;
            byte[] received;
            try
            {
                received = SocketIo.ReceiveExactly(up ? serverSide : client, 1);
            }
            catch (EndOfStreamException)
            {
                Assert.Fail(gap < idleTimeout
                    ? $"round {round}: the pair was closed though this byte was sent {gap.TotalMilliseconds:0} ms after the previous one (idle timeout {idleTimeout.TotalMilliseconds:0} ms)"
                    : $"round {round}: this test sent its byte {gap.TotalMilliseconds:0} ms after the previous one, past the idle timeout: the test host stalled, the proxy was right");
                throw;
            }
            Assert.Equal((byte)round, received[0]);
        }
        Assert.True(clock.Elapsed > 2 * idleTimeout, "the exchange ended too early to span two idle timeouts");
        AssertProxyAlive(proxy);
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(10), "client once the traffic stopped");
    }
}
