using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>Classic phase: the destination never reads, so the client's data stalls (slow; own class).</summary>
public sealed class LazyForwardTimeoutTests : EndToEndTest
{
    public LazyForwardTimeoutTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void LazyForwardClient_IsAbortedAfterDefaultStallTimeout()
    {
        var server = StartServer();
        var proxy = StartProxy(server); // default 10 s
        var (client, _) = ConnectPair(proxy, server);

        double seconds = StallTimeoutWindow.MeasureAbort(writer: client, watcher: client, Output, "lazy forward");

        StallTimeoutWindow.AssertWithinWindow(seconds, 9, 14);
        AssertProxyAlive(proxy);
    }
}
