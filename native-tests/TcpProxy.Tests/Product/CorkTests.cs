using System;
using System.Diagnostics;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.Product;

/// <summary>
/// A read that fills the ring makes the proxy write with MSG_MORE (more is
/// probably coming). When the source then runs dry the proxy must push what
/// the kernel held back: a burst of exactly a ring's worth may not sit corked.
/// </summary>
public sealed class CorkTests : EndToEndTest
{
    // Far above a loopback round trip, below the 200 ms a kernel cork may hold data.
    private static readonly TimeSpan HeldBackLimit = TimeSpan.FromMilliseconds(150);

    public CorkTests(ITestOutputHelper output) : base(output) { }

    [Theory]
    [InlineData(8192, 8192)]
    [InlineData(16384, 8192)]
    [InlineData(4096, 4096)]
    public void BurstOfExactRingMultiples_IsNotHeldBack(int burst, int bufferSize)
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--buffer-size", bufferSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var client = Connect(proxy);
        var data = new byte[burst];
        new Random(burst).NextBytes(data);
        TimeSpan worst = TimeSpan.Zero;
        for (int round = 0; round < 10; round++)
        {
            var clock = Stopwatch.StartNew();
            SocketIo.SendAll(client, data);
            Assert.Equal(data, SocketIo.ReceiveExactly(client, data.Length, TimeSpan.FromSeconds(5)));
            if (clock.Elapsed > worst)
                worst = clock.Elapsed;
        }
        Output.WriteLine($"worst echo of {burst} B through {bufferSize} B rings: {worst.TotalMilliseconds:0.00} ms");
        Assert.True(worst < HeldBackLimit, $"a {burst} B burst took {worst.TotalMilliseconds:0} ms: data held back by MSG_MORE");
    }
}
