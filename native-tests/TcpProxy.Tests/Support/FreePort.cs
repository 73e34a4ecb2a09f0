using System.Net;
using System.Net.Sockets;

namespace TcpProxy.Tests.Support;

/// <summary>Picks a TCP port that is free right now on both IPv4 and IPv6 (the proxy listens dual-stack).</summary>
public static class FreePort
{
    public static int Pick()
    {
        // The port may be taken again before the proxy binds it; ProxyProcess retries on "address in use".
        using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        probe.DualMode = true;
        probe.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
