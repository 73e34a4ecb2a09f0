using System;
using TcpProxy.Interop;

namespace TcpProxy.Tests.Unit;

public sealed class SocketAddressTests
{
    [Theory]
    [InlineData("127.0.0.1", 80, "127.0.0.1:80")]
    [InlineData("::ffff:10.1.2.3", 5000, "10.1.2.3:5000")]
    [InlineData("::1", 443, "[::1]:443")]
    [InlineData("2001:db8::ffff:1:2", 7, "[2001:db8::ffff:1:2]:7")]
    public void ToString_ShowsIPv4MappedAddressesAsIPv4(string address, int port, string expected)
    {
        SocketAddress[]? resolved = AddressResolver.Resolve(address, port, passive: false, out string? error);
        Assert.True(resolved is not null, error);
        Assert.Equal(expected, resolved![0].ToString());
    }
}
