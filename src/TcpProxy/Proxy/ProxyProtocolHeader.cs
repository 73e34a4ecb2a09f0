using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using IPAddress = System.Net.IPAddress;
using TcpProxy.Configuration;
using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>
/// HAProxy's PROXY protocol header (its specification, proxy-protocol.txt):
/// what the destination is told about the client before any client byte.
/// v1 is one text line, "PROXY TCP4|TCP6 src dst sport dport\r\n"; v2 is the
/// 12-byte signature, version/command 0x21, family, length, then the
/// addresses and ports in network order. An IPv4 client seen on the
/// dual-stack listener as ::ffff:a.b.c.d is sent as TCP4 / AF_INET.
/// </summary>
public static class ProxyProtocolHeader
{
    // The longest headers are written down in Configuration, where --buffer-size is checked against them.
    public const int MaxV1Length = ProxyProtocolVersions.MaxV1HeaderLength;

    public const int MaxV2Length = ProxyProtocolVersions.MaxV2HeaderLength;

    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>The header for a client at <paramref name="source"/> that connected to <paramref name="destination"/>.</summary>
    public static byte[] Build(ProxyProtocolVersion version, in SocketAddress source, in SocketAddress destination)
    {
        SocketAddress.Storage sourceCopy = default, destinationCopy = default;
        ReadOnlySpan<byte> sourceAddress = source.AddressBytes(ref sourceCopy);
        ReadOnlySpan<byte> destinationAddress = destination.AddressBytes(ref destinationCopy);
        // Both ends are of one family on one socket; anything else cannot be described.
        bool known = sourceAddress.Length == destinationAddress.Length && sourceAddress.Length is 4 or 16;
        return version == ProxyProtocolVersion.V1
            ? BuildV1(known, sourceAddress, destinationAddress, source.Port, destination.Port)
            : BuildV2(known, sourceAddress, destinationAddress, source.Port, destination.Port);
    }

    private static byte[] BuildV1(bool known, ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, int sourcePort, int destinationPort)
    {
        if (!known)
            return Encoding.ASCII.GetBytes("PROXY UNKNOWN\r\n");
        string line = "PROXY " + (source.Length == 4 ? "TCP4 " : "TCP6 ") + new IPAddress(source) + " " + new IPAddress(destination) + " "
            + sourcePort.ToString(CultureInfo.InvariantCulture) + " " + destinationPort.ToString(CultureInfo.InvariantCulture) + "\r\n";
        return Encoding.ASCII.GetBytes(line);
    }

    private static byte[] BuildV2(bool known, ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, int sourcePort, int destinationPort)
    {
        int addressLength = known ? 2 * source.Length + 4 : 0;
        var header = new byte[16 + addressLength];
        V2Signature.CopyTo(header);
        header[12] = 0x21; // version 2, command PROXY
        // High nibble: AF_INET 1, AF_INET6 2, AF_UNSPEC 0; low nibble: STREAM 1 (UNSPEC 0).
        header[13] = !known ? (byte)0x00 : source.Length == 4 ? (byte)0x11 : (byte)0x21;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)addressLength);
        if (!known)
            return header;
        Span<byte> body = header.AsSpan(16);
        source.CopyTo(body);
        destination.CopyTo(body[source.Length..]);
        BinaryPrimitives.WriteUInt16BigEndian(body[(2 * source.Length)..], (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(body[(2 * source.Length + 2)..], (ushort)destinationPort);
        return header;
    }
}
