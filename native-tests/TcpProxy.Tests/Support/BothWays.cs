using System;
using System.Net.Sockets;

namespace TcpProxy.Tests.Support;

/// <summary>Sends seeded data both ways on a proxied pair at once, then half-closes, and digests all four ends.</summary>
public static class BothWays
{
    public static (Digest UpSent, Digest UpReceived, Digest DownSent, Digest DownReceived) Run(Socket client, Socket server, long size)
    {
        var upSending = Background.Run(() => SendThenShutdown(client, size, seed: 21));
        var downSending = Background.Run(() => SendThenShutdown(server, size, seed: 22));
        // Read to EOF, so the half-closes after the data are checked too.
        var upReceiving = Background.Run(() => BulkData.Receive(server, long.MaxValue));
        var downReceiving = Background.Run(() => BulkData.Receive(client, long.MaxValue));

        var limit = TimeSpan.FromSeconds(30);
        return (Background.Await(upSending, limit, "client sending"),
                Background.Await(upReceiving, limit, "server receiving"),
                Background.Await(downSending, limit, "server sending"),
                Background.Await(downReceiving, limit, "client receiving"));
    }

    static Digest SendThenShutdown(Socket socket, long size, int seed)
    {
        var digest = BulkData.Send(socket, size, seed);
        socket.Shutdown(SocketShutdown.Send);
        return digest;
    }
}
