using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using TcpProxy.Configuration;
using TcpProxy.Hosting;
using TcpProxy.Logging;
using Xunit.Abstractions;

namespace TcpProxy.Tests.InProcess;

/// <summary>
/// Runs the proxy in this process with the test thread driving the loop, so
/// the loop's own allocations and the process's thread-pool use can be read.
/// </summary>
[Collection(NonParallelCollection.Name)]
public sealed class SteadyStateTests
{
    private readonly ITestOutputHelper _output;

    public SteadyStateTests(ITestOutputHelper output) => _output = output;

    /// <summary>The operational features (counters, metrics endpoint, idle timer, JSON access log) must add nothing per chunk either.</summary>
    [Theory]
    [InlineData(PollerKind.Auto, false)] // the OS's own: epoll on Linux, kqueue on macOS
    [InlineData(PollerKind.Auto, true)]
    [InlineData(PollerKind.Poll, false)]
    public void ForwardingMegabytes_AllocatesNothingPerChunk_AndUsesNoThreadPool(PollerKind poller, bool operationsOn)
    {
        using var sink = new TcpListener(IPAddress.Loopback, 0);
        sink.Start();
        int sinkPort = ((IPEndPoint)sink.LocalEndpoint).Port;
        var options = new ProxyOptions { DestinationHost = "127.0.0.1", DestinationPort = sinkPort, ListenPort = 0, BindAddress = "127.0.0.1", LogLevel = LogLevel.Quiet, Poller = poller };
        string accessLog = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tcpproxy-steady-{Environment.ProcessId}.log");
        if (operationsOn)
            options = options with
            {
                MetricsHost = "127.0.0.1", MetricsPort = 0, IdleTimeout = TimeSpan.FromMinutes(5), MaxConnections = 100,
                AccessLogPath = accessLog, AccessLogFormat = AccessLogFormat.Json,
            };
        try
        {
            MeasureTransfers(options, sink);
            if (operationsOn)
                Assert.Equal(3, System.IO.File.ReadAllLines(accessLog).Length); // one line per connection, none per chunk
        }
        finally
        {
            System.IO.File.Delete(accessLog);
        }
    }

    private void MeasureTransfers(ProxyOptions options, TcpListener sink)
    {
        using ProxyServer server = ProxyServer.Create(options, new Log(LogLevel.Quiet, writer: null), out string? error)
            ?? throw new InvalidOperationException(error);

        Transfer(server, sink, 4 << 20); // warm-up: first-use paths and table growth
        long smallItems = ThreadPool.CompletedWorkItemCount;
        long small = Transfer(server, sink, 1 << 20);
        smallItems = ThreadPool.CompletedWorkItemCount - smallItems;
        long largeItems = ThreadPool.CompletedWorkItemCount;
        long large = Transfer(server, sink, 64 << 20);
        largeItems = ThreadPool.CompletedWorkItemCount - largeItems;

        _output.WriteLine($"loop allocations: {small} B for a 1 MiB connection, {large} B for a 64 MiB one");
        _output.WriteLine($"thread-pool work items completed meanwhile (whole test host): {smallItems} and {largeItems}");
        // Pairs, directions, timers and ring memory are pooled: with no log or
        // access-log line to format, a whole connection allocates nothing
        // (before pooling: 1 256 B, its connector, pair, directions, rings, timers, delegates).
        if (options.AccessLogPath is null && options.MetricsHost is null)
            Assert.True(small < 256 && large < 256, $"a connection allocated {small} B (1 MiB) and {large} B (64 MiB) on the loop");
        // 64 MiB is 8192 chunks of 8 KiB: even 8 bytes per chunk would add 64 KiB.
        Assert.True(Math.Abs(large - small) < 4096, $"allocations grew with bytes moved: {small} B vs {large} B");
        // The test host itself completes a few work items now and then (result
        // reporting); the loop queuing work per chunk would add thousands.
        Assert.True(largeItems <= smallItems + 32, $"thread-pool work grew with bytes moved: {smallItems} vs {largeItems}");
    }

    /// <summary>
    /// One connection through the proxy: a client thread writes `bytes` and
    /// half-closes, a sink thread reads to EOF and closes. The test thread runs
    /// the loop meanwhile. Returns what the loop allocated on this thread.
    /// </summary>
    private static long Transfer(ProxyServer server, TcpListener sink, int bytes)
    {
        long received = -1;
        Exception? failure = null;
        var sinkThread = new Thread(() =>
        {
            try
            {
                using Socket socket = sink.AcceptSocket();
                socket.ReceiveTimeout = 30_000;
                var buffer = new byte[64 * 1024];
                long total = 0;
                int n;
                while ((n = socket.Receive(buffer)) > 0)
                    total += n;
                Interlocked.Exchange(ref received, total);
            }
            catch (Exception e)
            {
                failure = e;
                Interlocked.Exchange(ref received, -2);
            }
        }) { IsBackground = true };
        var clientThread = new Thread(() =>
        {
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.SendTimeout = 30_000;
                socket.Connect(IPAddress.Loopback, server.ListenPort);
                var chunk = new byte[64 * 1024];
                for (int sent = 0; sent < bytes; sent += chunk.Length)
                    socket.Send(chunk, Math.Min(chunk.Length, bytes - sent), SocketFlags.None);
                socket.Shutdown(SocketShutdown.Send);
                socket.ReceiveTimeout = 30_000;
                socket.Receive(new byte[1]); // waits for the proxy to pass the sink's close on
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { IsBackground = true };
        sinkThread.Start();
        clientThread.Start();

        long before = GC.GetAllocatedBytesForCurrentThread();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        int loopError = 0;
        // No Assert inside the loop: its comparers allocate on this thread.
        while ((sinkThread.IsAlive || clientThread.IsAlive) && DateTime.UtcNow < deadline && loopError == 0)
            loopError = server.Reactor.RunOnce(10);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, loopError);
        Assert.False(sinkThread.IsAlive || clientThread.IsAlive, "transfer did not finish within 60 s");
        Assert.Null(failure);
        Assert.Equal(bytes, Interlocked.Read(ref received));
        return allocated;
    }
}
