using System;
using System.Net.Sockets;
using System.Text;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>A client that resets mid-transfer takes down only its own pair.</summary>
public sealed class ClientResetTests : EndToEndTest
{
    public ClientResetTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void ClientResetMidTransfer_ProxyClosesServerSideAndKeepsServing()
    {
        var server = StartServer();
        var proxy = StartProxy(server);
        var (client, serverSide) = ConnectPair(proxy, server);

        // Traffic in flight both ways: the server floods, the client sends and reads a little.
        var flooding = Background.Run(() =>
        {
            try { BulkData.Send(serverSide, 256L << 20, seed: 5); }
            catch (SocketException) { } // expected: the proxy closes this side after the reset
        });
        SocketIo.SendAll(client, new byte[64 * 1024]);
        SocketIo.ReceiveExactly(client, 64 * 1024);

        client.LingerState = new LingerOption(true, 0);
        client.Close(); // RST with data unread in both directions

        // The proxy must drop the pair: the server side sees EOF or reset, and its sends stop.
        var closed = SocketIo.WaitForClose(serverSide, TimeSpan.FromSeconds(5));
        Output.WriteLine($"server side saw {closed.Kind} {closed.Elapsed.TotalMilliseconds:0} ms after the client's reset");
        Assert.NotEqual(CloseKind.TimedOut, closed.Kind);
        ShutdownQuietly(serverSide); // ends the flooder even if the proxy only sent FIN
        Background.Await(flooding, TimeSpan.FromSeconds(5), "server flood after the client's reset");

        AssertProxyAlive(proxy);
        var (next, nextServer) = ConnectPair(proxy, server);
        server.Echo(nextServer);
        byte[] message = Encoding.ASCII.GetBytes("still serving");
        SocketIo.SendAll(next, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(next, message.Length));
    }

    static void ShutdownQuietly(Socket socket)
    {
        try { socket.Shutdown(SocketShutdown.Both); }
        catch (SocketException) { } // already reset by the proxy
    }
}
