using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>A connection whose peer does not read must not hold up the others.</summary>
public sealed class BlockedNeighbourTests : EndToEndTest
{
    static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    public BlockedNeighbourTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void Bulk2MB_ThroughChainOfTwenty_WhileAnotherServerNeverReads_ArrivesByteExact()
    {
        var server = StartServer();
        var proxy = StartProxy(server);

        // First connection: its server never reads, its client writes until nothing more is taken.
        var (blockedClient, _) = ConnectPair(proxy, server);
        var filled = SocketIo.FillUntilBlocked(blockedClient, Quiet);
        Output.WriteLine($"blocked connection took {filled.BytesSent} bytes before blocking");

        using var stop = new CancellationTokenSource();
        var stillWriting = Background.Run(() => SocketIo.KeepWriting(blockedClient, stop.Token));

        var chain = Enumerable.Range(0, 20).Select(_ => server.AcceptAndEchoAfter(Connect(proxy))).ToArray();
        var clock = Stopwatch.StartNew();
        var (sent, received) = ChainTransfer.Run(chain, 2 * 1024 * 1024, seed: 3);
        Output.WriteLine($"2 MB through 20 chained connections beside a blocked one: {clock.Elapsed.TotalMilliseconds:0} ms");
        stop.Cancel();
        long extra = Background.Await(stillWriting, TimeSpan.FromSeconds(5), "blocked client's writer");
        Output.WriteLine($"blocked client added {extra} bytes while the bulk ran");

        Assert.Equal(sent, received);
        AssertProxyAlive(proxy);
    }

    [Fact]
    public void EchoRoundTrips_EachUnderOneSecond_WhileOtherConnectionsAreBlocked()
    {
        var server = StartServer();
        var proxy = StartProxy(server);

        // Forward-blocked: server never reads. Reverse-blocked: client never reads while server floods.
        var (forwardClient, _) = ConnectPair(proxy, server);
        var (_, reverseServer) = ConnectPair(proxy, server);
        var forward = SocketIo.FillUntilBlocked(forwardClient, Quiet);
        var reverse = SocketIo.FillUntilBlocked(reverseServer, Quiet);
        Output.WriteLine($"blocked connections took {forward.BytesSent} bytes forward, {reverse.BytesSent} bytes reverse");

        var echoClient = server.AcceptAndEchoAfter(Connect(proxy));
        const int roundTrips = 300;
        var rtts = new double[roundTrips];
        var message = new byte[16];
        for (int i = 0; i < roundTrips; i++)
        {
            message[0] = (byte)i;
            var clock = Stopwatch.StartNew();
            SocketIo.SendAll(echoClient, message);
            var echoed = SocketIo.ReceiveExactly(echoClient, message.Length, TimeSpan.FromSeconds(2));
            rtts[i] = clock.Elapsed.TotalMilliseconds;
            Assert.Equal(message, echoed);
        }

        Array.Sort(rtts);
        double p50 = rtts[roundTrips / 2], p99 = rtts[roundTrips * 99 / 100], max = rtts[^1];
        Output.WriteLine($"echo RTT beside 2 blocked connections over {roundTrips} trips: p50 {p50:0.000} ms, p99 {p99:0.000} ms, max {max:0.000} ms");
        // A functional bound only (no speed target): a blocked neighbour must never stall the loop.
        Assert.True(max < 1000, $"slowest round trip took {max:0} ms");
        AssertProxyAlive(proxy);
    }
}
