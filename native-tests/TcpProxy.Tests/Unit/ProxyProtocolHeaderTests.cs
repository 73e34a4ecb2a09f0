using System;
using System.Text;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Proxy;

namespace TcpProxy.Tests.Unit;

/// <summary>The PROXY protocol header, byte for byte against the layout of HAProxy's proxy-protocol.txt.</summary>
public sealed class ProxyProtocolHeaderTests
{
    static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    static SocketAddress Address(string address, int port) =>
        AddressResolver.Resolve(address, port, passive: false, out string? error)?[0] ?? throw new InvalidOperationException(error);

    [Theory]
    [InlineData("192.168.0.1", 56324, "192.168.0.11", 443, "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n")] // the specification's example
    [InlineData("::ffff:10.0.0.1", 5000, "::ffff:10.0.0.2", 3000, "PROXY TCP4 10.0.0.1 10.0.0.2 5000 3000\r\n")]
    [InlineData("2001:db8::1", 1234, "2001:db8::2", 80, "PROXY TCP6 2001:db8::1 2001:db8::2 1234 80\r\n")]
    [InlineData("::1", 65535, "::1", 1, "PROXY TCP6 ::1 ::1 65535 1\r\n")]
    [InlineData("10.0.0.1", 1, "::1", 2, "PROXY UNKNOWN\r\n")]
    public void V1_IsTheTextLine(string source, int sourcePort, string destination, int destinationPort, string expected)
    {
        byte[] header = ProxyProtocolHeader.Build(ProxyProtocolVersion.V1, Address(source, sourcePort), Address(destination, destinationPort));
        Assert.Equal(expected, Encoding.ASCII.GetString(header));
        Assert.True(header.Length <= ProxyProtocolHeader.MaxV1Length);
    }

    [Fact]
    public void V1_LongestLine_FitsTheSpecificationsBound()
    {
        var widest = Address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
        byte[] header = ProxyProtocolHeader.Build(ProxyProtocolVersion.V1, widest, widest);
        Assert.Equal(104, header.Length); // 107 is the bound, with fields no IPv6 text form needs
    }

    [Fact]
    public void V2_IPv4_IsSignatureVersionFamilyLengthAddressesPorts()
    {
        byte[] header = ProxyProtocolHeader.Build(ProxyProtocolVersion.V2, Address("192.168.0.1", 56324), Address("::ffff:192.168.0.11", 443));
        byte[] expected =
        [
            .. Signature,
            0x21,             // version 2, command PROXY
            0x11,             // AF_INET, STREAM
            0x00, 0x0C,       // 12 bytes follow
            192, 168, 0, 1,   // source address
            192, 168, 0, 11,  // destination address
            0xDC, 0x04,       // source port 56324
            0x01, 0xBB,       // destination port 443
        ];
        Assert.Equal(expected, header);
    }

    [Fact]
    public void V2_IPv6_IsSignatureVersionFamilyLengthAddressesPorts()
    {
        byte[] header = ProxyProtocolHeader.Build(ProxyProtocolVersion.V2, Address("2001:db8::1", 1234), Address("::1", 80));
        byte[] source = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        byte[] destination = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        byte[] expected = [.. Signature, 0x21, 0x21, 0x00, 0x24, .. source, .. destination, 0x04, 0xD2, 0x00, 0x50];
        Assert.Equal(expected, header);
        Assert.Equal(ProxyProtocolHeader.MaxV2Length, header.Length);
    }

    [Fact]
    public void V2_MixedFamilies_IsUnspecifiedWithNoAddresses()
    {
        byte[] header = ProxyProtocolHeader.Build(ProxyProtocolVersion.V2, Address("10.0.0.1", 1), Address("::1", 2));
        Assert.Equal([.. Signature, 0x21, 0x00, 0x00, 0x00], header);
    }
}
