using System;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>A destination that refuses connections closes the client promptly; the proxy keeps serving.</summary>
public sealed class DestinationRefusedTests : EndToEndTest
{
    public DestinationRefusedTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void DestinationRefused_ClosesClientPromptly_ThenServesOnceDestinationIsUp()
    {
        // Bound but not listening: connections are refused, yet nobody else can take the port.
        var destination = Own(LoopbackServer.BoundButNotListening());
        var proxy = StartProxy(destination);

        var closed = ConnectAndWaitForClose(proxy, TimeSpan.FromSeconds(3));
        Output.WriteLine($"refused destination: client saw {closed.Kind} after {closed.Elapsed.TotalMilliseconds:0} ms");
        Assert.NotEqual(CloseKind.TimedOut, closed.Kind);
        Assert.Equal(0, closed.DiscardedBytes);

        destination.StartListening();
        destination.EchoEveryConnection();
        var client = Connect(proxy);
        byte[] message = Encoding.ASCII.GetBytes("up now");
        SocketIo.SendAll(client, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
        AssertProxyAlive(proxy);
    }

    /// <summary>The proxy may reset the client so fast that the reset already surfaces from connect itself.</summary>
    CloseObservation ConnectAndWaitForClose(ProxyProcess proxy, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        Socket client;
        try
        {
            client = Connect(proxy);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return new CloseObservation(CloseKind.Reset, clock.Elapsed, 0);
        }
        return SocketIo.WaitForClose(client, limit);
    }
}
