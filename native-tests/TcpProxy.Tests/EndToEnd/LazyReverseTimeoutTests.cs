using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>Classic phase: the client never reads, so the server's data stalls (slow; own class).</summary>
public sealed class LazyReverseTimeoutTests : EndToEndTest
{
    public LazyReverseTimeoutTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void LazyReverseClient_IsAbortedAfterDefaultStallTimeout()
    {
        var server = StartServer();
        var proxy = StartProxy(server); // default 10 s
        var (_, serverSide) = ConnectPair(proxy, server);

        double seconds = StallTimeoutWindow.MeasureAbort(writer: serverSide, watcher: serverSide, Output, "lazy reverse");

        StallTimeoutWindow.AssertWithinWindow(seconds, 9, 14);
        AssertProxyAlive(proxy);
    }
}
