using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.Product;

/// <summary>
/// The shipped binary is one event loop: after a bulk transfer it must still
/// have no thread-pool (or any other worker) thread, only the loop and the
/// runtime's finalizer and signal threads.
/// </summary>
public sealed class ThreadUsageTests : EndToEndTest
{
    private static readonly HashSet<string> AllowedThreads = new(StringComparer.Ordinal)
    {
        "tcpproxy",          // the loop (the main thread)
        ".NET Finalizer",
        ".NET SigHandler",   // the runtime's signal thread; PosixSignalRegistration's handler writes our eventfd
    };

    public ThreadUsageTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void BulkTransfer_RunsWithoutAnyThreadPoolThread()
    {
        var server = StartServer();
        var proxy = StartProxy(server);
        var (client, upstream) = ConnectPair(proxy, server);
        const long Bytes = 32L << 20;

        Task<Digest> received = Background.Run(() => BulkData.Receive(upstream, Bytes));
        Digest sent = BulkData.Send(client, Bytes, seed: 7);
        Assert.Equal(sent, Background.Await(received, TimeSpan.FromSeconds(30), "the bulk receive"));

        var threads = new List<string>();
        foreach (string task in Directory.GetDirectories($"/proc/{proxy.Pid}/task"))
            threads.Add(File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'));
        Output.WriteLine("proxy threads: " + string.Join(", ", threads));
        foreach (string name in threads)
            Assert.Contains(name, AllowedThreads);
    }
}
