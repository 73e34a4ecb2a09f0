using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;

namespace TcpProxy.Interop;

/// <summary>
/// Blocking name resolution through getaddrinfo, used only at start-up:
/// the destination is resolved once and every client tries its addresses in turn.
/// </summary>
public static unsafe class AddressResolver
{
    private const int SOCK_STREAM = 1;

    /// <summary>Resolves host:port to stream-socket addresses, or returns an error message.</summary>
    public static SocketAddress[]? Resolve(string? host, int port, bool passive, out string? error)
    {
        NativeMethods.AddrInfo hints = default;
        hints.SocketType = SOCK_STREAM;
        hints.Flags = NativeMethods.AI_NUMERICSERV | (passive ? NativeMethods.AI_PASSIVE : 0);
        NativeMethods.AddrInfo* list = null;
        int rc = NativeMethods.GetAddrInfo(host, port.ToString(CultureInfo.InvariantCulture), &hints, &list);
        if (rc != 0)
        {
            error = Marshal.PtrToStringUTF8((IntPtr)NativeMethods.GaiStrError(rc)) ?? ("getaddrinfo error " + rc.ToString(CultureInfo.InvariantCulture));
            return null;
        }
        try
        {
            var addresses = new List<SocketAddress>();
            for (NativeMethods.AddrInfo* entry = list; entry != null; entry = entry->Next)
            {
                if (entry->Family != SocketAddress.AF_INET && entry->Family != SocketAddress.AF_INET6)
                    continue;
                SocketAddress address = SocketAddress.FromNative(entry->Address, (int)entry->AddressLength);
                if (!Contains(addresses, address))
                    addresses.Add(address);
            }
            error = addresses.Count == 0 ? "no IPv4 or IPv6 address" : null;
            return addresses.Count == 0 ? null : addresses.ToArray();
        }
        finally
        {
            NativeMethods.FreeAddrInfo(list);
        }
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
