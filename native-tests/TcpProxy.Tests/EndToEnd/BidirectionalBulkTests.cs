using System.Diagnostics;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>Both directions of one connection carry bulk data at the same time.</summary>
public sealed class BidirectionalBulkTests : EndToEndTest
{
    public BidirectionalBulkTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void SimultaneousBulkBothWays_16MiB_ArrivesByteExact()
    {
        var server = StartServer();
        var proxy = StartProxy(server);
        var (client, serverSide) = ConnectPair(proxy, server);

        var clock = Stopwatch.StartNew();
        var (upSent, upReceived, downSent, downReceived) = BothWays.Run(client, serverSide, 16L << 20);
        Output.WriteLine($"16 MiB each way at once: {clock.Elapsed.TotalMilliseconds:0} ms " +
                         $"({2 * 16 / clock.Elapsed.TotalSeconds:0} MiB/s total)");

        Assert.Equal(upSent, upReceived);
        Assert.Equal(downSent, downReceived);
    }

    [Fact]
    public void SmallBufferSize1024_BulkBothWays_ArrivesByteExact()
    {
        var server = StartServer();
        var proxy = StartProxy(server, "--buffer-size", "1024");
        var (client, serverSide) = ConnectPair(proxy, server);

        var (upSent, upReceived, downSent, downReceived) = BothWays.Run(client, serverSide, 4L << 20);

        Assert.Equal(upSent, upReceived);
        Assert.Equal(downSent, downReceived);
    }
}
