using System;
using System.Text;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>SIGTERM and SIGINT end the proxy cleanly with exit code 0, even with a connection open.</summary>
public sealed class SignalTests : EndToEndTest
{
    public SignalTests(ITestOutputHelper output) : base(output) { }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public void Signal_EndsProxyWithExitCodeZero(string signalName)
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server);
        var client = Connect(proxy);
        byte[] message = Encoding.ASCII.GetBytes("before signal");
        SocketIo.SendAll(client, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));

        Signals.Send(proxy.Pid, signalName);

        Assert.Equal(0, proxy.WaitForExit(TimeSpan.FromSeconds(5)));
        Assert.DoesNotContain(proxy.StderrLines, line => line.Contains("Exception", StringComparison.Ordinal));
    }
}
