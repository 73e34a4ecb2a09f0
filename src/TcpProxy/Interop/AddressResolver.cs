using System;
using System.Collections.Generic;
using System.Globalization;
using TcpProxy.Interop.Darwin;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>
/// Blocking name resolution through getaddrinfo, used only at start-up:
/// the destination is resolved once and every client tries its addresses in turn.
/// </summary>
public static class AddressResolver
{
    /// <summary>Resolves host:port to stream-socket addresses, or returns an error message.</summary>
    public static SocketAddress[]? Resolve(string? host, int port, bool passive, out string? error)
    {
        var found = new List<SocketAddress>();
        string service = port.ToString(CultureInfo.InvariantCulture);
        error = Platform.IsDarwin
            ? DarwinSys.GetAddresses(host, service, passive, found)
            : LinuxSys.GetAddresses(host, service, passive, found);
        if (error != null)
            return null;
        var addresses = new List<SocketAddress>();
        foreach (SocketAddress address in found)
        {
            if (address.Family != SocketAddress.AF_INET && address.Family != SocketAddress.AF_INET6)
                continue;
            if (!Contains(addresses, address))
                addresses.Add(address);
        }
        error = addresses.Count == 0 ? "no IPv4 or IPv6 address" : null;
        return addresses.Count == 0 ? null : addresses.ToArray();
    }

    // getaddrinfo may list one address once per protocol; connecting twice to it is pointless.
    private static bool Contains(List<SocketAddress> addresses, in SocketAddress candidate)
    {
        foreach (SocketAddress known in addresses)
        {
            ReadOnlySpan<byte> a = known.Bytes;
            ReadOnlySpan<byte> b = candidate.Bytes;
            if (known.Length == candidate.Length && a[..known.Length].SequenceEqual(b[..candidate.Length]))
                return true;
        }
        return false;
    }
}
