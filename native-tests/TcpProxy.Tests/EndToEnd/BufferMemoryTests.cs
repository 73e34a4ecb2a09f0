using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Net.Sockets;
using System.Threading.Tasks;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// Ring buffers are lent from a pool only while a direction holds data, and
/// --buffer-memory bounds the pool: a direction that needs a buffer beyond it
/// stops reading (back-pressure) until one frees up, without losing a byte.
/// </summary>
public sealed class BufferMemoryTests : EndToEndTest
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public BufferMemoryTests(ITestOutputHelper output) : base(output) { }

    (ProxyProcess Proxy, int MetricsPort) StartWithMetrics(LoopbackServer server, params string[] options)
    {
        int metricsPort = FreePort.Pick();
        var proxy = StartProxy(server, ["--metrics", "127.0.0.1:" + metricsPort.ToString(CultureInfo.InvariantCulture), .. options]);
        return (proxy, metricsPort);
    }

    /// <summary>Scrapes until the sample satisfies the condition (the proxy's loop updates it asynchronously); bounded.</summary>
    static double AwaitSample(int metricsPort, string name, Func<double, bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            double value = HttpScrape.Get(metricsPort).Sample(name);
            if (condition(value) || clock.Elapsed > limit)
                return value;
            System.Threading.Thread.Sleep(20); // polling an endpoint: there is no event to await
        }
    }

    [Fact]
    public void IdlePairs_HoldNoBuffer_AfterTrafficBothWays()
    {
        var server = StartEchoServer();
        var (proxy, metricsPort) = StartWithMetrics(server);
        const int Pairs = 300;
        var clients = new Socket[Pairs];
        for (int i = 0; i < Pairs; i++)
        {
            clients[i] = Connect(proxy);
            SocketIo.SendAll(clients[i], new byte[] { (byte)i, 1, 2, 3 });
            Assert.Equal(new byte[] { (byte)i, 1, 2, 3 }, SocketIo.ReceiveExactly(clients[i], 4));
        }
        var scrape = HttpScrape.Get(metricsPort);
        double inUse = scrape.Sample("tcpproxy_buffers_in_use");
        double memory = scrape.Sample("tcpproxy_buffer_memory_bytes");
        Output.WriteLine($"{Pairs} idle pairs after an echo each: {inUse} buffers in use, {memory} B of buffer memory");
        Assert.Equal(Pairs, scrape.Sample("tcpproxy_connections_active"));
        Assert.Equal(0, inUse);
        // One slab serves them all: far less than the two rings a pair used to keep.
        Assert.True(memory <= 512 * 1024, $"{memory} B of buffer memory for {Pairs} idle pairs");
    }

    [Fact]
    public void BeyondTheBufferMemoryLimit_DirectionsWait_AndEveryByteArrivesInOrder()
    {
        const int BufferSize = 64 * 1024;
        const long Bytes = 24L << 20; // beyond what the server's receive buffer and the proxy's send buffer absorb
        var server = StartServer();
        var (proxy, metricsPort) = StartWithMetrics(server, "--buffer-size", BufferSize.ToString(CultureInfo.InvariantCulture),
            "--buffer-memory", "128K", "--stall-timeout", "120");

        // Two clients push into servers that do not read yet: each holds one of the two buffers.
        var clients = new Socket[3];
        var servers = new Socket[3];
        var sent = new Task<Digest>[3];
        for (int i = 0; i < 2; i++)
        {
            (clients[i], servers[i]) = ConnectPair(proxy, server);
            int seed = i;
            Socket client = clients[i];
            sent[i] = Background.Run(() => BulkData.Send(client, Bytes, seed));
        }
        Assert.Equal(2, AwaitSample(metricsPort, "tcpproxy_buffers_in_use", v => v == 2, Wait));

        // A third needs a buffer too: it waits, it is not reset, and the wait is said once.
        (clients[2], servers[2]) = ConnectPair(proxy, server);
        Socket third = clients[2];
        sent[2] = Background.Run(() => BulkData.Send(third, Bytes, 2));
        Assert.Equal(1, AwaitSample(metricsPort, "tcpproxy_buffer_waits_total", v => v >= 1, Wait));
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("--buffer-memory limit (131072 B) is reached", StringComparison.Ordinal), Wait));
        Assert.Equal(2, HttpScrape.Get(metricsPort).Sample("tcpproxy_buffers_in_use"));
        AssertProxyAlive(proxy);

        // The servers read: every byte of all three arrives in order, and the episode's end is said.
        foreach (Socket s in servers)
            Own(s);
        BulkData.AssertEachArrives(sent, servers, Bytes, Wait);
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("buffers free again", StringComparison.Ordinal), Wait));
        // Logged per episode, not per wait (the queue emptied and filled many times meanwhile).
        Assert.InRange(proxy.StderrLines.Count(l => l.Contains("is reached", StringComparison.Ordinal)), 1, 3);
        Assert.Equal(0, AwaitSample(metricsPort, "tcpproxy_buffers_in_use", v => v == 0, Wait));
    }
}
