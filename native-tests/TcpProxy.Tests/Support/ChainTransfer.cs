using System;
using System.Linq;
using System.Net.Sockets;
using System.Threading.Tasks;

namespace TcpProxy.Tests.Support;

/// <summary>Streams bulk data into the first connection of a chain and reads it from the last.</summary>
public static class ChainTransfer
{
    public static (Digest Sent, Digest Received) Run(Socket[] chain, long total, int seed)
    {
        var sender = Background.Run(() => BulkData.Send(chain[0], total, seed));
        var pumps = Enumerable.Range(0, chain.Length - 1)
            .Select(k => Background.Run(() => BulkData.Pump(chain[k], chain[k + 1], total)))
            .ToArray();
        var receiver = Background.Run(() => BulkData.Receive(chain[^1], total));

        var limit = TimeSpan.FromSeconds(30);
        var received = Background.Await(receiver, limit, "chain receiver");
        var sent = Background.Await(sender, limit, "chain sender");
        Background.Await(Task.WhenAll(pumps), limit, "chain pumps");
        return (sent, received);
    }
}
