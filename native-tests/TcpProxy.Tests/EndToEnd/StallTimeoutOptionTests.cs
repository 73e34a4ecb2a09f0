using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>--stall-timeout takes fractional seconds and shortens the abort accordingly.</summary>
public sealed class StallTimeoutOptionTests : EndToEndTest
{
    public StallTimeoutOptionTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void StallTimeoutOption_AbortsLazyForwardClientAfterGivenSeconds()
    {
        var server = StartServer();
        var proxy = StartProxy(server, "--stall-timeout", "1.5");
        var (client, _) = ConnectPair(proxy, server);

        double seconds = StallTimeoutWindow.MeasureAbort(writer: client, watcher: client, Output, "lazy forward, --stall-timeout 1.5");

        StallTimeoutWindow.AssertWithinWindow(seconds, 1.2, 4);
        AssertProxyAlive(proxy);
    }
}
