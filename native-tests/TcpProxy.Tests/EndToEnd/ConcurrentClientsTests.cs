using System.Linq;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>Many clients at once each get their own, byte-exact pair.</summary>
public sealed class ConcurrentClientsTests : EndToEndTest
{
    public ConcurrentClientsTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void TwoHundredConcurrentClients_EachGetsItsOwnBytesBack()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server);
        var clients = Enumerable.Range(0, 200).Select(_ => Connect(proxy)).ToArray();

        // All write before any reads: 4 KiB each fits the socket buffers, so nothing blocks.
        var messages = Enumerable.Range(0, clients.Length).Select(i => Enumerable.Repeat((byte)i, 4096).ToArray()).ToArray();
        for (int i = 0; i < clients.Length; i++) SocketIo.SendAll(clients[i], messages[i]);
        for (int i = 0; i < clients.Length; i++) Assert.Equal(messages[i], SocketIo.ReceiveExactly(clients[i], 4096));
        AssertProxyAlive(proxy);
    }
}
