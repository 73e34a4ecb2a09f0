using System;
using System.Collections.Generic;
using System.Globalization;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>A scrape's cost to the proxy does not grow with the connections it holds open.</summary>
public sealed class MetricsScrapeCostTests : EndToEndTest
{
    // TCPPROXY_SCRAPE_PAIRS: the larger count (each pair costs this test two descriptors and the proxy two).
    static readonly int ManyPairs = int.TryParse(Environment.GetEnvironmentVariable("TCPPROXY_SCRAPE_PAIRS"), out int pairs) ? pairs : 5000;

    public MetricsScrapeCostTests(ITestOutputHelper output) : base(output) { }

    [LinuxFact("strace -c, /proc/PID/fd")]
    public void OneScrape_MakesAsManySyscalls_With100Or5000PairsOpen()
    {
        IReadOnlyDictionary<string, long> few = ScrapeSyscalls(100);
        IReadOnlyDictionary<string, long> many = ScrapeSyscalls(ManyPairs);
        Output.WriteLine($"one scrape: {few["total"]} syscalls with 100 pairs open, {many["total"]} with {ManyPairs}");
        Output.WriteLine("with " + ManyPairs + ": " + string.Join(", ", Summary(many)));
        // A few calls of slack: the loop's own timer wake-ups during the traced window vary.
        Assert.True(many["total"] <= few["total"] + 30,
            $"a scrape made {many["total"]} syscalls with {ManyPairs} pairs open against {few["total"]} with 100");
        Assert.True(_pathStats.Count == 0, "a scrape stat'ed a path:\n" + string.Join("\n", _pathStats));
    }

    // Calls that stat'ed a path while a scrape was traced (a descriptor's fstat is not one).
    readonly List<string> _pathStats = new();

    [LinuxFact("/proc/PID/fd")]
    public void OpenFds_IsExactlyWhatTheProcessHolds()
    {
        var (proxy, _, metricsPort) = StartWithPairs(100);
        int before = ProcessLimits.OpenDescriptors(proxy.Pid);
        HttpReply reply = HttpScrape.Get(metricsPort);
        // The scrape's own connection is open while the body is rendered.
        Assert.Equal(before + 1, reply.Sample("process_open_fds"));
        Assert.Equal(100, reply.Sample("tcpproxy_connections_active"));
    }

    [Fact]
    public void ScrapesWithinASecond_GetOneRendering_HeadToo()
    {
        var (proxy, server, metricsPort) = StartWithPairs(0);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        HttpReply first = HttpScrape.Get(metricsPort);
        ConnectPair(proxy, server); // accepted and connected: the counters have moved
        HttpReply head = HttpScrape.Send(metricsPort, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        HttpReply second = HttpScrape.Get(metricsPort);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(900), $"three scrapes took {clock.ElapsedMilliseconds} ms: too slow to see the cache");
        Assert.Equal(first.Body, second.Body);
        Assert.Equal(0, second.Sample("tcpproxy_connections_accepted_total"));
        Assert.Equal(first.Headers["Content-Length"], head.Headers["Content-Length"]);
        Assert.Equal("", head.Body);
    }

    IReadOnlyDictionary<string, long> ScrapeSyscalls(int pairs)
    {
        var (proxy, _, metricsPort) = StartWithPairs(pairs);
        HttpReply? reply = null;
        var counts = SyscallCount.During(proxy.Pid, () => reply = HttpScrape.Get(metricsPort), _pathStats);
        Assert.Equal(200, reply!.Status);
        Assert.Equal(pairs, reply.Sample("tcpproxy_connections_active"));
        return counts;
    }

    /// <summary>A proxy with --metrics and this many idle pairs, each accepted by the destination.</summary>
    (ProxyProcess Proxy, LoopbackServer Server, int MetricsPort) StartWithPairs(int pairs)
    {
        var server = StartServer();
        int metricsPort = FreePort.Pick();
        var proxy = StartProxy(server, "--metrics", "127.0.0.1:" + metricsPort.ToString(CultureInfo.InvariantCulture));
        for (int i = 0; i < pairs; i++)
            ConnectPair(proxy, server);
        return (proxy, server, metricsPort);
    }

    static IEnumerable<string> Summary(IReadOnlyDictionary<string, long> counts)
    {
        foreach (var (name, calls) in counts)
            yield return name + " " + calls.ToString(CultureInfo.InvariantCulture);
    }
}
