using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>--metrics: Prometheus text exposition served by the proxy's own loop, exact after known traffic.</summary>
public sealed class MetricsTests : EndToEndTest
{
    static readonly string[] Reasons = ["eof", "stall", "write_error", "connect_failed", "connect_timeout", "idle", "drain", "reset"];

    public MetricsTests(ITestOutputHelper output) : base(output) { }

    (ProxyProcess Proxy, int MetricsPort) StartWithMetrics(LoopbackServer server, params string[] options)
    {
        int metricsPort = FreePort.Pick();
        var proxy = StartProxy(server, ["--metrics", "127.0.0.1:" + metricsPort.ToString(CultureInfo.InvariantCulture), .. options]);
        return (proxy, metricsPort);
    }

    [Fact]
    public void AfterKnownTraffic_TheCountersAreExact_AndTheTextIsWellFormed()
    {
        var server = StartEchoServer();
        var (proxy, metricsPort) = StartWithMetrics(server);
        Exchange(Connect(proxy), 100, close: true);
        Exchange(Connect(proxy), 2000, close: true);
        Exchange(Connect(proxy), 7, close: false); // left open

        HttpReply reply = HttpScrape.Get(metricsPort);
        Output.WriteLine(reply.Body);

        Assert.Equal(200, reply.Status);
        Assert.StartsWith("text/plain; version=0.0.4", reply.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal("close", reply.Headers["Connection"]);
        Assert.Equal(Encoding.UTF8.GetByteCount(reply.Body), int.Parse(reply.Headers["Content-Length"], CultureInfo.InvariantCulture));
        AssertWellFormedExposition(reply.Body);
        Assert.Equal(3, reply.Sample("tcpproxy_connections_accepted_total"));
        Assert.Equal(1, reply.Sample("tcpproxy_connections_active"));
        foreach (string reason in Reasons)
            Assert.Equal(reason == "eof" ? 2 : 0, reply.Sample("tcpproxy_connections_closed_total", $"reason=\"{reason}\""));
        Assert.Equal(2107, reply.Sample("tcpproxy_bytes_total", "direction=\"up\""));
        Assert.Equal(2107, reply.Sample("tcpproxy_bytes_total", "direction=\"down\""));
        Assert.Equal(0, reply.Sample("tcpproxy_connect_failures_total"));
        Assert.Equal(0, reply.Sample("tcpproxy_accept_pauses_total"));
        Assert.Equal(0, reply.Sample("tcpproxy_buffered_bytes"));
        Assert.True(reply.Sample("process_resident_memory_bytes") > 1 << 20);
        Assert.True(reply.Sample("process_open_fds") >= 6); // listener, metrics listener, epoll, eventfd, a pair
        Assert.True(reply.Sample("process_max_fds") >= reply.Sample("process_open_fds"));
        Assert.True(reply.Sample("process_cpu_seconds_total") >= 0);
        double age = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 - reply.Sample("process_start_time_seconds");
        Assert.True(age > -2 && age < 600, $"process_start_time_seconds is {age:0.0} s ago");
    }

    [NotOnLibKqueueFact("reads SO_ERROR into the event, so a refused connect's getsockopt finds no error")]
    public void ConnectFailuresAndPauses_AreCounted()
    {
        var refusing = Own(LoopbackServer.BoundButNotListening());
        var (proxy, metricsPort) = StartWithMetrics(refusing, "--max-connections", "1");
        try
        {
            var client = Connect(proxy);
            Assert.NotEqual(CloseKind.TimedOut, SocketIo.WaitForClose(client, TimeSpan.FromSeconds(10)).Kind);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Reset before the connect call had even returned: the same outcome, seen earlier.
        }

        HttpReply reply = HttpScrape.Get(metricsPort);

        Assert.Equal(1, reply.Sample("tcpproxy_connections_closed_total", "reason=\"connect_failed\""));
        Assert.Equal(1, reply.Sample("tcpproxy_connect_failures_total"));
        Assert.Equal(1, reply.Sample("tcpproxy_accept_pauses_total")); // at the limit while the one client connected
        Assert.Equal(0, reply.Sample("tcpproxy_connections_active"));
    }

    [Theory]
    [InlineData(404, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData(404, "GET / HTTP/1.0\r\n\r\n")]
    [InlineData(405, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")]
    [InlineData(400, "garbage\r\n\r\n")]
    [InlineData(400, "GET /metrics\r\n\r\n")]
    [InlineData(400, "GET /metrics HTTP/2.0\r\n\r\n")]
    [InlineData(400, "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n")]
    [InlineData(400, "GET /metrics HTTP/1.1\r\nX: \u0001\r\n\r\n")]
    public void OtherRequests_AreAnsweredAndClosed(int status, string request)
    {
        var server = StartEchoServer();
        var (_, metricsPort) = StartWithMetrics(server);
        HttpReply reply = HttpScrape.Send(metricsPort, request);
        Assert.Equal(status, reply.Status);
        Assert.Equal("close", reply.Headers["Connection"]);
    }

    [Fact]
    public void OversizedRequest_Is400AndClosed()
    {
        var server = StartEchoServer();
        var (_, metricsPort) = StartWithMetrics(server);
        using var socket = SocketIo.Connect(IPAddress.Loopback, metricsPort);
        // Exactly the 4 KiB limit, with no end of head: nothing is left unread when it answers.
        SocketIo.SendAll(socket, Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nX: " + new string('a', 4096 - 26)));
        Assert.Equal(400, HttpScrape.Read(socket).Status);
    }

    [Fact]
    public void SilentAndFloodingScrapers_DoNotSlowForwarding_AndAScrapeStillWorks()
    {
        var server = StartEchoServer();
        var (proxy, metricsPort) = StartWithMetrics(server);
        var client = Connect(proxy);
        using var stop = new CancellationTokenSource();
        long flooded = 0;
        var flooder = Background.Run(() => Interlocked.Exchange(ref flooded, Flood(metricsPort, stop.Token)));
        var silent = new List<Socket>();
        for (int i = 0; i < 200; i++)
            silent.Add(Own(SocketIo.Connect(IPAddress.Loopback, metricsPort, TimeSpan.FromSeconds(10))));

        var worst = TimeSpan.Zero;
        for (int i = 0; i < 50; i++)
        {
            var clock = Stopwatch.StartNew();
            SocketIo.SendAll(client, new[] { (byte)i });
            Assert.Equal((byte)i, SocketIo.ReceiveExactly(client, 1)[0]);
            if (clock.Elapsed > worst) worst = clock.Elapsed;
        }
        HttpReply reply = HttpScrape.Get(metricsPort); // takes the place of the oldest silent client
        stop.Cancel();
        Background.Await(flooder, TimeSpan.FromSeconds(30), "the flooding scraper");

        Output.WriteLine($"slowest of 50 round trips: {worst.TotalMilliseconds:0.0} ms; the flooder sent {Interlocked.Read(ref flooded)} bytes");
        // Generous: a loop blocked by a scraper would hold a round trip for seconds (the 5 s per-request limit).
        Assert.True(worst < TimeSpan.FromSeconds(1), $"a round trip took {worst.TotalMilliseconds:0} ms beside misbehaving scrapers");
        Assert.Equal(200, reply.Status);
        Assert.Equal(1, reply.Sample("tcpproxy_connections_active"));
        Assert.Equal(50, reply.Sample("tcpproxy_bytes_total", "direction=\"up\""));
        AssertProxyAlive(proxy);
    }

    [Fact]
    public void ConnectFlood_NeverResetsAScraperThatSpeaksWithin20Ms()
    {
        var server = StartEchoServer();
        var (proxy, metricsPort) = StartWithMetrics(server);
        const int Scrapes = 10;
        using var go = new SemaphoreSlim(0);
        // Two threads, each a burst of connects per scrape: bounded, and never enough to wrap the ephemeral ports.
        var flooders = new[]
        {
            Background.Run(() => ConnectFlood(metricsPort, go, Scrapes)),
            Background.Run(() => ConnectFlood(metricsPort, go, Scrapes)),
        };

        var failures = new List<string>();
        for (int i = 0; i < Scrapes; i++)
        {
            var spoke = TimeSpan.Zero;
            try
            {
                // A blocking connect, not SocketIo.Connect: that one completes through the thread pool,
                // which a loaded host can hold up for longer than the endpoint's grace after the accept.
                using var socket = SocketIo.Configure(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
                socket.Connect(IPAddress.Loopback, metricsPort);
                var sinceConnect = Stopwatch.StartNew();
                go.Release(2);
                Thread.Sleep(20); // the scenario: a scraper whose request comes 20 ms after its connect
                SocketIo.SendAll(socket, Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
                spoke = sinceConnect.Elapsed;
                HttpReply reply = HttpScrape.Read(socket);
                if (reply.Status != 200 || Encoding.UTF8.GetByteCount(reply.Body) != int.Parse(reply.Headers["Content-Length"], CultureInfo.InvariantCulture))
                    failures.Add($"scrape {i}: status {reply.Status}, {reply.Body.Length} B of body");
            }
            catch (Exception e) when (e is SocketException or FormatException)
            {
                failures.Add($"scrape {i}: {e.GetType().Name} {e.Message} (its request was sent {spoke.TotalMilliseconds:0} ms after its connect)");
            }
        }
        int connects = 0;
        foreach (var flooder in flooders)
            connects += Background.Await(flooder, TimeSpan.FromSeconds(30), "a connect flooder");

        Output.WriteLine($"{connects} flood connects; failed scrapes: {failures.Count}\n{string.Join('\n', failures)}");
        Assert.True(connects > Scrapes * 4 * MetricsEndpointPlaces, $"only {connects} flood connects: no flood");
        Assert.Empty(failures);
        AssertProxyAlive(proxy);
    }

    const int MetricsEndpointPlaces = 16;

    /// <summary>
    /// Per signal from the scraper, a burst of 64 non-blocking connects
    /// (SocketIo.Connect goes through the thread pool: too slow to flood),
    /// each closed 16 connects later. Counts the connects the kernel took.
    /// </summary>
    static int ConnectFlood(int port, SemaphoreSlim go, int rounds)
    {
        int connects = 0;
        var held = new Socket[MetricsEndpointPlaces];
        for (int round = 0; round < rounds; round++)
        {
            if (!go.Wait(TimeSpan.FromSeconds(30)))
                break;
            for (int i = 0; i < 4 * held.Length; i++)
            {
                int slot = i % held.Length;
                held[slot]?.Dispose();
                held[slot] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                try
                {
                    held[slot].Connect(IPAddress.Loopback, port);
                    connects++;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                    connects++;
                }
                catch (SocketException) { } // refused or reset under the flood: the next one
            }
        }
        foreach (Socket? socket in held)
            socket?.Dispose();
        return connects;
    }

    /// <summary>Sends printable garbage with no end of head, reconnecting whenever the proxy drops it.</summary>
    static long Flood(int port, CancellationToken stop)
    {
        var garbage = Encoding.ASCII.GetBytes(new string('z', 16 * 1024));
        long sent = 0;
        var cap = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested && cap.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                using var socket = SocketIo.Connect(IPAddress.Loopback, port, TimeSpan.FromSeconds(10));
                while (!stop.IsCancellationRequested)
                    sent += socket.Send(garbage);
            }
            catch (SocketException) { } // answered 400 and closed: come back
        }
        return sent;
    }

    static void Exchange(Socket client, int bytes, bool close)
    {
        var data = new byte[bytes];
        new Random(bytes).NextBytes(data);
        SocketIo.SendAll(client, data);
        Assert.Equal(data, SocketIo.ReceiveExactly(client, bytes));
        if (!close) return;
        client.Shutdown(SocketShutdown.Send);
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(5), "client after its half-close");
    }

    /// <summary>The 0.0.4 text format: HELP and TYPE once per family before its samples, escaped labels, numeric values.</summary>
    static void AssertWellFormedExposition(string body)
    {
        Assert.EndsWith("\n", body, StringComparison.Ordinal);
        var typed = new HashSet<string>();
        var sample = new Regex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\\n]|\\[\\""n])*""\})? (-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)$");
        string? helpFor = null;
        foreach (string line in body.TrimEnd('\n').Split('\n'))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                helpFor = line.Split(' ')[2];
                continue;
            }
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ');
                Assert.Equal(helpFor, parts[2]);
                Assert.Contains(parts[3], new[] { "counter", "gauge" });
                Assert.True(typed.Add(parts[2]), $"family {parts[2]} typed twice");
                continue;
            }
            Match match = sample.Match(line);
            Assert.True(match.Success, $"not a sample line: '{line}'");
            Assert.Contains(match.Groups[1].Value, typed);
        }
    }
}
